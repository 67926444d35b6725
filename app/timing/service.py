"""Step timing: what each run of a step took against its time standard, and the reports.

Completed runs carry their measure (`elapsed_seconds`, `status` on_time/late), written by the
engine when the step completes. A running run is measured here at read time by its calendar:
`at_risk` once 75% of the SLA is used, `breached` once the SLA is exceeded (strictly after the
due instant: a step completed exactly at its due time is on time).
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, case, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from app.auth.deps import Principal
from app.core import clock
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.delegations.posts import vacant_posts
from app.incidents.models import Incident
from app.sop.definition import load_definition
from app.timing import calendars
from app.timing.calendar_models import NonWorkingDay
from app.timing.calendars import WALL, DayKind, calendar_for, mark_overrides_changed
from app.timing.models import RunStatus, StepRun
from app.timing.schemas import CalendarDayPut
from app.timing.sla import elapsed_text
from app.units.models import Unit

COMPLETED = (RunStatus.on_time.value, RunStatus.late.value)


class ForbiddenUnit(Forbidden):
    kind, title = "forbidden-unit", "Another kecamatan's data"


# --- measuring one run -------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    status: str
    elapsed_seconds: int
    due_at: datetime
    at_risk_at: datetime
    overdue_seconds: int


def measure(
    *,
    calendar: str,
    started_at: datetime,
    sla_seconds: int,
    due_at: datetime,
    status: str,
    completed_at: datetime | None,
    elapsed_seconds: int | None,
    now: datetime,
) -> Measure:
    """The status and times of a run at `now`, by the run's calendar.

    Wall-clock runs keep the due time stored at their start. A running working-day run is
    measured with today's calendar, so a non-working day added while it runs moves its due
    time; a completed run keeps what was measured when it completed.
    """
    cal = calendar_for(calendar)
    if status != RunStatus.running:
        elapsed = elapsed_seconds
        if elapsed is None:
            elapsed = cal.elapsed_seconds(started_at, completed_at) if completed_at else 0
        overdue = max(0, elapsed - sla_seconds) if status in COMPLETED else 0
        at_risk = calendars.at_risk_instant(calendar, started_at, sla_seconds)
        return Measure(status, elapsed, clock.as_utc(due_at), at_risk, overdue)
    due = clock.as_utc(due_at) if calendar == WALL else cal.advance(started_at, sla_seconds)
    at_risk = calendars.at_risk_instant(calendar, started_at, sla_seconds)
    elapsed = cal.elapsed_seconds(started_at, now)
    if now > due:
        derived = RunStatus.breached.value
    elif now >= at_risk:
        derived = RunStatus.at_risk.value
    else:
        derived = RunStatus.running.value
    return Measure(derived, elapsed, due, at_risk, max(0, elapsed - sla_seconds))


def measure_run(run: StepRun, now: datetime) -> Measure:
    """The official measure of a run: its time standard runs from when it was actionable."""
    return measure(
        calendar=run.calendar,
        started_at=run.actionable_at,
        sla_seconds=run.sla_seconds,
        due_at=run.due_at,
        status=run.status,
        completed_at=run.completed_at,
        elapsed_seconds=run.elapsed_seconds,
        now=now,
    )


def _by(elapsed: int, sla_seconds: int) -> str:
    return RunStatus.on_time.value if elapsed <= sla_seconds else RunStatus.late.value


def two_clocks(run: StepRun, now: datetime) -> dict[str, Any]:
    """The run by the claimed times and by the recorded times, and what was announced.

    A running run has no status by either clock yet: its elapsed times run to `now`.
    """
    cal = calendar_for(run.calendar)
    claimed_status: str | None = None
    recorded_status: str | None = None
    if run.status == RunStatus.running:
        claimed = cal.elapsed_seconds(run.started_at, now)
        recorded = cal.elapsed_seconds(run.actionable_at, now)
    else:
        # A cancelled run was never measured: both clocks show what the official one does.
        official = run.elapsed_seconds or 0
        claimed = (
            run.claimed_elapsed_seconds if run.claimed_elapsed_seconds is not None else official
        )
        recorded = (
            run.recorded_elapsed_seconds if run.recorded_elapsed_seconds is not None else official
        )
        done = run.status in COMPLETED
        claimed_status = _by(claimed, run.sla_seconds) if done else None
        recorded_status = _by(recorded, run.sla_seconds) if done else None
    return {
        "actionable_at": run.actionable_at,
        "recorded_completed_at": run.recorded_completed_at,
        "claimed_elapsed_seconds": claimed,
        "claimed_status": claimed_status,
        "recorded_elapsed_seconds": recorded,
        "recorded_status": recorded_status,
        "at_risk_announced_at": run.at_risk_event_at,
        "breach_announced_at": run.breached_event_at,
        "backdated": run.backdated,
        "backdated_reason": run.backdated_reason,
    }


# --- visibility ----------------------------------------------------------------------------


def _visible_incident(session: Session, principal: Principal, incident_id: uuid.UUID) -> None:
    query = select(col(Incident.id)).where(col(Incident.id) == incident_id)
    if not principal.city_wide:
        query = query.where(col(Incident.unit_id) == principal.unit_id)
    if session.execute(query).first() is None:
        raise NotFound("Incident not found")


def resolve_unit(session: Session, principal: Principal, unit: str | None) -> Unit | None:
    """The unit a report is limited to.

    Kecamatan roles are always limited to their own unit; naming another one is refused with
    403 `forbidden-unit` (the kecamatan list is public, so nothing is hidden by a 404).
    """
    found: Unit | None = None
    if unit:
        key = unit.strip().lower()
        found = session.execute(
            select(Unit).where(or_(Unit.code == key, Unit.slug == key))  # type: ignore[arg-type]
        ).scalar_one_or_none()
        if found is None:
            raise Unprocessable(f"Unknown kecamatan {unit!r}: give its code or slug", field="unit")
    if principal.city_wide:
        return found
    if found is not None and found.id != principal.unit_id:
        raise ForbiddenUnit("A kecamatan role sees only its own kecamatan's reports")
    own = session.get(Unit, principal.unit_id)
    assert own is not None
    return own


def _unit_ref(unit: Unit | None) -> dict[str, Any] | None:
    return None if unit is None else {"id": unit.id, "code": unit.code, "name": unit.name}


# --- timeline ------------------------------------------------------------------------------


def timeline(
    session: Session, principal: Principal, incident_id: uuid.UUID, *, now: datetime | None = None
) -> dict[str, Any]:
    """Every run of the incident's steps in order, measured, with totals."""
    _visible_incident(session, principal, incident_id)
    now = now or clock.now()
    runs = (
        session.execute(
            select(StepRun)
            .where(StepRun.incident_id == incident_id)  # type: ignore[arg-type]
            .order_by(StepRun.started_at, StepRun.step, StepRun.attempt)  # type: ignore[arg-type]
        )
        .scalars()
        .all()
    )
    items: list[dict[str, Any]] = []
    counts = dict.fromkeys(("on_time", "late", "running", "at_risk", "breached", "cancelled"), 0)
    for run in runs:
        m = measure_run(run, now)
        counts[m.status] = counts.get(m.status, 0) + 1
        items.append(
            {
                "id": run.id,
                "step": run.step,
                "step_code": run.step_code,
                "attempt": run.attempt,
                "role": run.role,
                "assignee_id": run.assignee_id,
                "sla": run.sla_text,
                "sla_seconds": run.sla_seconds,
                "calendar": run.calendar,
                "started_at": run.started_at,
                "due_at": m.due_at,
                "completed_at": run.completed_at,
                "elapsed_seconds": m.elapsed_seconds,
                "elapsed_text": elapsed_text(m.elapsed_seconds),
                "status": m.status,
                "overdue_seconds": m.overdue_seconds,
                **two_clocks(run, now),
            }
        )
    first = min((r.started_at for r in runs), default=None)
    still_running = any(r.status == RunStatus.running for r in runs)
    last = (
        None
        if still_running
        else max((r.completed_at for r in runs if r.completed_at), default=None)
    )
    whole = 0
    if first is not None:
        whole = calendar_for(WALL).elapsed_seconds(first, last or now)
    return {
        "incident_id": incident_id,
        "as_of": now,
        "runs": items,
        "totals": {
            "started_at": first,
            "ended_at": last,
            "elapsed_seconds": whole,
            "elapsed_text": elapsed_text(whole),
            "sla_seconds": sum(r.sla_seconds for r in runs),
            "statuses": counts,
        },
    }


