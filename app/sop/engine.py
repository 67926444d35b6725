"""The workflow engine: which action exists at which step, who may take it, what comes next.

Every state change of an incident goes through `perform`. It checks, in this order, the
caller's scope and role (403), that the caller's kecamatan owns the incident (404), that the
incident is still open (409), the step and stage (409), the caller's assignment (403) and the
action's occurred_at (422). It then lets the resource's handler write its document and, in the
same transaction, closes and opens step runs, moves the incident with a version-guarded UPDATE,
appends the hash-chained audit event and writes the outbox events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, func, insert, select, update
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.audit.service import ChainHead, build_event, to_jsonable
from app.auth.deps import Principal
from app.auth.roles import Role, role_name
from app.auth.scopes import Scope
from app.core import clock
from app.core.errors import (
    ConcurrentUpdate,
    Forbidden,
    IncidentClosed,
    InsufficientScope,
    NotAssigned,
    NotFound,
    OccurredAtOutOfBounds,
    OccurredAtReasonRequired,
    PreconditionFailed,
    Unprocessable,
    WrongStep,
)
from app.core.guarded import guarded_update
from app.delegations.capacity import acting_record
from app.incidents.models import Incident, IncidentAssignment, IncidentStatus
from app.outbox.models import OutboxEvent
from app.outbox.service import event_row
from app.sop.catalogue import Action, Assignment
from app.sop.definition import SopDefinition, StepDefinition, load_definition, registry
from app.timing.calendars import calendar_for
from app.timing.models import RunStatus, StepRun
from app.timing.sla import elapsed_text

CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class Rule:
    """One way to take an action: at these steps (and stage), by this role with this scope."""

    steps: frozenset[int]
    role: Role
    scope: Scope
    stage: str | None = None
    assignment: Assignment | None = None
    # Work the step waits on (shown in the task inbox): a completing action of the role the
    # step, or its stage, waits on.
    task: bool = False


def _compile(definition: SopDefinition) -> dict[Action, tuple[Rule, ...]]:
    """The rule table of one SOP version, built from its definition file."""
    table: dict[Action, list[Rule]] = {}
    for item in definition.incident_actions:
        last = item.to_step if item.to_step is not None else definition.last_step
        steps = frozenset(range(item.from_step, last + 1))
        rule = Rule(steps, Role(item.role), Scope(item.scope))
        table.setdefault(Action(item.action), []).append(rule)
    for step in definition.steps:
        for entry in step.rules:
            completing = set(entry.actions) & set(step.completes_with)
            waited_on = entry.role == step.waiting_role(entry.stage)
            for name in entry.actions:
                table.setdefault(Action(name), []).append(
                    Rule(
                        frozenset({step.number}),
                        Role(entry.role),
                        Scope(entry.scope),
                        entry.stage,
                        Assignment(entry.assignment) if entry.assignment else None,
                        task=bool(completing) and waited_on,
                    )
                )
    # In the catalogue's order, so that lists of actions read the same in every version.
    return {action: tuple(table[action]) for action in Action if action in table}


# Compiled once per definition object (the registry keeps them for the process's life).
_COMPILED: dict[int, tuple[SopDefinition, dict[Action, tuple[Rule, ...]]]] = {}


def rules_of(definition: SopDefinition) -> dict[Action, tuple[Rule, ...]]:
    """The rule table of a definition, by action."""
    found = _COMPILED.get(id(definition))
    if found is None or found[0] is not definition:
        found = (definition, _compile(definition))
        _COMPILED[id(definition)] = found
    return found[1]


def _known_rules(action: Action) -> list[Rule]:
    """The action's rules in every known version: who could ever take it."""
    return [
        rule
        for definition in registry().definitions.values()
        for rule in rules_of(definition).get(action, ())
    ]


@dataclass
class Outcome:
    """What a handler decided; the engine applies it in the same transaction.

    What comes next is the definition's: an action the step `completes_with` finishes it and
    opens the next step (the last one closes the incident), unless the handler says the step
    is not done yet (`complete=False`: members still to report, a stage still to pass).
    `correction`: a returned draft goes back to the step's `correction_returns_to`, as a new
    attempt. `cancel`: terminal. `stage`: the stage within the step, when it moves.
    `incident`: other incident columns to set. `events`: outbox events (type, data).
    """

    result: Any = None
    complete: bool = True
    correction: bool = False
    stage: str | None | type[Ellipsis] = ...  # type: ignore[assignment, valid-type]
    cancel: bool = False
    incident: dict[str, Any] = field(default_factory=dict)
    assignments: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    document: dict[str, Any] | None = None


