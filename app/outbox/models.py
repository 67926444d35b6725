"""Transactional outbox: events written with the action that caused them, delivered later."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "published_at", "created_at"),
        Index("ix_outbox_events_unnotified", "notified_at", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_type: str = Field(max_length=48)
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incidents.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    payload: dict[str, Any] = Field(sa_type=JSONDoc)
    # The user whose action wrote the event (None: the worker, a service client): they are
    # not notified of what they did themselves. Kept beside the payload, not in it.
    actor_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = utc_field()
    # Set once every subscription has its delivery rows; until then the event is pending.
    published_at: datetime | None = utc_field(nullable=True)
    # Set once the people it concerns have their notification rows (a cursor of its own:
    # webhooks and notifications fan out independently).
    notified_at: datetime | None = utc_field(nullable=True)