# --- summary -------------------------------------------------------------------------------


def _run_filters(
    unit: Unit | None,
    started_from: datetime | None,
    started_to: datetime | None,
    step: int | None,
    sop_version: str | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if sop_version is not None:
        conditions.append(StepRun.sop_version == sop_version)  # type: ignore[arg-type]
    if unit is not None:
        conditions.append(StepRun.unit_id == unit.id)  # type: ignore[arg-type]
    if started_from is not None:
        conditions.append(StepRun.started_at >= started_from)  # type: ignore[arg-type]
    if started_to is not None:
        conditions.append(StepRun.started_at < started_to)  # type: ignore[arg-type]
    if step is not None:
        conditions.append(StepRun.step == step)  # type: ignore[arg-type]
    return conditions


def _percentiles(
    session: Session, conditions: list[ColumnElement[bool]], keys: list[Any]
) -> dict[tuple[Any, ...], tuple[float | None, float | None]]:
    """Median and p90 (continuous, interpolated) of elapsed seconds of completed runs per
    group, computed by the database."""
    done = [*conditions, StepRun.status.in_(COMPLETED), StepRun.elapsed_seconds.is_not(None)]  # type: ignore[union-attr,attr-defined]
    elapsed: Any = StepRun.elapsed_seconds
    if session.get_bind().dialect.name == "postgresql":
        query = (
            select(
                *keys,
                func.percentile_cont(0.5).within_group(elapsed).label("median"),
                func.percentile_cont(0.9).within_group(elapsed).label("p90"),
            )
            .where(*done)
            .group_by(*keys)
        )
    else:
        # SQLite has no percentile function: number the values of each group in order and
        # interpolate between the two around position p * (n - 1), as percentile_cont does.
        # Integer arithmetic keeps the positions exact.
        ranked = (
            select(
                *keys,
                elapsed.label("v"),
                (func.row_number().over(partition_by=keys, order_by=elapsed) - 1).label("rn"),
                func.count().over(partition_by=keys).label("n"),
            )
            .where(*done)
            .subquery()
        )
        rk = [ranked.c[k.key] for k in keys]

        def interpolated(numerator: int, denominator: int) -> Any:
            scaled = (ranked.c.n - 1) * numerator
            low = scaled // denominator
            frac = cast(scaled % denominator, Integer) * 1.0 / denominator
            return func.sum(
                case(
                    (ranked.c.rn == low, ranked.c.v * (1.0 - frac)),
                    (ranked.c.rn == low + 1, ranked.c.v * frac),
                    else_=0.0,
                )
            )

        query = select(
            *rk, interpolated(1, 2).label("median"), interpolated(9, 10).label("p90")
        ).group_by(*rk)
    result: dict[tuple[Any, ...], tuple[float | None, float | None]] = {}
    for row in session.execute(query):
        key = tuple(row[: len(keys)])
        median = None if row.median is None else round(float(row.median), 3)
        p90 = None if row.p90 is None else round(float(row.p90), 3)
        result[key] = (median, p90)
    return result


def _stats(
    session: Session, conditions: list[ColumnElement[bool]], keys: list[Any]
) -> list[dict[str, Any]]:
    status: Any = StepRun.status
    elapsed: Any = StepRun.elapsed_seconds
    done = status.in_(COMPLETED)
    sla: Any = StepRun.sla_seconds
    claimed: Any = StepRun.claimed_elapsed_seconds
    recorded: Any = StepRun.recorded_elapsed_seconds

    def count_where(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            *keys,
            func.count().label("runs"),
            count_where(status.in_(COMPLETED)).label("completed"),
            count_where(status == RunStatus.on_time.value).label("on_time"),
            count_where(status == RunStatus.late.value).label("late"),
            count_where(status == RunStatus.running.value).label("running"),
            count_where(status == RunStatus.cancelled.value).label("cancelled"),
            func.max(case((status.in_(COMPLETED), elapsed), else_=None)).label("worst"),
            count_where(done & (claimed <= sla)).label("on_time_by_claimed"),
            count_where(done & (recorded <= sla)).label("on_time_by_recorded"),
            count_where(done & col(StepRun.breached_event_at).is_not(None)).label("announced"),
            count_where(done & (col(StepRun.backdated) == True)).label("backdated"),  # noqa: E712
        )
        .where(*conditions)
        .group_by(*keys)
        .order_by(*keys)
    )
    percentiles = _percentiles(session, conditions, keys)
    rows = []
    for row in session.execute(query):
        key = tuple(row[: len(keys)])
        median, p90 = percentiles.get(key, (None, None))
        completed = int(row.completed)
        rows.append(
            {
                "key": key,
                "runs": int(row.runs),
                "completed": completed,
                "on_time": int(row.on_time),
                "late": int(row.late),
                "running": int(row.running),
                "cancelled": int(row.cancelled),
                "on_time_by_claimed": int(row.on_time_by_claimed),
                "on_time_by_recorded": int(row.on_time_by_recorded),
                "breach_announced": int(row.announced),
                "backdated": int(row.backdated),
                "on_time_rate": round(int(row.on_time) / completed, 4) if completed else None,
                "median_elapsed_seconds": median,
                "p90_elapsed_seconds": p90,
                "max_elapsed_seconds": None if row.worst is None else int(row.worst),
            }
        )
    return rows


