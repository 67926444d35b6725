"""Incidents: registration, reading, escalation level, cancellation, audit trail and tasks."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import and_, exists, false, func, or_, select
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.audit.service import verify_chain
from app.auth.deps import Principal
from app.core import clock
from app.core.config import get_settings
from app.core.counters import next_value
from app.core.errors import Forbidden, Unprocessable
from app.core.records import recorded_for_incident
from app.delegations.capacity import acting_record
from app.field_reports.models import FieldReport
from app.incidents import schemas
from app.incidents.models import (
    EscalationChange,
    Incident,
    IncidentStatus,
)
from app.sop import engine
from app.sop.catalogue import Action, Assignment
from app.sop.definition import active_version, load_definition, registry
from app.sop.engine import Context, Outcome
from app.timing.models import StepRun
from app.units.data import KECAMATAN, kelurahan_code
from app.units.known import known_unit
from app.units.models import Unit
from app.users.service import UnknownUnit, find_unit


def _registering_unit(session: Session, principal: Principal, named: str | None) -> Unit:
    """The caller's own kecamatan; a city-wide caller (a city system) names it in `unit`."""
    unit = find_unit(session, named) if named is not None else None
    if named is not None and unit is None:
        raise UnknownUnit(f"No kecamatan has the code or slug {named!r}", field="unit")
    if principal.unit_id is None:
        if unit is None:
            raise Unprocessable(
                "A caller without a kecamatan names the incident's kecamatan in `unit`",
                field="unit",
            )
        return unit
    if unit is not None and unit.id != principal.unit_id:
        raise Forbidden("Incidents are registered in the caller's own kecamatan only")
    own = session.get(Unit, principal.unit_id)
    assert own is not None
    return own


