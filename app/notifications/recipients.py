"""Who is told what of an outbox event: the people the incident waits on, the actor of a late
step and their superior, the drafter of a returned draft, everyone who held a task on an
incident that ends. Computed from the state at fan-out time with the task inbox's own rules
(app/incidents/service.py task_rules), so what people are told agrees with GET /tasks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session, col

from app.audit.models import AuditEvent
from app.auth.deps import Acting, Principal, acting_scopes
from app.auth.roles import ROLE_SCOPES, Role
from app.delegations.models import Delegation
from app.delegations.posts import in_force_at
from app.drafts.models import Draft
from app.field_reports.models import FieldReport
from app.incidents.models import Incident, IncidentAssignment, IncidentStatus
from app.incidents.service import task_rules
from app.notifications.models import NotificationKind, TaskNotice
from app.outbox.models import OutboxEvent
from app.sop.catalogue import Assignment
from app.sop.definition import load_definition
from app.timing.models import StepRun
from app.users.models import User

# An incident's task for one person: its step run and stage. A new run (the next step, a
# correction loop) or a passed stage is a new task.
Task = str


@dataclass(frozen=True)
class Told:
    """One notification to write."""

    user_id: uuid.UUID
    kind: NotificationKind
    data: dict[str, Any]


@dataclass(frozen=True)
class Holder:
    """A person the incident waits on now, in which role (their own or a post they act in)."""

    principal: Principal
    role: str


class Kecamatan:
    """The active people of one kecamatan as principals with every scope of their role and
    of the posts they act in now: as a full login would make them. Read once per pass."""

    def __init__(self, session: Session, unit_id: int, now: datetime) -> None:
        rows = session.execute(
            select(  # type: ignore[call-overload]
                User.id,
                User.username,
                User.role,
                Delegation.id,
                Delegation.position,
                Delegation.kind,
            )
            .outerjoin(
                Delegation,
                and_(
                    col(Delegation.delegate_id) == col(User.id),
                    col(Delegation.unit_id) == unit_id,
                    in_force_at(now),
                ),
            )
            .where(col(User.unit_id) == unit_id, col(User.active))
        ).all()
        people: dict[uuid.UUID, tuple[str, Role, list[Acting]]] = {}
        for user_id, username, role, delegation_id, position, kind in rows:
            entry = people.setdefault(user_id, (username, Role(role), []))
            if delegation_id is not None and position != role:
                entry[2].append(Acting(Role(position), kind, delegation_id))
        self.principals: list[Principal] = []
        for user_id, (username, role, acting) in people.items():
            scopes = frozenset(str(s) for s in ROLE_SCOPES[role])
            for post in acting:
                scopes |= acting_scopes(post.position, scopes, role)
            self.principals.append(
                Principal(user_id, username, role, unit_id, scopes, "", acting=tuple(acting))
            )

    def holding(self, role: str) -> list[Principal]:
        return [p for p in self.principals if p.holds(role)]


def task_of(incident: Incident) -> Task:
    return f"{incident.current_run_id}:{incident.stage or ''}"


def holders(session: Session, incident: Incident, people: Kecamatan) -> dict[uuid.UUID, Holder]:
    """Whom the incident waits on now: the people whose GET /tasks lists it."""
    if incident.status != IncidentStatus.active or incident.current_step is None:
        return {}
    members = set(
        session.execute(
            select(IncidentAssignment.user_id).where(  # type: ignore[call-overload]
                IncidentAssignment.incident_id == incident.id,
                IncidentAssignment.kind == "member",
            )
        ).scalars()
    )
    reported = set(
        session.execute(
            select(FieldReport.author_id).where(  # type: ignore[call-overload]
                FieldReport.incident_id == incident.id
            )
        ).scalars()
    )
    assigned = {
        Assignment.instructed_danru: {incident.assigned_danru_id},
        Assignment.dispatched_danru: {incident.dispatched_danru_id},
        Assignment.briefed_member: members,
    }
    found: dict[uuid.UUID, Holder] = {}
    for principal in people.principals:
        for rule in task_rules(principal):
            if (rule.version, rule.step) != (incident.sop_version, incident.current_step):
                continue
            if rule.stage is not None and rule.stage != incident.stage:
                continue
            if rule.assignment is not None and principal.id not in assigned[rule.assignment]:
                continue
            if rule.once and principal.id in reported:
                continue
            found[principal.id] = Holder(principal, rule.role)
            break
    return found


def _step_data(incident: Incident, step: int | None) -> dict[str, Any]:
    """What a lock screen may show: the register number and the step, never the title."""
    data: dict[str, Any] = {
        "incident_id": str(incident.id),
        "register_number": incident.register_number,
        "step": step,
    }
    if step is not None:
        definition = load_definition(incident.sop_version)
        data["step_name"] = definition.step(step).label
    return data


def task_changes(
    session: Session,
    incident: Incident,
    people: Kecamatan,
    told: dict[uuid.UUID, TaskNotice],
    *,
    caused_by: uuid.UUID | None,
    finished: set[uuid.UUID],
) -> tuple[list[Told], dict[uuid.UUID, Task | None]]:
    """The difference between what people were told of the incident's task and whom it waits
    on now: task.assigned to who newly holds it (or holds a new one), task.withdrawn to who
    no longer does. Neither to `caused_by`, the actor; no withdrawal to the people in
    `finished`, who acted. Their rows move all the same. Returns the notifications and every
    person's new task (None: none)."""
    now_holding = holders(session, incident, people)
    task = task_of(incident)
    told_rows: list[Told] = []
    moved: dict[uuid.UUID, Task | None] = {}
    due_at = None
    if now_holding and incident.current_run_id is not None:
        run = session.get(StepRun, incident.current_run_id)
        due_at = run.due_at.isoformat() if run is not None else None
    for user_id, holder in now_holding.items():
        previous = told.get(user_id)
        if previous is not None and previous.task == task:
            continue
        moved[user_id] = task
        if user_id != caused_by:
            data = {
                **_step_data(incident, incident.current_step),
                "stage": incident.stage,
                "role": holder.role,
                "due_at": due_at,
            }
            told_rows.append(Told(user_id, NotificationKind.task_assigned, data))
    for user_id, row in told.items():
        if row.task is None or user_id in now_holding:
            continue
        moved[user_id] = None
        if user_id != caused_by and user_id not in finished:
            data = {**_step_data(incident, incident.current_step), "status": incident.status}
            told_rows.append(Told(user_id, NotificationKind.task_withdrawn, data))
    return told_rows, moved


