"""Briefings: the Danru briefs the members and declares the kelengkapan of the field work."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.deps import Principal
from app.auth.roles import Role
from app.briefings import schemas
from app.core.errors import Unprocessable
from app.incidents.models import Briefing, Incident
from app.sop import engine
from app.sop.engine import Action, Context, Outcome
from app.users.lookup import require_members


def _missing_equipment(ctx: Context, equipment: schemas.Equipment) -> list[str]:
    """The kelengkapan the step the briefing opens needs that is not declared available."""
    needed = ctx.following.equipment if ctx.following is not None else ()
    missing = []
    for name in needed:
        item = getattr(equipment, name, None)
        if not isinstance(item, schemas.EquipmentItem) or not item.is_available:
            missing.append(name)
    return missing


def create(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.BriefingCreate,
    if_match: int | None,
) -> Briefing:
    def handler(ctx: Context) -> Outcome:
        require_members(
            ctx.session,
            body.members,
            role=Role.anggota,
            unit_id=ctx.incident.unit_id,
            field="members",
        )
        missing = _missing_equipment(ctx, body.equipment)
        if missing:
            raise Unprocessable(
                "The field work needs every kelengkapan declared and available; "
                f"missing: {', '.join(missing)}",
                field="equipment",
                missing_equipment=missing,
            )
        briefing = Briefing(
            incident_id=ctx.incident.id,
            members=[str(m) for m in body.members],
            equipment=body.equipment.model_dump(exclude_none=True),
            note=body.note,
            created_by=ctx.principal.id,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(briefing)
        ctx.session.flush()
        return Outcome(
            result=briefing,
            assignments=[(member, "member") for member in body.members],
            audit={"briefing_id": briefing.id, "members": briefing.members},
            document=briefing.model_dump(),
        )

    outcome = engine.perform(
        session,
        principal,
        incident_id,
        Action.briefing,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    )
    return outcome.result


def list_for(session: Session, incident: Incident) -> list[Briefing]:
    return list(
        session.execute(
            select(Briefing)
            .where(col(Briefing.incident_id) == incident.id)
            .order_by(col(Briefing.recorded_at))
        ).scalars()
    )