def create(session: Session, principal: Principal, body: schemas.IncidentCreate) -> Incident:
    """Register an incident in the caller's kecamatan (or, for a city-wide caller, the one it
    names) under the active SOP version; its first step starts at reported_at."""
    unit = _registering_unit(session, principal, body.unit)
    now = clock.now()
    # An incident reported long ago would start its first step already breached, at the top
    # of every breach list: both times lie within the horizon.
    horizon = timedelta(days=get_settings().reported_at_horizon_days)
    reported_at = engine.check_occurred_at(
        body.reported_at, now=now, not_before=None, limit=horizon, field="reported_at"
    )
    occurred_at = (
        engine.check_occurred_at(
            body.occurred_at, now=now, not_before=None, limit=horizon, field="occurred_at"
        )
        if body.occurred_at is not None
        else None
    )
    kecamatan = next(k for k in KECAMATAN if k.code == unit.code)
    kel_code = kelurahan_code(kecamatan, body.location.kelurahan)
    if kel_code is None:
        raise Unprocessable(
            f"{body.location.kelurahan!r} is not a kelurahan of Kecamatan {unit.name}",
            field="location.kelurahan",
            allowed=list(kecamatan.kelurahan),
        )
    location = body.location.model_dump(exclude_none=True)
    location["kelurahan_code"] = kel_code
    version = active_version()
    first = load_definition(version).step(1)
    year = reported_at.astimezone(clock.WIB).year
    sequence = next_value(session, "incident", unit.id, year)
    incident = Incident(
        unit_id=unit.id,
        register_year=year,
        register_sequence=sequence,
        register_number=f"{unit.code}/UR/{year}/{sequence:04d}",
        kind=body.kind,
        title=body.title,
        location=location,
        occurred_at=occurred_at,
        reported_at=reported_at,
        organizer=body.organizer.model_dump(exclude_none=True) if body.organizer else None,
        estimated_crowd=body.estimated_crowd,
        demands=body.demands,
        police={
            "notified": body.police_notified,
            "receipt_number": body.police_receipt_number,
            "unit": body.police_unit,
        },
        escalation_level=body.escalation_level,
        info_source=body.info_source,
        notes=body.notes,
        sop_version=version,
        stage=first.stages[0] if first.stages else None,
        created_by=None if principal.is_client else principal.id,
        created_by_client=principal.client_id,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    # `unit` is kept in the document only when the caller named one.
    document = body.model_dump(mode="json", exclude={"unit"} if body.unit is None else None)
    engine.record_creation(session, principal, incident, document)
    return incident


def to_public(session: Session, principal: Principal, incident: Incident) -> dict[str, Any]:
    unit = known_unit(session, incident.unit_id)
    step_code = None
    if incident.current_step is not None:
        step_code = load_definition(incident.sop_version).step(incident.current_step).code
    waiting = engine.waiting_on(incident)
    data = incident.model_dump()
    data.update(
        unit={"id": unit.id, "code": unit.code, "name": unit.name},
        current_step_code=step_code,
        waiting_on=str(waiting) if waiting else None,
        allowed_actions=engine.allowed_actions(session, principal, incident),
    )
    return data


def answer(
    session: Session, principal: Principal, written: BaseModel | dict[str, Any]
) -> dict[str, Any]:
    """A step action's answer: the record it wrote (a row or its public dict, which names the
    incident) and the incident's new state as the caller's GET would show it. The request's
    session still holds the row the engine moved, so no query reads it again."""
    body = written if isinstance(written, dict) else written.model_dump()
    incident = engine.moved_incident(session, body["incident_id"]) or session.get(
        Incident, body["incident_id"]
    )
    assert incident is not None
    return {**body, "incident": to_public(session, principal, incident)}


def list_incidents(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    step: int | None,
    kind: str | None,
    unit: str | None,
    reported_from: datetime | None,
    reported_to: datetime | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    conditions: list[Any] = [engine.visible_incident_filter(principal)]
    if status:
        conditions.append(Incident.status == status)
    if step is not None:
        conditions.append(Incident.current_step == step)
    if kind:
        conditions.append(Incident.kind == kind)
    if unit:
        unit_row = session.execute(
            select(Unit.id).where(or_(Unit.code == unit, Unit.slug == unit))  # type: ignore[arg-type, call-overload]
        ).scalar()
        conditions.append(Incident.unit_id == unit_row if unit_row else false())
    if reported_from:
        conditions.append(Incident.reported_at >= reported_from)
    if reported_to:
        conditions.append(Incident.reported_at < reported_to)
    where = and_(*conditions)
    total = session.execute(select(func.count()).select_from(Incident).where(where)).scalar_one()
    rows = (
        session.execute(
            select(Incident)
            .where(where)
            .order_by(Incident.reported_at.desc(), Incident.id)  # type: ignore[arg-type, attr-defined]
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return {
        "items": [r.model_dump() for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def escalate(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.EscalationCreate,
    if_match: int | None,
) -> EscalationChange:
    def handler(ctx: Context) -> Outcome:
        change = EscalationChange(
            incident_id=ctx.incident.id,
            from_level=ctx.incident.escalation_level,
            to_level=body.level,
            note=body.note,
            changed_by=ctx.principal.id,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(change)
        return Outcome(
            result=change,
            incident={"escalation_level": body.level},
            audit={"from": ctx.incident.escalation_level, "to": body.level, "note": body.note},
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.escalate,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def escalations(session: Session, incident_id: uuid.UUID) -> list[EscalationChange]:
    return recorded_for_incident(session, EscalationChange, incident_id)


def cancel(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.CancelBody,
    if_match: int | None,
) -> Incident:
    def handler(ctx: Context) -> Outcome:
        return Outcome(
            result=ctx.incident,
            cancel=True,
            incident={"cancel_reason": body.reason},
            audit={"reason": body.reason},
            events=[
                (
                    "incident.cancelled",
                    {"reason": body.reason, "at_step": ctx.incident.current_step},
                )
            ],
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.cancel,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def audit_trail(session: Session, incident: Incident) -> dict[str, Any]:
    events = (
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.incident_id == incident.id)  # type: ignore[arg-type]
            .order_by(AuditEvent.seq)  # type: ignore[arg-type]
        )
        .scalars()
        .all()
    )
    report = verify_chain(session, incident.id)
    listed = [e.model_dump() for e in events]
    return {
        "incident_id": incident.id,
        "items": listed,
        "events": listed,
        "chain_valid": report.valid,
        "first_broken_seq": report.first_broken_seq,
    }


class TaskRule(NamedTuple):
    """Work that waits on a person: at this step (and stage) of this SOP version, in this role,
    narrowed to an assignment; `once`: done for them once they have reported."""

    version: str
    step: int
    stage: str | None
    assignment: Assignment | None
    once: bool
    role: str


def task_rules(principal: Principal) -> set[TaskRule]:
    """The work the caller's roles (their own and the posts they act in) wait for, in every
    SOP version: the one source of both GET /tasks and who the fan-out tells of a task."""
    wanted: set[TaskRule] = set()
    for version, definition in registry().definitions.items():
        for action, rules in engine.rules_of(definition).items():
            for rule in rules:
                if not rule.task or not principal.holds(rule.role):
                    continue
                if not principal.has(rule.scope):
                    continue
                # A member reports once: after that the step no longer waits on them.
                once = action is Action.field_report
                for number in rule.steps:
                    wanted.add(
                        TaskRule(version, number, rule.stage, rule.assignment, once, rule.role)
                    )
    return wanted


def tasks(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """What waits on the caller now, oldest first: the work their role's rules wait for, at the
    step (and stage) each incident's own SOP version is at, in their unit."""
    if principal.unit_id is None:
        return []
    wanted = {rule[:5] for rule in task_rules(principal)}
    clauses = []
    for version, number, stage, assignment, once in sorted(wanted, key=str):
        parts: list[Any] = [Incident.sop_version == version, Incident.current_step == number]
        if stage:
            parts.append(Incident.stage == stage)
        if assignment is not None:
            parts.append(engine.assigned_clause(assignment, principal.id))
        if once:
            parts.append(
                ~exists().where(
                    FieldReport.incident_id == Incident.id,  # type: ignore[arg-type]
                    FieldReport.author_id == principal.id,  # type: ignore[arg-type]
                )
            )
        clauses.append(and_(*parts))
    if not clauses:
        return []
    rows = session.execute(
        select(Incident, StepRun.started_at, StepRun.due_at)  # type: ignore[call-overload]
        .join(StepRun, StepRun.id == Incident.current_run_id, isouter=True)
        .where(
            Incident.unit_id == principal.unit_id,
            Incident.status == IncidentStatus.active,
            or_(*clauses),
        )
        .order_by(StepRun.started_at, Incident.id)
        .limit(200)
    ).all()
    result = []
    for incident, started_at, due_at in rows:
        step = load_definition(incident.sop_version).step(incident.current_step)
        acting = principal.acting_for(step.waiting_role(incident.stage))
        result.append(
            {
                "incident_id": incident.id,
                "register_number": incident.register_number,
                "title": incident.title,
                "unit_id": incident.unit_id,
                "sop_version": incident.sop_version,
                "step": step.number,
                "step_code": step.code,
                "stage": incident.stage,
                "actions": engine.allowed_actions(session, principal, incident),
                "waiting_since": started_at or incident.updated_at,
                "due_at": due_at,
                "escalation_level": incident.escalation_level,
                "acting_as": (
                    acting_record(session, principal, incident.unit_id, acting)
                    if acting is not None
                    else None
                ),
            }
        )
    return result