@dataclass
class Context:
    """What a handler sees: the locked incident, the caller, the step, the clock."""

    session: Session
    principal: Principal
    incident: Incident
    definition: SopDefinition
    step: StepDefinition
    rule: Rule
    now: datetime
    occurred_at: datetime
    run_started_at: datetime | None
    occurred_at_reason: str | None = None
    # The post the caller takes this action in as a deputy (its record: post, kind,
    # delegation, capacity); None when the rule's role is their own.
    acting_as: dict[str, Any] | None = None

    @property
    def following(self) -> StepDefinition | None:
        """The step that completing this one opens (None: completing closes the incident)."""
        return self.definition.following(self.step.number)

    @property
    def next_stage(self) -> str | None:
        """The stage after the incident's current one within this step (None after the last)."""
        return self.step.next_stage(self.incident.stage)


def visible_incident_filter(principal: Principal) -> Any:
    """The SQL condition that limits a caller to incidents they may see."""
    if principal.city_wide:
        return True
    return Incident.unit_id == principal.unit_id


# The statements of the hot path are built once, with bind parameters, and reused: building
# a statement and its cache key on every request was most of an action's CPU time. Writes go
# through Core on the tables (the ORM's bulk DML machinery adds nothing these rows need).
_by_id = select(Incident).where(Incident.id == bindparam("incident_id"))  # type: ignore[arg-type]
_LOAD_INCIDENT = {
    True: _by_id,
    False: _by_id.where(Incident.unit_id == bindparam("unit_id")),  # type: ignore[arg-type]
}
_STEP_RUNS = StepRun.__table__  # type: ignore[attr-defined]


class _Run(NamedTuple):
    """The running step run of an incident, as the engine needs it."""

    id: uuid.UUID
    started_at: datetime
    actionable_at: datetime
    breached_event_at: datetime | None
    calendar: str
    sla_seconds: int
    step: int
    attempt: int


# The incident, locked, with its running step run: one round trip for both.
_with_run = (
    select(  # type: ignore[call-overload]
        Incident,
        StepRun.id,
        StepRun.started_at,
        StepRun.actionable_at,
        StepRun.breached_event_at,
        StepRun.calendar,
        StepRun.sla_seconds,
        StepRun.step,
        StepRun.attempt,
    )
    .outerjoin(StepRun, StepRun.id == Incident.current_run_id)
    .where(Incident.id == bindparam("incident_id"))
    .with_for_update(of=Incident)
)
_FOR_ACTION = {
    True: _with_run,
    False: _with_run.where(Incident.unit_id == bindparam("unit_id")),
}
# A correction loop reopens a step: its attempt is one more than the runs it already had.
_OPEN_RUN = insert(_STEP_RUNS).values(
    attempt=select(func.coalesce(func.max(_STEP_RUNS.c.attempt), 0) + 1)
    .where(
        _STEP_RUNS.c.incident_id == bindparam("of_incident"),
        _STEP_RUNS.c.step == bindparam("of_step"),
    )
    .scalar_subquery()
)
_CLOSE_RUN = (
    update(_STEP_RUNS)
    .where(_STEP_RUNS.c.id == bindparam("run_id"))
    .values(
        completed_at=bindparam("at"),
        recorded_completed_at=bindparam("recorded_at"),
        elapsed_seconds=bindparam("elapsed"),
        claimed_elapsed_seconds=bindparam("claimed_elapsed"),
        recorded_elapsed_seconds=bindparam("recorded_elapsed"),
        status=bindparam("run_status"),
        backdated=bindparam("is_backdated"),
        backdated_reason=bindparam("reason"),
    )
)
_CANCEL_RUN = (
    update(_STEP_RUNS)
    .where(_STEP_RUNS.c.id == bindparam("run_id"))
    .values(
        status=RunStatus.cancelled,
        completed_at=bindparam("at"),
        recorded_completed_at=bindparam("recorded_at"),
    )
)
_REASSIGN_RUN = (
    update(_STEP_RUNS)
    .where(_STEP_RUNS.c.id == bindparam("run_id"))
    .values(role=bindparam("role"), assignee_id=bindparam("assignee"))
)
_ASSIGNMENTS = IncidentAssignment.__table__  # type: ignore[attr-defined]
_ADD_ASSIGNMENT = insert(_ASSIGNMENTS)
_ADD_AUDIT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]
_ADD_OUTBOX = insert(OutboxEvent.__table__)  # type: ignore[attr-defined]


