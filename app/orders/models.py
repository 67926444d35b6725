"""Orders: the Surat Perintah Walikota and the validated Surat Perintah."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class OrderKind(StrEnum):
    walikota = "walikota"
    surat_perintah = "surat_perintah"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "sequence", name="uq_orders_sequence"),
        UniqueConstraint("unit_id", "kind", "number", name="uq_orders_number"),
        Index("ix_orders_incident", "incident_id", "kind"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    unit_id: int = Field(foreign_key="units.id")
    kind: str = Field(sa_type=String(16))
    number: str = Field(max_length=80)
    # Only the Surat Perintah is numbered by the service, per unit and calendar year.
    year: int | None = None
    sequence: int | None = None
    issued_on: date
    issuer: str = Field(max_length=200)
    police_coordination: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    draft_id: uuid.UUID | None = Field(default=None, foreign_key="drafts.id")
    draft_version: int | None = None
    content: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    content_sha256: str = Field(max_length=64)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    # Set when a deputy recorded it in the post's name: the signer's capacity (Plh./Plt.).
    acting_as: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()
    dispatched_to: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    dispatch_note: str | None = Field(default=None, max_length=4000)
    dispatched_at: datetime | None = utc_field(nullable=True)