def summary(
    session: Session,
    principal: Principal,
    *,
    unit: str | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
    step: int | None = None,
    sop_version: str | None = None,
) -> dict[str, Any]:
    """Per-step figures of runs started in [from, to); per unit too for city-wide callers.

    Runs are grouped by SOP version and step: step 3 of one version and step 3 of a revision
    that inserted a step before it are different steps, and are never mixed.
    """
    if started_from and started_to and started_from > started_to:
        raise Unprocessable("`from` must not be after `to`", field="from")
    scope_unit = resolve_unit(session, principal, unit)
    conditions = _run_filters(scope_unit, started_from, started_to, step, sop_version)
    # The code is the definition's for (version, step): grouping by it too costs a third more.
    step_keys: list[Any] = [StepRun.sop_version, StepRun.step]
    unit_col: Any = StepRun.unit_id

    def step_fields(key: tuple[Any, ...]) -> dict[str, Any]:
        code = load_definition(key[0]).step(key[1]).code
        return {"sop_version": key[0], "step": key[1], "step_code": code}

    by_step = [
        {"unit": _unit_ref(scope_unit), **step_fields(r.pop("key")), **r}
        for r in _stats(session, conditions, step_keys)
    ]
    by_unit: list[dict[str, Any]] = []
    if principal.city_wide:
        units = {u.id: u for u in session.execute(select(Unit)).scalars()}
        for r in _stats(session, conditions, [unit_col, *step_keys]):
            unit_id, *key = r.pop("key")
            by_unit.append({"unit": _unit_ref(units.get(unit_id)), **step_fields(tuple(key)), **r})
    return {
        "scope": {
            "unit": _unit_ref(scope_unit),
            "from": started_from,
            "to": started_to,
            "step": step,
            "sop_version": sop_version,
        },
        "by_step": by_step,
        "by_unit": by_unit,
    }


