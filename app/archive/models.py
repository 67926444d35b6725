"""The immutable archive record of an incident, with a hashed manifest."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class ArchiveRecord(SQLModel, table=True):
    __tablename__ = "archive_records"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", unique=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    archive_number: str = Field(max_length=80, unique=True)
    classification_code: str = Field(max_length=32, index=True)
    retention_years: int
    security_class: str = Field(max_length=16)
    title: str = Field(max_length=300)
    description: str = Field(max_length=4000)
    creator: str = Field(max_length=200)
    period_start: datetime = utc_field()
    period_end: datetime = utc_field()
    note: str | None = Field(default=None, max_length=4000)
    manifest: list[dict[str, Any]] = Field(sa_type=JSONDoc)
    manifest_sha256: str = Field(max_length=64)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field(index=True)