def load_incident(session: Session, principal: Principal, incident_id: uuid.UUID) -> Incident:
    """The incident if the caller's kecamatan owns it (city-wide roles see all), else 404."""
    params = {"incident_id": incident_id, "unit_id": principal.unit_id}
    incident = session.execute(_LOAD_INCIDENT[principal.city_wide], params).scalar_one_or_none()
    if incident is None:
        raise NotFound("Incident not found")
    return incident


def waiting_on(incident: Incident) -> Role | None:
    """The role the incident waits on now."""
    if incident.status != IncidentStatus.active or incident.current_step is None:
        return None
    step = load_definition(incident.sop_version).step(incident.current_step)
    return Role(step.waiting_role(incident.stage))


def wrong_step(incident: Incident, reason: str) -> WrongStep:
    """409: why the action cannot be taken, then where the incident is: the step's number and
    name in its SOP version, and the role it waits for."""
    waiting = waiting_on(incident)
    step_name = None
    detail = reason
    if incident.current_step is not None and waiting is not None:
        step_name = load_definition(incident.sop_version).step(incident.current_step).label
        detail = (
            f"{reason}: the incident is at step {incident.current_step} ({step_name}) and "
            f"waits for the {role_name(waiting)}"
        )
    return WrongStep(
        detail,
        current_step=incident.current_step,
        step_name=step_name,
        stage=incident.stage,
        waiting_on=str(waiting) if waiting else None,
    )


# Whether the user is one of the incident's briefed members.
_BRIEFED = (
    select(_ASSIGNMENTS.c.id)
    .where(
        _ASSIGNMENTS.c.incident_id == bindparam("incident_id"),
        _ASSIGNMENTS.c.user_id == bindparam("user_id"),
        _ASSIGNMENTS.c.kind == "member",
    )
    .limit(1)
)


def _assigned(
    session: Session, incident: Incident, principal: Principal, assignment: Assignment
) -> bool:
    if assignment is Assignment.instructed_danru:
        return incident.assigned_danru_id == principal.id
    if assignment is Assignment.dispatched_danru:
        return incident.dispatched_danru_id == principal.id
    params = {"incident_id": incident.id, "user_id": principal.id}
    return session.connection().execute(_BRIEFED, params).first() is not None


def assigned_clause(assignment: Assignment, user_id: uuid.UUID) -> Any:
    """The SQL condition that the user holds the assignment on the incident."""
    if assignment is Assignment.instructed_danru:
        return Incident.assigned_danru_id == user_id
    if assignment is Assignment.dispatched_danru:
        return Incident.dispatched_danru_id == user_id
    return exists().where(
        IncidentAssignment.incident_id == Incident.id,  # type: ignore[arg-type]
        IncidentAssignment.user_id == user_id,  # type: ignore[arg-type]
        IncidentAssignment.kind == "member",  # type: ignore[arg-type]
    )


def _select_rule(action: Action, principal: Principal, rules: Iterable[Rule]) -> list[Rule]:
    """The rules of the action for the caller's role and scopes; 403 when there are none."""
    rules = list(rules)
    # The caller's own role first: a deputy who holds the rule's role themselves acts in it.
    mine = sorted(
        (r for r in rules if principal.holds(r.role)), key=lambda r: r.role != principal.role
    )
    roles = list(dict.fromkeys(str(r.role) for r in rules))
    who = " or the ".join(role_name(r) for r in roles)
    if not mine:
        if any(principal.has(r.scope) for r in rules):
            raise Forbidden(
                f"Only the {who} may {action}; you are signed in as {role_name(principal.role)}",
                allowed_roles=roles,
                role=str(principal.role),
            )
        needed = sorted({str(r.scope) for r in rules})
        raise InsufficientScope(
            f"Only the {who} may {action} (it needs the scope {' or '.join(needed)})",
            required_scopes=needed,
            allowed_roles=roles,
        )
    with_scope = [r for r in mine if principal.has(r.scope)]
    if not with_scope:
        raise InsufficientScope(
            f"Only the {who} may {action}, with the scope {mine[0].scope}, which this token "
            "does not carry",
            required_scopes=[str(mine[0].scope)],
            allowed_roles=roles,
        )
    return with_scope


