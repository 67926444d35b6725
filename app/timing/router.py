"""Step timing: an incident's timeline, SLA reports and the non-working-day calendar."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core import clock
from app.core.db import SessionDep
from app.core.http import READ, Limit, Offset, page_limit, problems
from app.core.routing import OneHopRoute
from app.core.schemas import AwareDatetime
from app.sop.definition import MAX_STEPS
from app.timing import schemas, service

router = APIRouter(route_class=OneHopRoute, tags=["timing"])

SlaReader = Annotated[Principal, require(Scope.sla_read)]
CalendarAdmin = Annotated[Principal, require(Scope.calendar_admin)]

CSV = "text/csv"
_CSV_CONTENT = {CSV: {"schema": {"type": "string"}}}
AcceptHeader = Annotated[
    str | None, Header(description="Send `text/csv` for a CSV file instead of JSON")
]


def wants_csv(accept: str | None) -> bool:
    """True when the client prefers text/csv over JSON (by order and q-value)."""
    if not accept:
        return False
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() in (CSV, "application/json") and quality > 0:
            candidate = (quality, -position, media.lower())
            if best is None or candidate > best:
                best = candidate
    return best is not None and best[2] == CSV


FormatQuery = Annotated[
    schemas.ReportFormat | None,
    Query(
        alias="format",
        description="`csv` for a CSV file (text/csv), `json` for JSON; left out, the Accept "
        "header decides (JSON unless it prefers text/csv)",
    ),
]


def as_csv(requested: str | None, accept: str | None) -> bool:
    """?format= when given, else the Accept header."""
    return requested == "csv" if requested is not None else wants_csv(accept)


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/incidents/{incident_id}/timeline",
    response_model=schemas.Timeline,
    operation_id="timing_timeline",
    summary="Every run of the incident's steps against its time standard",
    description="Runs in start order (a correction loop adds attempt 2, 3… of a step). "
    "A running run shows the time used so far and `at_risk` (75% of the SLA used) or "
    "`breached` (past the SLA). Another kecamatan's incident is 404.",
    responses=READ,
)
def get_timeline(
    incident_id: uuid.UUID, session: SessionDep, principal: SlaReader
) -> dict[str, Any]:
    return service.timeline(session, principal, incident_id)


SummaryUnit = Annotated[str | None, Query(description="Kecamatan code or slug")]
StartedFrom = Annotated[AwareDatetime | None, Query(alias="from")]
StartedTo = Annotated[AwareDatetime | None, Query(alias="to")]
StepQuery = Annotated[int | None, Query(ge=1, le=MAX_STEPS)]
SopVersionQuery = Annotated[
    str | None, Query(max_length=32, description="Only runs of this SOP version")
]
BreachStatusQuery = Annotated[schemas.BreachStatus | None, Query(alias="status")]
SUMMARY_DESCRIPTION = (
    "Runs started in [from, to). City-wide callers get every kecamatan, also broken down per "
    "kecamatan, and may limit to one with `unit`. Kecamatan roles always see their own "
    "kecamatan; naming another is 403 `forbidden-unit`."
)
BREACHES_DESCRIPTION = (
    "Kecamatan roles see their own kecamatan; naming another is 403 `forbidden-unit`."
)
# A generated client reads one type per answer: the CSV files are also operations of their
# own, answering only text/csv, beside ?format=csv on the JSON ones.
CSV_ONLY = {200: {"content": _CSV_CONTENT, "description": "The CSV file"}, **READ}


@router.get(
    "/sla/summary",
    response_model=schemas.SlaSummary,
    operation_id="sla_summary",
    summary="Per-step SLA figures: on-time rate, median, p90 and worst elapsed time",
    description=SUMMARY_DESCRIPTION + " `?format=csv` (or `Accept: text/csv`) answers CSV, "
    "as `GET /api/v1/sla/summary.csv` does.",
    responses={200: {"content": _CSV_CONTENT}, **READ},
)
def get_summary(
    session: SessionDep,
    principal: SlaReader,
    unit: SummaryUnit = None,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    step: StepQuery = None,
    sop_version: SopVersionQuery = None,
    output: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Any:
    report = service.summary(
        session,
        principal,
        unit=unit,
        started_from=started_from,
        started_to=started_to,
        step=step,
        sop_version=sop_version,
    )
    if as_csv(output, accept):
        return _csv_response(service.summary_csv(report), "sla-summary.csv")
    return report


@router.get(
    "/sla/summary.csv",
    operation_id="sla_summary_csv",
    summary="The per-step SLA figures as a CSV file",
    description=SUMMARY_DESCRIPTION,
    response_class=Response,
    responses=CSV_ONLY,
)
def get_summary_csv(
    session: SessionDep,
    principal: SlaReader,
    unit: SummaryUnit = None,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
    step: StepQuery = None,
    sop_version: SopVersionQuery = None,
) -> Response:
    return get_summary(
        session,
        principal,
        unit,
        started_from,
        started_to,
        step,
        sop_version,
        output=schemas.ReportFormat.csv,
    )


@router.get(
    "/sla/breaches",
    response_model=schemas.BreachPage,
    operation_id="sla_breaches",
    summary="Running steps at risk (75% of the SLA used) or breached, most overdue first",
    description=BREACHES_DESCRIPTION + " `?format=csv` (or `Accept: text/csv`) answers CSV, "
    "as `GET /api/v1/sla/breaches.csv` does.",
    responses={200: {"content": _CSV_CONTENT}, **READ},
)
def get_breaches(
    session: SessionDep,
    principal: SlaReader,
    unit: SummaryUnit = None,
    status_: BreachStatusQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
    output: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Any:
    page = service.breaches(
        session, principal, unit=unit, only=status_, limit=page_limit(limit), offset=offset
    )
    if as_csv(output, accept):
        return _csv_response(service.breaches_csv(page), "sla-breaches.csv")
    return page


@router.get(
    "/sla/breaches.csv",
    operation_id="sla_breaches_csv",
    summary="The steps at risk or breached as a CSV file",
    description=BREACHES_DESCRIPTION,
    response_class=Response,
    responses=CSV_ONLY,
)
def get_breaches_csv(
    session: SessionDep,
    principal: SlaReader,
    unit: SummaryUnit = None,
    status_: BreachStatusQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    return get_breaches(
        session, principal, unit, status_, limit, offset, output=schemas.ReportFormat.csv
    )


@router.get(
    "/calendar/non-working-days",
    response_model=schemas.CalendarYear,
    operation_id="calendar_non_working_days_list",
    summary="National holidays, cuti bersama and local overrides of one year",
    description="Working days are Monday to Friday (WIB) minus these days; day-based SLAs "
    "count only working days. Entries with `working: true` are overrides that make a day "
    "a working day.",
    responses=problems(401, 403, 422),
)
def list_non_working_days(
    principal: SlaReader,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    return service.calendar_year(year or clock.now().astimezone(clock.WIB).year)


@router.put(
    "/calendar/non-working-days/{day}",
    response_model=schemas.CalendarDayPublic,
    operation_id="calendar_non_working_days_put",
    summary="Add or replace a local override of one date",
    description="`working: false` makes the date a non-working day (e.g. a regional holiday "
    "by Perwal); `working: true` makes it a working day even if the national list has it. "
    "201 when the override is new, 200 when replaced. Takes effect at once in this process "
    "and within a minute in the others.",
    responses={
        201: {"model": schemas.CalendarDayPublic, "description": "Override created"},
        **problems(400, 401, 403, 422),
    },
)
def put_non_working_day(
    day: Annotated[date, Path(description="YYYY-MM-DD")],
    body: schemas.CalendarDayPut,
    session: SessionDep,
    principal: CalendarAdmin,
    response: Response,
) -> dict[str, Any]:
    entry, created = service.put_override(session, principal, day, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return entry


@router.delete(
    "/calendar/non-working-days/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="calendar_non_working_days_delete",
    summary="Remove a local override; the national list applies to the date again",
    responses=problems(401, 403, 404, 422),
)
def delete_non_working_day(
    day: Annotated[date, Path(description="YYYY-MM-DD")],
    session: SessionDep,
    principal: CalendarAdmin,
) -> Response:
    service.delete_override(session, day)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
