"""Step 2: the Kasi Trantib instructs a Danru to prepare the handling plan."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.roles import Role
from app.incidents.models import Instruction
from app.instructions import schemas
from app.sop import engine
from app.sop.engine import Action, Context, Outcome
from app.users.lookup import require_members


def instruct(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.InstructionCreate,
    if_match: int | None,
) -> Instruction:
    def handler(ctx: Context) -> Outcome:
        require_members(
            ctx.session,
            [body.danru_id],
            role=Role.danru,
            unit_id=ctx.incident.unit_id,
            field="danru_id",
        )
        instruction = Instruction(
            incident_id=ctx.incident.id,
            danru_id=body.danru_id,
            note=body.note,
            created_by=ctx.principal.id,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(instruction)
        return Outcome(
            result=instruction,
            advance_to=3,
            incident={"assigned_danru_id": body.danru_id},
            assignments=[(body.danru_id, "instructed_danru")],
            audit={"danru_id": str(body.danru_id), "note": body.note},
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.instruct,
        handler,
        occurred_at=body.occurred_at,
        if_match=if_match,
    ).result


def for_incident(session: Session, incident_id: uuid.UUID) -> list[Instruction]:
    return list(
        session.execute(
            select(Instruction)
            .where(Instruction.incident_id == incident_id)  # type: ignore[arg-type]
            .order_by(Instruction.recorded_at)  # type: ignore[arg-type]
        ).scalars()
    )
