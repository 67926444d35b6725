"""Incidents and the small step documents that live with them (instructions, briefings)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class IncidentKind(StrEnum):
    unjuk_rasa = "unjuk_rasa"
    kerusuhan = "kerusuhan"


class IncidentStatus(StrEnum):
    active = "active"
    closed = "closed"  # its last step (archiving) completed
    cancelled = "cancelled"


class EscalationLevel(StrEnum):
    """Mirrors the police Dalmas situation (Perkap 16/2006)."""

    hijau = "hijau"  # orderly
    kuning = "kuning"  # disorderly
    merah = "merah"  # unlawful


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint(
            "unit_id", "register_year", "register_sequence", name="uq_incidents_register"
        ),
        Index("ix_incidents_unit_status_step", "unit_id", "status", "current_step"),
        Index("ix_incidents_unit_reported", "unit_id", "reported_at"),
        # City-wide windows (pimpinan, service clients without a unit).
        Index("ix_incidents_reported", "reported_at"),
        CheckConstraint(
            "(created_by IS NULL) <> (created_by_client IS NULL)", name="ck_incidents_creator"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    unit_id: int = Field(foreign_key="units.id")
    register_year: int
    register_sequence: int
    register_number: str = Field(max_length=40, unique=True)
    kind: str = Field(sa_type=String(16))
    title: str = Field(max_length=200)
    location: dict[str, Any] = Field(sa_type=JSONDoc)
    occurred_at: datetime | None = utc_field(nullable=True)
    reported_at: datetime = utc_field()
    organizer: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    estimated_crowd: int | None = None
    demands: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    police: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    escalation_level: str = Field(sa_type=String(8))
    notes: str | None = Field(default=None, max_length=4000)
    info_source: str | None = Field(default=None, max_length=32)

    sop_version: str = Field(max_length=32)
    status: str = Field(default=IncidentStatus.active, sa_type=String(16))
    current_step: int | None = 1
    # Sub-stage inside a step (the definition's `stages`, e.g. review → paraf → verify).
    stage: str | None = Field(default=None, max_length=16)
    current_run_id: uuid.UUID | None = None
    assigned_danru_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    dispatched_danru_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    order_draft_id: uuid.UUID | None = None
    report_draft_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    cancel_reason: str | None = Field(default=None, max_length=2000)

    # Head of the incident's audit chain, kept here so an action needs no extra read.
    audit_seq: int = 0
    audit_head: str = Field(default="0" * 64, max_length=64)

    # Who registered it: a user, or a service client (a city system); exactly one of the two.
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_by_client: str | None = Field(
        default=None, foreign_key="service_clients.client_id", max_length=40
    )
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    closed_at: datetime | None = utc_field(nullable=True)
    # Optimistic concurrency: every transition is UPDATE … WHERE version = :seen.
    version: int = 1


class IncidentAssignment(SQLModel, table=True):
    """Who is assigned to an incident: the instructed/dispatched danru and briefed members."""

    __tablename__ = "incident_assignments"
    __table_args__ = (
        UniqueConstraint("incident_id", "user_id", "kind", name="uq_incident_assignments"),
        Index("ix_incident_assignments_user", "user_id", "kind"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    kind: str = Field(max_length=16)  # instructed_danru | dispatched_danru | member
    created_at: datetime = utc_field()


class EscalationChange(SQLModel, table=True):
    __tablename__ = "escalation_changes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    from_level: str | None = Field(default=None, max_length=8)
    to_level: str = Field(max_length=8)
    note: str | None = Field(default=None, max_length=2000)
    changed_by: uuid.UUID = Field(foreign_key="users.id")
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()


class Instruction(SQLModel, table=True):
    """Kasi Trantib instructs the Danru to prepare the plan."""

    __tablename__ = "instructions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    danru_id: uuid.UUID = Field(foreign_key="users.id")
    note: str | None = Field(default=None, max_length=4000)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()


class Briefing(SQLModel, table=True):
    """The Danru prepares and briefs the members (apel), declaring the kelengkapan."""

    __tablename__ = "briefings"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", unique=True)
    members: list[str] = Field(sa_type=JSONDoc)
    equipment: dict[str, Any] = Field(sa_type=JSONDoc)
    note: str | None = Field(default=None, max_length=4000)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()