def check_occurred_at(
    occurred_at: datetime | None,
    *,
    now: datetime,
    not_before: datetime | None,
    limit: timedelta,
    reason_after: timedelta | None = None,
    reason: str | None = None,
    field: str = "occurred_at",
) -> datetime:
    """A claimed time may not be in the future (2 minutes of skew), nor before the run
    started, nor further back than `limit`; beyond `reason_after` it needs a reason."""
    if occurred_at is None:
        return now
    if occurred_at.tzinfo is None:
        raise Unprocessable(f"{field} needs a UTC offset", field=field)
    value = clock.as_utc(occurred_at)
    latest = now + CLOCK_SKEW
    if value > latest:
        raise OccurredAtOutOfBounds(
            f"{field} is in the future; it may be at most {latest.isoformat()}",
            field=field,
            bound=latest.isoformat(),
        )
    if not_before is not None and value < not_before:
        raise OccurredAtOutOfBounds(
            f"{field} is before the step started at {not_before.isoformat()}",
            field=field,
            bound=not_before.isoformat(),
        )
    earliest = now - limit
    if value < earliest:
        raise OccurredAtOutOfBounds(
            f"{field} lies more than {_span(limit)} before now; it may be at the earliest "
            f"{earliest.isoformat()}",
            field=field,
            bound=earliest.isoformat(),
            limit_seconds=int(limit.total_seconds()),
        )
    if reason_after is not None and value < now - reason_after and not reason:
        raise OccurredAtReasonRequired(
            f"{field} lies more than {_span(reason_after)} before now: say why in "
            "occurred_at_reason",
            field="occurred_at_reason",
            reason_after_seconds=int(reason_after.total_seconds()),
        )
    return value


def _span(delta: timedelta) -> str:
    return elapsed_text(int(delta.total_seconds()))


def allowed_actions(session: Session, principal: Principal, incident: Incident) -> list[str]:
    """The actions the caller may take on the incident now (for clients to show buttons)."""
    if incident.status != IncidentStatus.active or incident.current_step is None:
        return []
    found: list[str] = []
    for action, rules in rules_of(load_definition(incident.sop_version)).items():
        for rule in rules:
            if not principal.holds(rule.role) or not principal.has(rule.scope):
                continue
            if incident.current_step not in rule.steps:
                continue
            if rule.stage is not None and rule.stage != incident.stage:
                continue
            if rule.assignment and not _assigned(session, incident, principal, rule.assignment):
                continue
            found.append(str(action))
            break
    return found


def snapshot(incident: Incident) -> dict[str, Any]:
    return {
        "status": incident.status,
        "step": incident.current_step,
        "stage": incident.stage,
        "version": incident.version,
    }


def perform(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    action: Action,
    handler: Callable[[Context], Outcome],
    *,
    occurred_at: datetime | None = None,
    occurred_at_reason: str | None = None,
    if_match: int | None = None,
) -> Outcome:
    """Run one action on an incident under every guard; see the module docstring."""
    # A role that takes the action in no version is refused before anything is read. An
    # action that no version uses at all is answered by the incident's version below (409).
    known = _known_rules(action)
    if known:
        _select_rule(action, principal, known)
    params: dict[str, Any] = {"incident_id": incident_id, "unit_id": principal.unit_id}
    found = session.execute(_FOR_ACTION[principal.city_wide], params).one_or_none()
    if found is None:
        raise NotFound("Incident not found")
    incident, *run_columns = found
    run = _Run(*run_columns) if run_columns[0] is not None else None
    if if_match is not None and if_match != incident.version:
        raise PreconditionFailed(
            f"The incident is at version {incident.version}, not {if_match}",
            current_version=incident.version,
        )
    definition = load_definition(incident.sop_version)
    in_version = rules_of(definition).get(action, ())
    if not in_version:
        raise wrong_step(
            incident, f"The incident's SOP version {definition.version} has no step for {action}"
        )
    rules = _select_rule(action, principal, in_version)
    if incident.status != IncidentStatus.active:
        raise IncidentClosed(
            f"The incident is {incident.status}; it takes no more actions", status=incident.status
        )
    at_step = [r for r in rules if incident.current_step in r.steps]
    if not at_step:
        raise wrong_step(incident, f"{action} is not possible now")
    at_stage = [r for r in at_step if r.stage is None or r.stage == incident.stage]
    if not at_stage:
        raise wrong_step(
            incident,
            f"The draft is at the {incident.stage} stage; it is not the "
            f"{role_name(principal.role)}'s turn",
        )
    rule = at_stage[0]
    if rule.assignment and not _assigned(session, incident, principal, rule.assignment):
        raise NotAssigned("You are not assigned to this incident for this step")

    step = definition.step(incident.current_step or 1)
    now = clock.now()
    run_started_at = run.started_at if run is not None else None
    bound = definition.backdating_of(step)
    when = check_occurred_at(
        occurred_at,
        now=now,
        not_before=run_started_at,
        limit=timedelta(seconds=bound.limit_seconds),
        reason_after=timedelta(seconds=bound.reason_after_seconds),
        reason=occurred_at_reason,
    )
    acting = principal.acting_for(rule.role)
    ctx = Context(
        session,
        principal,
        incident,
        definition,
        step,
        rule,
        now,
        when,
        run_started_at,
        occurred_at_reason,
        acting_record(session, principal, incident.unit_id, acting) if acting is not None else None,
    )
    outcome = handler(ctx)
    _apply(ctx, action, outcome, before=snapshot(incident), run=run)
    # The session's identity map holds rows weakly: kept here, the moved incident is still
    # the session's when the answer is made (moved_incident), not read again.
    session.info.setdefault(_MOVED, {})[incident.id] = incident
    return outcome


