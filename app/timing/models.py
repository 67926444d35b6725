"""Step runs: one row per run of a step, measured against its SLA."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime, utc_field
from app.timing.calendars import at_risk_default


class RunStatus(StrEnum):
    running = "running"
    on_time = "on_time"
    late = "late"
    cancelled = "cancelled"  # the incident was cancelled while the step ran; not measured
    # Derived at read time for running runs:
    at_risk = "at_risk"
    breached = "breached"


class StepRun(SQLModel, table=True):
    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("incident_id", "step", "attempt", name="uq_step_runs_attempt"),
        Index("ix_step_runs_status_due", "status", "due_at"),
        Index("ix_step_runs_unit_step_completed", "unit_id", "step", "completed_at"),
        Index("ix_step_runs_status_at_risk", "status", "at_risk_at"),
        # SLA summaries read a window of runs by start time, city-wide or per kecamatan.
        Index("ix_step_runs_started", "started_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id")
    unit_id: int = Field(foreign_key="units.id")
    # The SOP version the incident runs under and the step's code in it: step numbers of two
    # versions are different steps.
    sop_version: str = Field(max_length=32)
    step: int
    step_code: str = Field(max_length=48)
    attempt: int = 1
    role: str = Field(max_length=16)
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    sla_text: str = Field(max_length=16)
    sla_seconds: int
    calendar: str = Field(max_length=16)
    # Two clocks. `started_at` and `completed_at` are the claimed times (the real sequence of
    # field events: a run starts when the step before it claims to have completed). The run
    # became actionable when the service recorded that completion (`actionable_at`; the first
    # step: reported_at) and completed when its own action was recorded
    # (`recorded_completed_at`). The time standard is judged from `actionable_at`, so nobody
    # is blamed for the time the step before them backdated.
    started_at: datetime = utc_field()
    actionable_at: datetime = utc_field()
    due_at: datetime = utc_field()
    completed_at: datetime | None = utc_field(nullable=True)
    recorded_completed_at: datetime | None = utc_field(nullable=True)
    # Official: from actionable_at to the claimed completion. The others: claimed start to
    # claimed end, and recorded start to recorded end.
    elapsed_seconds: int | None = None
    claimed_elapsed_seconds: int | None = None
    recorded_elapsed_seconds: int | None = None
    # The official status: late when the official elapsed time exceeds the standard, or when
    # a breach was announced for the run (sla.breached), whatever the completion claims.
    status: str = Field(default=RunStatus.running, sa_type=String(16))
    # The completion was claimed further back than the step's backdating.reason_after.
    backdated: bool = False
    backdated_reason: str | None = Field(default=None, max_length=500)
    # When 75% of the SLA is used from actionable_at, by the run's calendar: filled in on
    # insert when not given, so reports and the escalation worker compare it in SQL for
    # wall-clock runs.
    at_risk_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, default=at_risk_default)
    )
    at_risk_event_at: datetime | None = utc_field(nullable=True)
    breached_event_at: datetime | None = utc_field(nullable=True)
