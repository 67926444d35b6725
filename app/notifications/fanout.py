"""The fan-out: outbox events become notification rows, one pass at a time.

A pass runs in one transaction: it takes the fan-out lock (PostgreSQL: a transaction-level
advisory lock; SQLite: the database's one write lock, taken by BEGIN IMMEDIATE), reads the
events not yet notified in order, writes the notifications (INSERT ... ON CONFLICT DO NOTHING
on person, event and kind, so a pass repeated after a crash writes nothing twice), marks the
events notified and commits. Because passes never overlap, notification ids are taken and
committed in order: a reader that has seen id N has seen every row below N, and its cursor
(the stream's Last-Event-ID) never skips a row committed late. On PostgreSQL the pass ends with
NOTIFY (delivered at commit) so that every API process reads the new rows at once.

Events of one incident in a pass are seen against the state at fan-out time: the task
changes are told once, with the last of them as their source, and none of the actors of
those events is told of what they did.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.core import clock
from app.core.db import read_only
from app.delegations import edges
from app.delegations.models import Delegation
from app.incidents.models import Incident
from app.notifications.models import Notification, TaskNotice
from app.notifications.recipients import Kecamatan, Told, event_notices, task_changes
from app.outbox.models import OutboxEvent

log = logging.getLogger("app.notifications.fanout")

# Events read per pass; the rest wait for the next pass, oldest first.
BATCH = 500
# The advisory lock key of the fan-out (any constant unique in this database).
LOCK_KEY = 0x7472616E74696201
# Channel a pass notifies with the highest notification id it wrote.
NOTIFICATIONS_CHANNEL = "trantib_notifications"

_PENDING = (
    select(OutboxEvent)
    .where(col(OutboxEvent.notified_at).is_(None))
    .order_by(col(OutboxEvent.created_at), col(OutboxEvent.id))
    .limit(BATCH)
)
_ANY_PENDING = select(OutboxEvent.id).where(col(OutboxEvent.notified_at).is_(None)).limit(1)  # type: ignore[call-overload]


@dataclass
class FanoutReport:
    events: int = 0
    notifications: int = 0
    last_id: int | None = None


def lock(session: Session) -> None:
    """Take the fan-out lock for the rest of the transaction (SQLite: already held)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def pending(engine: Engine) -> bool:
    """Whether an event waits for its notifications, or a delegation's start or end passed
    untold: a read that takes no write lock."""
    with Session(read_only(engine)) as session:
        if session.execute(_ANY_PENDING).first() is not None:
            return True
        edge = select(Delegation.id).where(edges.untold(clock.now())).limit(1)  # type: ignore[call-overload]
        return session.execute(edge).first() is not None


def _insert(dialect: str) -> Callable[..., Any]:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def run_pass(engine: Engine) -> FanoutReport:
    """One pass over the un-notified events; see the module docstring."""
    report = FanoutReport()
    if not pending(engine):
        return report
    dialect = engine.dialect.name
    insert = _insert(dialect)
    with Session(engine, expire_on_commit=False) as session:
        lock(session)
        now = clock.now()
        edges.tell_due(session, now)
        events = list(session.execute(_PENDING).scalars())
        if not events:
            session.commit()
            return report
        by_incident: dict[uuid.UUID, list[OutboxEvent]] = {}
        for event in events:
            if event.incident_id is not None:
                by_incident.setdefault(event.incident_id, []).append(event)
        rows: list[dict[str, Any]] = []
        people: dict[int, Kecamatan] = {}
        for incident_id, group in by_incident.items():
            incident = session.get(Incident, incident_id)
            if incident is None:
                continue
            if incident.unit_id not in people:
                people[incident.unit_id] = Kecamatan(session, incident.unit_id, now)
            kecamatan = people[incident.unit_id]
            told = {
                t.user_id: t
                for t in session.execute(
                    select(TaskNotice).where(col(TaskNotice.incident_id) == incident_id)
                ).scalars()
            }
            held = [u for u, t in told.items() if t.task is not None]
            for event in group:
                notices = event_notices(session, event, incident, kecamatan, held)
                rows.extend(_rows(event, incident, notices, now))
            # What the incident's tasks became is caused by the last action; whoever acted
            # before it in this pass finished their own task, and is not told it went.
            last = group[-1]
            finished = {e.actor_id for e in group if e.actor_id is not None}
            changes, moved = task_changes(
                session, incident, kecamatan, told, caused_by=last.actor_id, finished=finished
            )
            rows.extend(_rows(last, incident, changes, now))
            if moved:
                statement = insert(TaskNotice).values(
                    [
                        {"incident_id": incident_id, "user_id": u, "task": t, "updated_at": now}
                        for u, t in moved.items()
                    ]
                )
                session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["incident_id", "user_id"],
                        set_={
                            "task": statement.excluded.task,
                            "updated_at": statement.excluded.updated_at,
                        },
                    )
                )
        if rows:
            session.execute(insert(Notification).values(rows).on_conflict_do_nothing())
        session.execute(
            update(OutboxEvent)
            .where(col(OutboxEvent.id).in_([e.id for e in events]))
            .values(notified_at=now)
        )
        report.events = len(events)
        report.notifications = len(rows)
        report.last_id = session.execute(select(func.max(Notification.id))).scalar()
        if dialect == "postgresql" and rows:
            # Delivered when this transaction commits, never before.
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFICATIONS_CHANNEL, "payload": str(report.last_id)},
            )
        session.commit()
    return report


def _rows(
    event: OutboxEvent, incident: Incident, notices: list[Told], now: Any
) -> list[dict[str, Any]]:
    """Notification rows of an event; never to the person whose action caused it."""
    return [
        {
            "user_id": n.user_id,
            "source_event_id": event.id,
            "kind": str(n.kind),
            "incident_id": incident.id,
            "unit_id": incident.unit_id,
            "data": n.data,
            "created_at": now,
        }
        for n in notices
        if n.user_id != event.actor_id
    ]


def run_forever(engine: Engine, interval_seconds: float, stop: threading.Event) -> None:
    """The worker's safety net: a pass every interval, whatever woke (or did not wake) the
    API processes; an error in one pass is logged and the next pass runs."""
    log.info("notification fan-out started, every %.1f s", interval_seconds)
    while not stop.is_set():
        try:
            report = run_pass(engine)
            if report.events:
                log.info(
                    "notifications: %d events told as %d notifications",
                    report.events,
                    report.notifications,
                )
        except Exception:
            log.exception("notification pass failed; retrying next pass")
        stop.wait(interval_seconds)
    log.info("notification fan-out stopped")