# Key of Session.info holding the incidents an action moved in this session, by id.
_MOVED = "trantib_moved_incidents"


def moved_incident(session: Session, incident_id: uuid.UUID) -> Incident | None:
    """The incident as an action of this session left it, if one moved it."""
    moved: dict[uuid.UUID, Incident] = session.info.get(_MOVED, {})
    return moved.get(incident_id)


# The incident column naming the person a step waits on, by the assignment of its rule.
_ASSIGNEE_COLUMN = {
    Assignment.instructed_danru: "assigned_danru_id",
    Assignment.dispatched_danru: "dispatched_danru_id",
}


def _waiting_on(
    step: StepDefinition, stage: str | None, columns: Callable[[str], Any]
) -> tuple[str, Any]:
    """The role a step (at a stage) waits on, and the one person of that role when an
    assignment names them (briefed members are several: no single assignee)."""
    role = step.waiting_role(stage)
    for rule in step.rules:
        if rule.role != role or (rule.stage is not None and rule.stage != stage):
            continue
        column = _ASSIGNEE_COLUMN.get(Assignment(rule.assignment)) if rule.assignment else None
        if column:
            return role, columns(column)
    return role, None


def _open_run(
    session: Session,
    incident: Incident,
    definition: SopDefinition,
    number: int,
    started_at: datetime,
    actionable_at: datetime,
    columns: Callable[[str], Any],
) -> uuid.UUID:
    """Open a run of step `number`: it starts at the claimed `started_at`, and its time
    standard runs from `actionable_at`, when the service let its actor act."""
    step = definition.step(number)
    calendar = calendar_for(step.calendar)
    role, assignee = _waiting_on(step, step.stages[0] if step.stages else None, columns)
    run_id = uuid.uuid4()
    session.connection().execute(
        _OPEN_RUN,
        {
            "of_incident": incident.id,
            "of_step": number,
            "id": run_id,
            "incident_id": incident.id,
            "unit_id": incident.unit_id,
            "sop_version": definition.version,
            "step": number,
            "step_code": step.code,
            "role": role,
            "assignee_id": assignee,
            "sla_text": step.waktu,
            "sla_seconds": step.sla.seconds,
            "calendar": step.calendar,
            "started_at": started_at,
            "actionable_at": actionable_at,
            "due_at": calendar.due_at(actionable_at, step.sla),
            "status": RunStatus.running,
        },
    )
    return run_id


def open_first_run(session: Session, incident: Incident) -> uuid.UUID:
    """The first step starts, and is actionable, when the kecamatan learned of the incident
    (reported_at, bounded by the registration horizon)."""
    definition = load_definition(incident.sop_version)
    reported = incident.reported_at
    return _open_run(
        session, incident, definition, 1, reported, reported, lambda c: getattr(incident, c)
    )


