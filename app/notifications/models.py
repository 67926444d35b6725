"""Notifications: one row per person told of one outbox event, the source of the live stream,
of GET /notifications and of Web Push; and each user's choice of what goes to their phone."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class NotificationKind(StrEnum):
    """What a person is told. Task kinds follow GET /tasks; the rest follow outbox events."""

    task_assigned = "task.assigned"
    task_withdrawn = "task.withdrawn"
    sla_at_risk = "sla.at_risk"
    sla_breached = "sla.breached"
    draft_returned = "draft.returned"
    incident_cancelled = "incident.cancelled"
    incident_archived = "incident.archived"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        # A fan-out repeated after a crash writes nothing twice. The kind is part of it: one
        # event can tell one person two things (a cancelled incident withdraws their task).
        UniqueConstraint(
            "user_id", "source_event_id", "kind", name="uq_notifications_recipient_event"
        ),
        # A stream resumes with "this user's rows after id N".
        Index("ix_notifications_user_id", "user_id", "id"),
        # SQLite would otherwise give a deleted highest id again: a client or the push cursor
        # that saw it would skip the new row (PostgreSQL's sequence never goes back).
        {"sqlite_autoincrement": True},
    )

    # The stream's event id: ids are taken while the fan-out holds its lock, so a reader
    # that has seen id N has seen every committed row below N.
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    user_id: uuid.UUID = Field(foreign_key="users.id")
    source_event_id: uuid.UUID = Field(foreign_key="outbox_events.id", index=True)
    kind: str = Field(max_length=32)
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incidents.id")
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    # Small and lock-screen safe: register number, step, what is due and when.
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    created_at: datetime = utc_field()
    read_at: datetime | None = utc_field(nullable=True)


class NotificationSettings(SQLModel, table=True):
    """Which kinds a user has turned off for their phones: every kind is pushed unless listed
    here, so a kind added later reaches them too. No quiet hours: riots happen at night."""

    __tablename__ = "notification_settings"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    push_muted: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    updated_at: datetime = utc_field()


class TaskNotice(SQLModel, table=True):
    """What each person was last told about one incident's task: the fan-out compares it with
    who the incident waits on now, and tells the difference (task.assigned, task.withdrawn).
    The actor of a change is not told of it, but their row moves too. Rows stay after the
    task is gone: they are who held a task on the incident, told when it ends."""

    __tablename__ = "task_notices"

    incident_id: uuid.UUID = Field(foreign_key="incidents.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    # The open task as "<run id>:<stage>", None once it no longer waits on them.
    task: str | None = Field(default=None, max_length=80)
    updated_at: datetime = utc_field()
