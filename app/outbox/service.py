"""Write events to the outbox in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from app.audit.service import to_jsonable
from app.core import clock
from app.outbox.models import OutboxEvent

# The channel the API processes listen on (PostgreSQL) to run a notification pass at once.
# Every insert into outbox_events NOTIFYs it, by a trigger (migration 0020): delivered when
# the transaction commits, so nothing uncommitted is told, and a rollback tells nothing.
OUTBOX_CHANNEL = "trantib_outbox"

EVENT_TYPES = (
    "incident.created",
    "step.completed",
    "draft.returned",
    "order.validated",
    "field_report.submitted",
    "stage.passed",
    "sla.at_risk",
    "sla.breached",
    "incident.archived",
    "incident.cancelled",
)
# Events only the notification fan-out reads (a deputy's start and end of a post, one per
# open incident of the kecamatan): no webhook subscription can ask for them.
DELEGATION_STARTED = "delegation.started"
DELEGATION_ENDED = "delegation.ended"
NOTICE_EVENT_TYPES = (DELEGATION_STARTED, DELEGATION_ENDED)


def event_row(
    event_type: str,
    data: dict[str, Any],
    *,
    incident_id: uuid.UUID | None = None,
    unit_id: int | None = None,
    actor_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    if event_type not in EVENT_TYPES and event_type not in NOTICE_EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event_id = uuid.uuid4()
    now = clock.now()
    payload = {
        "id": str(event_id),
        "type": event_type,
        "timestamp": now.isoformat(),
        "data": to_jsonable(data),
    }
    return {
        "id": event_id,
        "event_type": event_type,
        "incident_id": incident_id,
        "unit_id": unit_id,
        "payload": payload,
        "created_at": now,
        "actor_id": actor_id,
    }


def enqueue(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    *,
    incident_id: uuid.UUID | None = None,
    unit_id: int | None = None,
) -> uuid.UUID:
    """Record an event for delivery; it commits or rolls back with the action itself."""
    row = event_row(event_type, data, incident_id=incident_id, unit_id=unit_id)
    session.execute(insert(OutboxEvent).values(**row))
    return row["id"]
