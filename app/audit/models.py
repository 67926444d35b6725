"""The audit trail: one hash chain per incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_audit_events_seq"),
        # Each event names its predecessor's hash; unique, so a chain cannot fork.
        UniqueConstraint("incident_id", "prev_hash", name="uq_audit_events_prev"),
    )

    id: int | None = Field(
        default=None,
        # INTEGER on SQLite so the column is the rowid and autoincrements.
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    seq: int
    action: str = Field(max_length=48)
    # The SOP version and step code (events recorded before they were kept have none).
    sop_version: str | None = Field(default=None, max_length=32)
    step: int | None = None
    step_code: str | None = Field(default=None, max_length=48)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    actor_role: str | None = Field(default=None, max_length=16)
    # The post the actor took the action in when it was not their own (a Plh or Plt).
    acting_as: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    unit_id: int = Field(foreign_key="units.id")
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