# --- breaches ------------------------------------------------------------------------------


def _running_query(unit: Unit | None) -> Any:
    query = (
        select(StepRun, col(Incident.register_number), Unit)
        .join(Incident, col(Incident.id) == col(StepRun.incident_id))
        .join(Unit, col(Unit.id) == col(StepRun.unit_id))
        .where(col(StepRun.status) == RunStatus.running.value)
    )
    if unit is not None:
        query = query.where(col(StepRun.unit_id) == unit.id)
    return query


def _breach_item(
    run: StepRun, register_number: str, unit: Unit, m: Measure, now: datetime
) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "incident_id": run.incident_id,
        "register_number": register_number,
        "unit": _unit_ref(unit),
        "sop_version": run.sop_version,
        "step": run.step,
        "step_code": run.step_code,
        "attempt": run.attempt,
        "role": run.role,
        "assignee_id": run.assignee_id,
        "sla": run.sla_text,
        "sla_seconds": run.sla_seconds,
        "calendar": run.calendar,
        "started_at": run.started_at,
        "at_risk_at": m.at_risk_at,
        "due_at": m.due_at,
        "elapsed_seconds": m.elapsed_seconds,
        "elapsed_text": elapsed_text(m.elapsed_seconds),
        "status": m.status,
        "overdue_seconds": m.overdue_seconds,
        "actionable_at": run.actionable_at,
        "claimed_elapsed_seconds": calendar_for(run.calendar).elapsed_seconds(run.started_at, now),
        "_order": (m.elapsed_seconds - run.sla_seconds, -run.started_at.timestamp()),
    }


