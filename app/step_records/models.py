"""Step records: the work of a step that produces no document of its own (a coordination
meeting, a call to Polri), recorded with a note by the step's actor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class StepRecord(SQLModel, table=True):
    __tablename__ = "step_records"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    sop_version: str = Field(max_length=32)
    step: int
    step_code: str = Field(max_length=48)
    note: str = Field(max_length=4000)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    occurred_at: datetime = utc_field()
    recorded_at: datetime = utc_field()
