"""Step records: the step's actor records the work of a step that completes with a note."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.auth.deps import Principal
from app.core.records import recorded_for_incident
from app.sop import engine
from app.sop.catalogue import Action
from app.sop.engine import Context, Outcome
from app.step_records import schemas
from app.step_records.models import StepRecord


def create(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.StepRecordCreate,
    if_match: int | None,
) -> StepRecord:
    def handler(ctx: Context) -> Outcome:
        record = StepRecord(
            incident_id=ctx.incident.id,
            sop_version=ctx.definition.version,
            step=ctx.step.number,
            step_code=ctx.step.code,
            note=body.note,
            contacts=[c.model_dump(exclude_none=True) for c in body.contacts],
            created_by=ctx.principal.id,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(record)
        ctx.session.flush()
        return Outcome(
            result=record,
            audit={"step_record_id": str(record.id)},
            document=record.model_dump(),
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.step_record,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def for_incident(session: Session, incident_id: uuid.UUID) -> list[StepRecord]:
    return recorded_for_incident(session, StepRecord, incident_id)
