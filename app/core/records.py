"""Reading an incident's record tables (orders, instructions, step records, ...)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import Session


def recorded_for_incident(session: Session, model: Any, incident_id: uuid.UUID) -> list[Any]:
    """The rows of the incident in one record table, in the order they were recorded."""
    return list(
        session.execute(
            select(model)
            .where(model.incident_id == incident_id)
            .order_by(model.recorded_at, model.id)
        ).scalars()
    )