def _on_time(elapsed: int, run: Any) -> RunStatus:
    return RunStatus.on_time if elapsed <= run.sla_seconds else RunStatus.late


def _close_run(ctx: Context, run: Any, reason: str | None) -> dict[str, Any]:
    """Complete a run, measured by its own calendar on both clocks.

    Official: from when it became actionable to the claimed completion, and late whatever
    that says once a breach was announced. Claimed: the field sequence (claimed start to
    claimed end). Recorded: actionable to the moment the action was recorded. A completion
    claimed further back than the step's reason threshold is marked backdated.
    """
    calendar = calendar_for(run.calendar)
    claimed_end, recorded_end = ctx.occurred_at, ctx.now
    elapsed = calendar.elapsed_seconds(run.actionable_at, max(claimed_end, run.actionable_at))
    claimed = calendar.elapsed_seconds(run.started_at, claimed_end)
    recorded = calendar.elapsed_seconds(run.actionable_at, recorded_end)
    status = _on_time(elapsed, run)
    if run.breached_event_at is not None:
        status = RunStatus.late  # announced: a later claim does not undo it
    threshold = ctx.definition.backdating_of(ctx.step).reason_after_seconds
    backdated = (recorded_end - claimed_end).total_seconds() > threshold
    ctx.session.connection().execute(
        _CLOSE_RUN,
        {
            "run_id": run.id,
            "at": claimed_end,
            "recorded_at": recorded_end,
            "elapsed": elapsed,
            "claimed_elapsed": claimed,
            "recorded_elapsed": recorded,
            "run_status": status,
            "is_backdated": backdated,
            "reason": reason if backdated else None,
        },
    )
    return {
        "step": run.step,
        "attempt": run.attempt,
        "elapsed_seconds": elapsed,
        "status": str(status),
        "claimed_elapsed_seconds": claimed,
        "claimed_status": str(_on_time(claimed, run)),
        "recorded_elapsed_seconds": recorded,
        "recorded_status": str(_on_time(recorded, run)),
        "breach_announced": run.breached_event_at is not None,
        "backdated": backdated,
    }


def _next_step(ctx: Context, action: Action, outcome: Outcome) -> int | None:
    """Where the action takes the incident, by the definition: None to stay at the step,
    0 to close it (the last step completed)."""
    if outcome.correction:
        back = ctx.step.correction_returns_to
        if back is None:
            raise AssertionError(f"step {ctx.step.number} has no correction_returns_to")
        return back
    if action not in ctx.step.completes_with or not outcome.complete:
        return None
    following = ctx.following
    return following.number if following is not None else 0


