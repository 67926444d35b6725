"""Instructions: the Kasi Trantib instructs a Danru to prepare the handling plan."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.roles import Role
from app.core.records import recorded_for_incident
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
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def for_incident(session: Session, incident_id: uuid.UUID) -> list[Instruction]:
    return recorded_for_incident(session, Instruction, incident_id)
