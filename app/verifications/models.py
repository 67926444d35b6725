"""Verification decisions on a draft: review, paraf, verify and report review."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class Decision(StrEnum):
    approve = "approve"
    return_ = "return"


class Verification(SQLModel, table=True):
    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_draft", "draft_id", "recorded_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    draft_id: uuid.UUID = Field(foreign_key="drafts.id")
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    draft_version: int
    sop_version: str = Field(max_length=32)
    step: int
    step_code: str = Field(max_length=48)
    stage: str = Field(max_length=16)
    decision: str = Field(sa_type=String(8))
    note: str | None = Field(default=None, max_length=4000)
    actor_id: uuid.UUID = Field(foreign_key="users.id")
    actor_role: str = Field(max_length=16)
    # Set when the stage was taken by a deputy in the post it belongs to (Plh./Plt.).
    acting_as: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()
