"""The escalation worker: records `sla.at_risk` and `sla.breached` once per running step run.

Each loop finds running runs that crossed 75% or 100% of their SLA and have no event yet.
Every event is recorded in a transaction of its own: the incident row is locked first (the
same order the engine uses, so a worker and a user action cannot deadlock), then the run's
event column is set with a conditional UPDATE (`... AND at_risk_event_at IS NULL AND status =
'running'`). Only the transaction whose UPDATE changed the row appends the audit event and the
outbox event, so two workers, or a restart in the middle, never record an event twice.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.audit.service import append_event
from app.core import clock
from app.core.errors import ConcurrentUpdate, NotFound
from app.incidents.models import Incident
from app.outbox.service import enqueue
from app.timing import service
from app.timing.calendars import WALL
from app.timing.models import RunStatus, StepRun

log = logging.getLogger("app.timing.worker")

AT_RISK = "sla.at_risk"
BREACHED = "sla.breached"
# Runs handled per loop; the rest wait for the next loop, most urgent first.
BATCH = 500


@dataclass
class WorkerReport:
    at_risk: int = 0
    breached: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    run_id: uuid.UUID
    incident_id: uuid.UUID
    unit_id: int
    step: int
    attempt: int
    role: str
    assignee_id: uuid.UUID | None
    sla_text: str
    sla_seconds: int
    calendar: str
    started_at: datetime
    due_at: datetime
    at_risk_at: datetime
    elapsed_seconds: int
    at_risk_due: bool
    breached_due: bool


def _candidates(session: Session, now: datetime) -> list[_Candidate]:
    running = col(StepRun.status) == RunStatus.running.value
    at_risk_missing = col(StepRun.at_risk_event_at).is_(None)
    breached_missing = col(StepRun.breached_event_at).is_(None)
    wall = (
        select(StepRun)
        .where(
            running,
            col(StepRun.calendar) == WALL,
            or_(
                at_risk_missing & (col(StepRun.at_risk_at) <= now),
                breached_missing & (col(StepRun.due_at) < now),
            ),
        )
        .order_by(col(StepRun.due_at))
        .limit(BATCH)
    )
    # Working-day runs are measured by the calendar in Python; only running rows are read.
    working = select(StepRun).where(
        running, col(StepRun.calendar) != WALL, or_(at_risk_missing, breached_missing)
    )
    found: list[_Candidate] = []
    for query in (wall, working):
        for run in session.execute(query).scalars():
            m = service.measure(
                calendar=run.calendar,
                started_at=run.actionable_at,
                sla_seconds=run.sla_seconds,
                due_at=run.due_at,
                status=run.status,
                completed_at=None,
                elapsed_seconds=None,
                now=now,
            )
            # A run past its SLA is also past 75%: a worker that was down records both.
            at_risk_due = run.at_risk_event_at is None and m.status in ("at_risk", "breached")
            breached_due = run.breached_event_at is None and m.status == "breached"
            if at_risk_due or breached_due:
                found.append(
                    _Candidate(
                        run.id,
                        run.incident_id,
                        run.unit_id,
                        run.step,
                        run.attempt,
                        run.role,
                        run.assignee_id,
                        run.sla_text,
                        run.sla_seconds,
                        run.calendar,
                        run.started_at,
                        m.due_at,
                        m.at_risk_at,
                        m.elapsed_seconds,
                        at_risk_due,
                        breached_due,
                    )
                )
    return found[:BATCH] if len(found) > BATCH else found


def _event_data(c: _Candidate) -> dict[str, Any]:
    return {
        "run_id": c.run_id,
        "incident_id": c.incident_id,
        "unit_id": c.unit_id,
        "step": c.step,
        "attempt": c.attempt,
        "role": c.role,
        "assignee_id": c.assignee_id,
        "sla": c.sla_text,
        "sla_seconds": c.sla_seconds,
        "calendar": c.calendar,
        "started_at": c.started_at,
        "at_risk_at": c.at_risk_at,
        "due_at": c.due_at,
        "elapsed_seconds": c.elapsed_seconds,
    }


def _record(session: Session, c: _Candidate, action: str, now: datetime) -> bool:
    """Set the run's event column once and write the audit and outbox events with it."""
    column = StepRun.at_risk_event_at if action == AT_RISK else StepRun.breached_event_at
    changed = session.execute(
        update(StepRun)
        .where(
            col(StepRun.id) == c.run_id,
            col(column).is_(None),
            col(StepRun.status) == RunStatus.running.value,
        )
        .values({column: now})
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    crossed_at = c.at_risk_at if action == AT_RISK else c.due_at
    data = {**_event_data(c), "crossed_at": crossed_at}
    append_event(
        session,
        incident_id=c.incident_id,
        action=action,
        step=c.step,
        occurred_at=min(crossed_at, now),
        data=data,
    )
    enqueue(session, action, data, incident_id=c.incident_id, unit_id=c.unit_id)
    return True


def _handle(engine: Engine, c: _Candidate, now: datetime, report: WorkerReport) -> None:
    for action, due in ((AT_RISK, c.at_risk_due), (BREACHED, c.breached_due)):
        if not due:
            continue
        with Session(engine, expire_on_commit=False) as session:
            try:
                # Incident first, then the run: the order every step action takes its locks.
                session.execute(
                    select(col(Incident.id))
                    .where(col(Incident.id) == c.incident_id)
                    .with_for_update()
                ).first()
                if _record(session, c, action, now):
                    session.commit()
                    if action == AT_RISK:
                        report.at_risk += 1
                    else:
                        report.breached += 1
                else:
                    session.rollback()
                    report.skipped += 1
            except (ConcurrentUpdate, NotFound) as exc:
                session.rollback()
                report.errors.append(f"{action} {c.run_id}: {exc.detail}")


def run_once(*, now: datetime | None = None, engine: Engine | None = None) -> WorkerReport:
    """One pass: record every due event. `now` defaults to the service clock."""
    from app.core.db import get_engine

    engine = engine or get_engine()
    now = clock.as_utc(now) if now is not None else clock.now()
    report = WorkerReport()
    with Session(engine) as session:
        candidates = _candidates(session, now)
    for candidate in candidates:
        _handle(engine, candidate, now, report)
    return report


def run_forever(interval_seconds: float, stop: threading.Event | None = None) -> None:
    """Loop until `stop` is set; an error in one pass is logged and the next pass runs."""
    stop = stop or threading.Event()
    log.info("escalation worker started, every %.1f s", interval_seconds)
    while not stop.is_set():
        try:
            report = run_once()
            if report.at_risk or report.breached or report.errors:
                log.info(
                    "recorded %d at-risk and %d breached events (%d skipped, %d errors)",
                    report.at_risk,
                    report.breached,
                    report.skipped,
                    len(report.errors),
                )
            for error in report.errors:
                log.warning("not recorded, retried next pass: %s", error)
        except Exception:
            log.exception("escalation pass failed; retrying next pass")
        stop.wait(interval_seconds)
    log.info("escalation worker stopped")