def _apply(
    ctx: Context, action: Action, outcome: Outcome, *, before: dict[str, Any], run: Any
) -> None:
    session, incident, now, when = ctx.session, ctx.incident, ctx.now, ctx.occurred_at
    # The handler's documents go first: the rows written below may refer to them.
    session.flush()
    db = session.connection()
    values: dict[str, Any] = dict(outcome.incident)
    completed: dict[str, Any] | None = None
    next_step = None if outcome.cancel else _next_step(ctx, action, outcome)

    def column(name: str) -> Any:
        return values.get(name, getattr(incident, name))

    if outcome.stage is not Ellipsis:
        values["stage"] = outcome.stage
    if outcome.cancel or next_step == 0:
        if run is not None and not outcome.cancel:
            completed = _close_run(ctx, run, ctx.occurred_at_reason)
        values.update(
            status=IncidentStatus.cancelled if outcome.cancel else IncidentStatus.closed,
            closed_at=now,
            current_run_id=None,
        )
        if outcome.cancel and incident.current_run_id is not None:
            # A cancelled run is not measured: it never finished its step.
            db.execute(
                _CANCEL_RUN, {"run_id": incident.current_run_id, "at": when, "recorded_at": now}
            )
        next_step = None
    elif next_step is not None:
        if run is not None:
            completed = _close_run(ctx, run, ctx.occurred_at_reason)
        opened = ctx.definition.step(next_step)
        values["current_step"] = next_step
        values["stage"] = opened.stages[0] if opened.stages else None
        # The next step starts at the claimed time (the field sequence) and is actionable
        # from now: its actor could not act on it before it was recorded.
        values["current_run_id"] = _open_run(
            session, incident, ctx.definition, next_step, when, now, column
        )
    elif "stage" in values and values["stage"] != incident.stage and run is not None:
        # A stage passed within the step: the run now waits on the next stage's actor.
        role, assignee = _waiting_on(ctx.step, values["stage"], column)
        db.execute(_REASSIGN_RUN, {"run_id": run.id, "role": role, "assignee": assignee})

    if outcome.assignments:
        db.execute(
            _ADD_ASSIGNMENT,
            [
                {
                    "id": uuid.uuid4(),
                    "incident_id": incident.id,
                    "user_id": user_id,
                    "kind": kind,
                    "created_at": now,
                }
                for user_id, kind in outcome.assignments
            ],
        )

    after = {
        **before,
        "status": values.get("status", incident.status),
        "step": values.get("current_step", incident.current_step),
        "stage": values.get("stage", incident.stage),
        "version": incident.version + 1,
    }
    data = dict(outcome.audit)
    if ctx.occurred_at_reason:
        data["occurred_at_reason"] = ctx.occurred_at_reason
    if outcome.document is not None:
        data["document"] = outcome.document
    if completed is not None:
        data["completed_run"] = completed
    event = build_event(
        ChainHead(incident.audit_seq, incident.audit_head),
        incident_id=incident.id,
        unit_id=incident.unit_id,
        action=str(action),
        step=incident.current_step,
        sop_version=incident.sop_version,
        step_code=ctx.step.code,
        actor_id=ctx.principal.id,
        actor_role=str(ctx.principal.role),
        acting_as=ctx.acting_as,
        occurred_at=when,
        recorded_at=now,
        before=before,
        after=after,
        data=data,
    )
    values.update(
        audit_seq=event["seq"],
        audit_head=event["hash"],
        updated_at=now,
        version=incident.version + 1,
    )
    if not guarded_update(session, incident, values):
        raise ConcurrentUpdate("Another action on this incident was accepted first; reload it")
    db.execute(_ADD_AUDIT, event)

    events = list(outcome.events)
    if completed is None and after["stage"] != before.get("stage"):
        # A draft passed a stage of its step: the step now waits on someone else.
        events.append(
            (
                "stage.passed",
                {
                    "step": after["step"],
                    "from_stage": before.get("stage"),
                    "stage": after["stage"],
                    "action": str(action),
                },
            )
        )
    if completed is not None:
        events.append(
            (
                "step.completed",
                {**completed, "next_step": next_step, "action": str(action)},
            )
        )
    if events:
        rows = [
            event_row(
                kind,
                {"incident_id": str(incident.id), "unit_id": incident.unit_id, **payload},
                incident_id=incident.id,
                unit_id=incident.unit_id,
                actor_id=None if ctx.principal.is_client else ctx.principal.id,
            )
            for kind, payload in events
        ]
        db.execute(_ADD_OUTBOX, rows)


def record_creation(
    session: Session, principal: Principal, incident: Incident, document: dict[str, Any]
) -> None:
    """Audit and announce a new incident; its first step's run starts at reported_at."""
    now = clock.now()
    run_id = open_first_run(session, incident)
    event = build_event(
        ChainHead(0, incident.audit_head),
        incident_id=incident.id,
        unit_id=incident.unit_id,
        action="incident_create",
        step=None,
        sop_version=incident.sop_version,
        # A service client is no user: the event names it in data.client_id instead.
        actor_id=None if principal.is_client else principal.id,
        actor_role=str(principal.role),
        occurred_at=incident.occurred_at or incident.reported_at,
        recorded_at=now,
        before=None,
        after={"status": incident.status, "step": 1, "stage": incident.stage, "version": 1},
        data={
            "document": to_jsonable(document),
            **({"client_id": principal.client_id} if principal.is_client else {}),
        },
    )
    # The incident was inserted by this transaction: nobody else can have moved it.
    guarded_update(
        session,
        incident,
        {"audit_seq": 1, "audit_head": event["hash"], "current_run_id": run_id},
    )
    db = session.connection()
    db.execute(_ADD_AUDIT, event)
    db.execute(
        _ADD_OUTBOX,
        event_row(
            "incident.created",
            {
                "incident_id": str(incident.id),
                "unit_id": incident.unit_id,
                "register_number": incident.register_number,
                "kind": incident.kind,
                "title": incident.title,
                "escalation_level": incident.escalation_level,
            },
            incident_id=incident.id,
            unit_id=incident.unit_id,
            actor_id=None if principal.is_client else principal.id,
        ),
    )
