"""Laporan Pelaksanaan Lapangan, one per briefed member, with attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class FieldReport(SQLModel, table=True):
    __tablename__ = "field_reports"
    __table_args__ = (UniqueConstraint("incident_id", "author_id", name="uq_field_reports_author"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    author_id: uuid.UUID = Field(foreign_key="users.id")
    content: dict[str, Any] = Field(sa_type=JSONDoc)
    content_sha256: str = Field(max_length=64)
    situation: str = Field(max_length=16)
    started_at: datetime = utc_field()
    ended_at: datetime = utc_field()
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    field_report_id: uuid.UUID = Field(foreign_key="field_reports.id", index=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=255)
    caption: str | None = Field(default=None, max_length=500)
    uploaded_by: uuid.UUID = Field(foreign_key="users.id")
    recorded_at: datetime = utc_field()