def breaches(
    session: Session,
    principal: Principal,
    *,
    unit: str | None = None,
    only: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Running runs at risk or breached, most overdue first.

    Wall-clock runs are selected, counted and ordered in SQL by their stored 75% and due
    instants. Working-day runs need the calendar, so only the running ones are measured in
    Python; the two sorted lists are then merged for the page.
    """
    now = now or clock.now()
    scope_unit = resolve_unit(session, principal, unit)
    due: Any = StepRun.due_at
    at_risk_at: Any = StepRun.at_risk_at
    wall = _running_query(scope_unit).where(col(StepRun.calendar) == WALL)
    if only == RunStatus.breached:
        wall = wall.where(due < now)
    elif only == RunStatus.at_risk:
        wall = wall.where(at_risk_at <= now, due >= now)
    else:
        wall = wall.where(at_risk_at <= now)
    wall_total = session.execute(select(func.count()).select_from(wall.subquery())).scalar_one()
    wall_rows = session.execute(
        wall.order_by(due.asc(), StepRun.started_at.desc()).limit(offset + limit)  # type: ignore[attr-defined]
    ).all()
    items = []
    for run, register_number, run_unit in wall_rows:
        m = measure_run(run, now)
        items.append(_breach_item(run, register_number, run_unit, m, now))
    other_total = 0
    others = session.execute(_running_query(scope_unit).where(col(StepRun.calendar) != WALL)).all()
    for run, register_number, run_unit in others:
        m = measure_run(run, now)
        if m.status not in (RunStatus.at_risk, RunStatus.breached):
            continue
        if only is not None and m.status != only:
            continue
        other_total += 1
        items.append(_breach_item(run, register_number, run_unit, m, now))
    items.sort(key=lambda item: item["_order"], reverse=True)
    page = items[offset : offset + limit]
    # A run waiting on a post nobody holds or acts in stalls until a Plt is named: say so.
    vacant = vacant_posts(session, {item["unit"]["id"] for item in page}, now)
    for item in page:
        item.pop("_order")
        item["post_vacant"] = (item["unit"]["id"], item["role"]) in vacant
    return {
        "as_of": now,
        "items": page,
        "total": wall_total + other_total,
        "limit": limit,
        "offset": offset,
    }


# --- CSV -----------------------------------------------------------------------------------


def _wib(value: datetime | None) -> str:
    # People read these files: WIB wall time, still with its offset.
    return "" if value is None else clock.as_utc(value).astimezone(clock.WIB).isoformat()


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


SUMMARY_COLUMNS = [
    "unit_code",
    "unit_name",
    "sop_version",
    "step",
    "step_code",
    "runs",
    "completed",
    "on_time",
    "late",
    "running",
    "cancelled",
    "on_time_by_claimed",
    "on_time_by_recorded",
    "breach_announced",
    "backdated",
    "on_time_rate",
    "median_elapsed_seconds",
    "p90_elapsed_seconds",
    "max_elapsed_seconds",
]


def summary_csv(report: dict[str, Any]) -> str:
    """One line per step over the whole scope, then one per unit and step (city-wide)."""
    rows = []
    for entry in [*report["by_step"], *report["by_unit"]]:
        unit = entry["unit"]
        rows.append(
            [
                unit["code"] if unit else "",
                unit["name"] if unit else "Semua kecamatan",
                *(("" if entry[c] is None else entry[c]) for c in SUMMARY_COLUMNS[2:]),
            ]
        )
    return _csv(SUMMARY_COLUMNS, rows)


BREACH_COLUMNS = [
    "register_number",
    "unit_code",
    "unit_name",
    "step",
    "attempt",
    "role",
    "status",
    "sla",
    "calendar",
    "started_at",
    "actionable_at",
    "at_risk_at",
    "due_at",
    "elapsed_seconds",
    "elapsed_text",
    "overdue_seconds",
    "claimed_elapsed_seconds",
    "incident_id",
    "run_id",
    "assignee_id",
    "post_vacant",
]


def breaches_csv(page: dict[str, Any]) -> str:
    rows = []
    for item in page["items"]:
        rows.append(
            [
                item["register_number"],
                item["unit"]["code"],
                item["unit"]["name"],
                item["step"],
                item["attempt"],
                item["role"],
                item["status"],
                item["sla"],
                item["calendar"],
                _wib(item["started_at"]),
                _wib(item["actionable_at"]),
                _wib(item["at_risk_at"]),
                _wib(item["due_at"]),
                item["elapsed_seconds"],
                item["elapsed_text"],
                item["overdue_seconds"],
                item["claimed_elapsed_seconds"],
                item["incident_id"],
                item["run_id"],
                item["assignee_id"] or "",
                "true" if item["post_vacant"] else "false",
            ]
        )
    return _csv(BREACH_COLUMNS, rows)


# --- the non-working-day calendar ----------------------------------------------------------


def calendar_year(year: int) -> dict[str, Any]:
    days = calendars.working_day_calendar().days_of_year(year)
    return {
        "year": year,
        "days": [
            {
                "date": d.date,
                "name": d.name,
                "kind": d.kind,
                "source": d.source,
                "working": d.working,
                "overridden": d.overridden,
            }
            for d in days
        ],
    }


def put_override(
    session: Session, principal: Principal, day: date, body: CalendarDayPut
) -> tuple[dict[str, Any], bool]:
    """Create or replace the override of `day`; returns the entry and whether it is new."""
    row = session.get(NonWorkingDay, day)
    created = row is None
    if row is None:
        row = NonWorkingDay(date=day, name=body.name, kind=body.kind.value, source=body.source)
    row.name, row.kind, row.source, row.working = (
        body.name,
        body.kind.value,
        body.source,
        body.working,
    )
    row.updated_by = principal.id
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    mark_overrides_changed(session)
    entry = {
        "date": day,
        "name": row.name,
        "kind": DayKind(row.kind),
        "source": row.source,
        "working": row.working,
        "overridden": True,
    }
    return entry, created


def delete_override(session: Session, day: date) -> None:
    row = session.get(NonWorkingDay, day)
    if row is None:
        raise NotFound(f"No override for {day.isoformat()}")
    session.delete(row)
    session.flush()
    mark_overrides_changed(session)
