"""Bodies of the step-timing endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from app.auth.roles import Role
from app.core.schemas import RequestBody, ResponseBody
from app.sop.definition import step_code_field
from app.timing.calendars import DayKind
from app.timing.models import RunStatus


class Calendar(StrEnum):
    """How a time standard is counted: clock time, or working days (WIB, holidays off)."""

    wall = "wall"
    working_days = "working_days"


class BreachStatus(StrEnum):
    """A running step near its due time (at_risk) or past it (breached)."""

    at_risk = "at_risk"
    breached = "breached"


class OnTimeStatus(StrEnum):
    """Whether a completed run met its time standard."""

    on_time = "on_time"
    late = "late"


class ReportFormat(StrEnum):
    """The form of a report: JSON or a CSV file."""

    json = "json"
    csv = "csv"


class RunTiming(ResponseBody):
    """One run of one step, measured by its calendar."""

    id: uuid.UUID
    step: int
    step_code: str = step_code_field()
    attempt: int
    role: Role = Field(description="The role the step's run waits on")
    assignee_id: uuid.UUID | None
    sla: str = Field(description='The time standard as the SOP writes it, e.g. "2 Jam"')
    sla_seconds: int
    calendar: Calendar
    started_at: datetime
    due_at: datetime = Field(
        description="For a running working-day run, recomputed with today's calendar"
    )
    completed_at: datetime | None
    elapsed_seconds: int = Field(
        description="By the run's calendar; for a running run, the time used so far"
    )
    elapsed_text: str = Field(description='In Indonesian, e.g. "1 jam 12 menit"')
    status: RunStatus
    overdue_seconds: int = Field(description="0 unless the SLA is exceeded")
    actionable_at: datetime = Field(
        description="When the service let the step's actor act: the recorded completion of "
        "the step before (the first step: reported_at). The time standard runs from here"
    )
    recorded_completed_at: datetime | None = Field(
        description="When the completing action was recorded (completed_at is the claim)"
    )
    claimed_elapsed_seconds: int = Field(description="From started_at to completed_at (claimed)")
    claimed_status: OnTimeStatus | None = Field(
        description="By the claimed times; null while running or when cancelled"
    )
    recorded_elapsed_seconds: int = Field(
        description="From actionable_at to recorded_completed_at (or now)"
    )
    recorded_status: OnTimeStatus | None
    at_risk_announced_at: datetime | None = Field(description="When sla.at_risk was announced")
    breach_announced_at: datetime | None = Field(
        description="When sla.breached was announced; such a run is late whatever is claimed"
    )
    backdated: bool = Field(
        description="The completion was claimed further back than the step's "
        "backdating.reason_after"
    )
    backdated_reason: str | None


class StatusCounts(ResponseBody):
    on_time: int = 0
    late: int = 0
    running: int = 0
    at_risk: int = 0
    breached: int = 0
    cancelled: int = 0


class TimelineTotals(ResponseBody):
    started_at: datetime | None
    ended_at: datetime | None = Field(description="Last completion; null while a step runs")
    elapsed_seconds: int = Field(
        description="Clock time from the first start to the last completion, or to now"
    )
    elapsed_text: str
    sla_seconds: int = Field(description="Sum of the SLAs of every run")
    statuses: StatusCounts


class Timeline(ResponseBody):
    incident_id: uuid.UUID
    as_of: datetime
    runs: list[RunTiming]
    totals: TimelineTotals


class UnitRef(ResponseBody):
    id: int
    code: str
    name: str


class StepStats(ResponseBody):
    unit: UnitRef | None = Field(description="Null on rows that cover every unit in scope")
    sop_version: str = Field(description="The SOP version the runs' incidents run under")
    step: int
    step_code: str = step_code_field()
    runs: int
    completed: int
    on_time: int
    late: int
    running: int
    cancelled: int
    on_time_by_claimed: int = Field(
        description="Completed runs on time by their claimed start and completion"
    )
    on_time_by_recorded: int = Field(
        description="Completed runs on time by when they became actionable and when their "
        "completion was recorded"
    )
    breach_announced: int = Field(
        description="Completed runs for which sla.breached was announced (all of them late)"
    )
    backdated: int = Field(description="Completed runs whose completion was claimed backdated")
    on_time_rate: float | None = Field(
        description="on_time / completed, by the official measure: from when the run was "
        "actionable to its claimed completion, and never on time once a breach was announced; "
        "null when none"
    )
    median_elapsed_seconds: float | None
    p90_elapsed_seconds: float | None
    max_elapsed_seconds: int | None


class SummaryScope(ResponseBody):
    unit: UnitRef | None
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    step: int | None
    sop_version: str | None


class SlaSummary(ResponseBody):
    scope: SummaryScope
    by_step: list[StepStats] = Field(description="Per step over every unit in scope")
    by_unit: list[StepStats] = Field(
        description="Per unit and step; city-wide callers only (empty for kecamatan roles)"
    )


class Breach(ResponseBody):
    run_id: uuid.UUID
    incident_id: uuid.UUID
    register_number: str
    unit: UnitRef
    sop_version: str
    step: int
    step_code: str = step_code_field()
    attempt: int
    role: Role = Field(description="The role the step's run waits on")
    assignee_id: uuid.UUID | None
    sla: str
    sla_seconds: int
    calendar: Calendar
    started_at: datetime
    at_risk_at: datetime
    due_at: datetime
    elapsed_seconds: int
    elapsed_text: str
    status: BreachStatus
    overdue_seconds: int
    actionable_at: datetime = Field(description="The time standard runs from here")
    claimed_elapsed_seconds: int = Field(description="Since the claimed start")
    post_vacant: bool = Field(
        description="The run waits on a post (camat, sekcam, kasi_trantib) that has neither "
        "an active holder nor a Plh/Plt in force: nobody can act until one is named"
    )


class BreachPage(ResponseBody):
    as_of: datetime
    items: list[Breach]
    total: int
    limit: int
    offset: int


class CalendarDayPublic(ResponseBody):
    date: date
    name: str
    kind: DayKind
    source: str
    working: bool = Field(description="True when an override makes a listed day a working day")
    overridden: bool = Field(description="From the local override table, not the national list")


class CalendarYear(ResponseBody):
    year: int
    days: list[CalendarDayPublic]


class CalendarDayPut(RequestBody):
    name: str = Field(min_length=1, max_length=128)
    kind: DayKind
    source: str = Field(
        min_length=1, max_length=256, description="The decree: SKB, Keppres or Perwal number"
    )
    working: bool = Field(
        default=False,
        description="false: the date is not a working day; true: it is one, whatever the "
        "weekday or the national list says",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Cuti bersama Natal",
                    "kind": "cuti_bersama",
                    "source": "SKB 3 Menteri No. 1497 Tahun 2025",
                }
            ]
        }
    }
