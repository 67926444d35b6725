"""Write events to the outbox in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from app.audit.service import to_jsonable
from app.core import clock
from app.outbox.models import OutboxEvent

EVENT_TYPES = (
    "incident.created",
    "step.completed",
    "draft.returned",
    "order.validated",
    "field_report.submitted",
    "sla.at_risk",
    "sla.breached",
    "incident.archived",
    "incident.cancelled",
)


def event_row(
    event_type: str,
    data: dict[str, Any],
    *,
    incident_id: uuid.UUID | None = None,
    unit_id: int | None = None,
) -> dict[str, Any]:
    if event_type not in EVENT_TYPES:
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
