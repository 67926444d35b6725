"""Incidents: register, list, read, escalate, cancel, audit trail; and the task inbox."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import (
    ACTION,
    READ,
    IfMatch,
    Limit,
    Offset,
    page_limit,
    parse_if_match,
    problems,
    set_etag,
)
from app.core.routing import OneHopRoute
from app.core.schemas import AwareDatetime
from app.incidents import schemas, service
from app.incidents.deps import IncidentDep
from app.incidents.models import IncidentKind, IncidentStatus
from app.sop.definition import MAX_STEPS

router = APIRouter(route_class=OneHopRoute, tags=["incidents"])


@router.post(
    "/incidents",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.IncidentPublic,
    operation_id="incidents_create",
    summary="Register an incident under the active SOP version; its first step starts",
    responses=problems(400, 401, 403, 422),
)
def create_incident(
    body: schemas.IncidentCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_write)],
    response: Response,
) -> dict[str, Any]:
    incident = service.create(session, principal, body)
    set_etag(response, incident.version)
    response.headers["Location"] = f"/api/v1/incidents/{incident.id}"
    return service.to_public(session, principal, incident)


@router.get(
    "/incidents",
    response_model=schemas.IncidentPage,
    operation_id="incidents_list",
    summary="List incidents visible to the caller, newest report first",
    responses=READ,
)
def list_incidents(
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_read)],
    status_: Annotated[IncidentStatus | None, Query(alias="status")] = None,
    step: Annotated[int | None, Query(ge=1, le=MAX_STEPS)] = None,
    kind: IncidentKind | None = None,
    unit: Annotated[str | None, Query(description="Kecamatan code or slug")] = None,
    reported_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    reported_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    return service.list_incidents(
        session,
        principal,
        status=status_,
        step=step,
        kind=kind,
        unit=unit,
        reported_from=reported_from,
        reported_to=reported_to,
        limit=page_limit(limit),
        offset=offset,
    )


@router.get(
    "/incidents/{incident_id}",
    response_model=schemas.IncidentPublic,
    operation_id="incidents_get",
    summary="An incident: status, current step, whom it waits on, what the caller may do",
    responses=READ,
)
def get_incident(
    incident: IncidentDep,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_read)],
    response: Response,
) -> dict[str, Any]:
    set_etag(response, incident.version)
    return service.to_public(session, principal, incident)


@router.post(
    "/incidents/{incident_id}/escalations",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.with_incident(schemas.EscalationPublic),
    operation_id="incidents_escalate",
    summary="Change the escalation level (hijau, kuning, merah); kept with its history",
    responses=ACTION,
)
def escalate(
    incident_id: uuid.UUID,
    body: schemas.EscalationCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_write)],
    if_match: IfMatch = None,
) -> Any:
    change = service.escalate(session, principal, incident_id, body, parse_if_match(if_match))
    return service.answer(session, principal, change)


@router.get(
    "/incidents/{incident_id}/escalations",
    response_model=list[schemas.EscalationPublic],
    operation_id="incidents_escalations",
    summary="The escalation history of an incident",
    responses=READ,
)
def escalations(incident: IncidentDep, session: SessionDep) -> Any:
    return service.escalations(session, incident.id)


@router.post(
    "/incidents/{incident_id}/cancel",
    response_model=schemas.IncidentPublic,
    operation_id="incidents_cancel",
    summary="Cancel an incident before field work with a reason",
    responses=ACTION,
)
def cancel(
    incident_id: uuid.UUID,
    body: schemas.CancelBody,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_cancel)],
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    incident = service.cancel(session, principal, incident_id, body, parse_if_match(if_match))
    set_etag(response, incident.version)
    return service.to_public(session, principal, incident)


@router.get(
    "/incidents/{incident_id}/events",
    response_model=schemas.AuditTrail,
    operation_id="incidents_events",
    summary="The audit trail of an incident, with its hash chain verified",
    responses=READ,
)
def events(incident: IncidentDep, session: SessionDep) -> dict[str, Any]:
    return service.audit_trail(session, incident)


@router.get(
    "/tasks",
    response_model=schemas.TaskList,
    operation_id="tasks_list",
    summary="What waits on the caller now, oldest first",
    tags=["tasks"],
    responses=problems(401, 403),
)
def tasks(
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.tasks_read)],
) -> dict[str, Any]:
    return {"items": service.tasks(session, principal)}
