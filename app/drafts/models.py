"""Drafts (konsep): the draft Surat Perintah and the draft report."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class DraftKind(StrEnum):
    order = "order"
    report = "report"


class DraftStatus(StrEnum):
    editing = "editing"  # with its author; PATCH allowed
    submitted = "submitted"  # in verification
    returned = "returned"  # sent back with a note; the next PATCH makes a new version
    approved = "approved"  # fully verified (order) / accepted as Laporan Pelaksanaan (report)
    validated = "validated"  # the order draft became the numbered Surat Perintah; frozen


class Draft(SQLModel, table=True):
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("incident_id", "kind", name="uq_drafts_incident_kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    unit_id: int = Field(foreign_key="units.id")
    kind: str = Field(sa_type=String(8))
    status: str = Field(default=DraftStatus.editing, sa_type=String(16))
    stage: str | None = Field(default=None, max_length=16)
    current_version: int = 1
    author_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    version: int = 1


class DraftVersion(SQLModel, table=True):
    __tablename__ = "draft_versions"
    __table_args__ = (UniqueConstraint("draft_id", "number", name="uq_draft_versions_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    draft_id: uuid.UUID = Field(foreign_key="drafts.id")
    number: int
    content: dict[str, Any] = Field(sa_type=JSONDoc)
    content_sha256: str = Field(max_length=64)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    submitted_at: datetime | None = utc_field(nullable=True)
