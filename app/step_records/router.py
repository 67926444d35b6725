"""Step records: the work of a step that completes with a note (e.g. coordination with Polri)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, status

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import ACTION, READ, IfMatch, parse_if_match
from app.core.routing import OneHopRoute
from app.incidents.deps import IncidentDep
from app.incidents.schemas import with_incident
from app.incidents.service import answer
from app.step_records import schemas, service

router = APIRouter(route_class=OneHopRoute, tags=["step-records"])


@router.post(
    "/incidents/{incident_id}/step-records",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.StepRecordPublic),
    operation_id="step_records_create",
    summary="Record the work of a step that the SOP version completes with a note",
    description="For steps whose definition lists the action `step_record` (for example a "
    "coordination with Polri added by a revised SOP): the step's actor records what was done "
    "and with whom, which completes the step. Other steps refuse it (409 `wrong-step`).",
    responses=ACTION,
)
def create_step_record(
    incident_id: uuid.UUID,
    body: schemas.StepRecordCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_write)],
    if_match: IfMatch = None,
) -> Any:
    record = service.create(session, principal, incident_id, body, parse_if_match(if_match))
    return answer(session, principal, record)


@router.get(
    "/incidents/{incident_id}/step-records",
    response_model=list[schemas.StepRecordPublic],
    operation_id="step_records_list",
    summary="The step records of an incident",
    responses=READ,
)
def list_step_records(incident: IncidentDep, session: SessionDep) -> Any:
    return service.for_incident(session, incident.id)
