"""A delegation's two edges as outbox events, for the fan-out: when it starts, the deputy takes
the post's waiting work; when it ends or is revoked, they lose it. Each edge writes one event
per open incident of the kecamatan, once (the delegation's told columns), and the fan-out tells
each person the difference from what they were told: task.assigned to the deputy at the start,
task.withdrawn at the end. The holder keeps their own work throughout, so is told nothing.

An edge made by a request (a delegation starting now, a revocation) is written in that
request's transaction; an edge that passes with time (a start or an end set in advance) by
the first fan-out pass after it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlmodel import Session, col

from app.delegations.models import Delegation
from app.delegations.posts import effective_end
from app.incidents.models import Incident, IncidentStatus
from app.outbox.models import OutboxEvent
from app.outbox.service import DELEGATION_ENDED, DELEGATION_STARTED, event_row


def untold(moment: datetime) -> Any:
    """The SQL condition that a delegation has an edge passed by `moment` not yet told."""
    return or_(
        and_(col(Delegation.start_told_at).is_(None), col(Delegation.starts_at) <= moment),
        and_(
            col(Delegation.end_told_at).is_(None),
            or_(col(Delegation.ends_at) <= moment, col(Delegation.revoked_at) <= moment),
        ),
    )


def tell(
    session: Session, delegation: Delegation, now: datetime, actor_id: uuid.UUID | None
) -> int:
    """Write the outbox events of the delegation's edges passed by `now` and not yet told, and
    mark them told; returns the number of events. An edge told by someone else meanwhile (a
    concurrent pass) writes nothing. A delegation whose start was never told and whose end
    has passed too changed nobody's work: both edges are marked, and nothing is written."""
    end = effective_end(delegation)
    ended = end is not None and end <= now
    values: dict[str, datetime] = {}
    edge = None
    if delegation.start_told_at is None and delegation.starts_at <= now:
        values["start_told_at"] = now
        edge = None if ended else DELEGATION_STARTED
    if delegation.end_told_at is None and ended:
        values["end_told_at"] = now
        edge = DELEGATION_ENDED if delegation.start_told_at is not None else None
    if not values:
        return 0
    changed = session.execute(
        update(Delegation)
        .where(
            col(Delegation.id) == delegation.id,
            *(col(getattr(Delegation, name)).is_(None) for name in values),
        )
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1 or edge is None:  # type: ignore[attr-defined]
        return 0
    incidents = session.execute(
        select(Incident.id).where(  # type: ignore[call-overload]
            col(Incident.unit_id) == delegation.unit_id,
            col(Incident.status) == IncidentStatus.active,
        )
    ).scalars()
    data = {
        "delegation_id": str(delegation.id),
        "unit_id": delegation.unit_id,
        "position": delegation.position,
        "kind": delegation.kind,
    }
    rows = [
        event_row(
            edge,
            {"incident_id": str(incident_id), **data},
            incident_id=incident_id,
            unit_id=delegation.unit_id,
            actor_id=actor_id,
        )
        for incident_id in incidents
    ]
    if rows:
        session.execute(insert(OutboxEvent), rows)
    return len(rows)


def tell_due(session: Session, now: datetime) -> int:
    """Tell every edge passed by `now` and not yet told (the fan-out's sweep)."""
    due = session.execute(select(Delegation).where(untold(now))).scalars().all()
    return sum(tell(session, delegation, now, None) for delegation in due)