def _superiors(
    session: Session, incident: Incident, role: str, people: Kecamatan
) -> list[uuid.UUID]:
    """Who answers for `role`'s late step, by the incident's SOP definition."""
    superior = load_definition(incident.sop_version).chain_of_command.get(role)
    if superior is None:
        return []
    if superior.role == Role.pimpinan:
        return list(
            session.execute(
                select(User.id).where(  # type: ignore[call-overload]
                    User.role == Role.pimpinan, col(User.active)
                )
            ).scalars()
        )
    found = people.holding(superior.role)
    if superior.assignment == Assignment.dispatched_danru:
        found = [p for p in found if p.id == incident.dispatched_danru_id]
    elif superior.assignment == Assignment.instructed_danru:
        found = [p for p in found if p.id == incident.assigned_danru_id]
    return [p.id for p in found]


def _held_a_task(session: Session, incident: Incident) -> set[uuid.UUID]:
    """Everyone who was told of a task on the incident, or acted on it."""
    noticed = session.execute(
        select(TaskNotice.user_id).where(  # type: ignore[call-overload]
            TaskNotice.incident_id == incident.id
        )
    ).scalars()
    acted = session.execute(
        select(AuditEvent.actor_id)  # type: ignore[call-overload]
        .where(AuditEvent.incident_id == incident.id, col(AuditEvent.actor_id).is_not(None))
        .distinct()
    ).scalars()
    return set(noticed) | set(acted)


def event_notices(
    session: Session,
    event: OutboxEvent,
    incident: Incident,
    people: Kecamatan,
    told: Iterable[uuid.UUID],
) -> list[Told]:
    """What an event tells besides the task changes; `told`: who was told of a task on the
    incident before this pass."""
    data = event.payload.get("data", {})
    kind = event.event_type
    if kind in (NotificationKind.sla_at_risk, NotificationKind.sla_breached):
        step = data.get("step")
        body = {
            **_step_data(incident, step),
            "due_at": data.get("due_at"),
            "sla": data.get("sla"),
            "role": data.get("role"),
        }
        actors: list[uuid.UUID] = []
        if str(incident.current_run_id) == str(data.get("run_id")):
            actors = list(holders(session, incident, people))
        result = [Told(u, NotificationKind.sla_at_risk, body) for u in actors]
        if kind == NotificationKind.sla_breached:
            chain = _superiors(session, incident, str(data.get("role")), people)
            everyone = list(dict.fromkeys([*actors, *chain]))
            result = [
                Told(u, NotificationKind.sla_breached, {**body, "superior": u not in actors})
                for u in everyone
            ]
        return result
    if kind == NotificationKind.draft_returned:
        draft = session.get(Draft, uuid.UUID(str(data.get("draft_id"))))
        if draft is None:
            return []
        body = {
            **_step_data(incident, data.get("returns_to_step")),
            "draft_id": str(draft.id),
            "draft_kind": draft.kind,
            "draft_version": data.get("draft_version"),
        }
        return [Told(draft.author_id, NotificationKind.draft_returned, body)]
    if kind in (NotificationKind.incident_cancelled, NotificationKind.incident_archived):
        body = {**_step_data(incident, None), "status": incident.status}
        ended = _held_a_task(session, incident) | set(told)
        return [Told(u, NotificationKind(kind), body) for u in sorted(ended, key=str)]
    return []
