"""Instructions from the Kasi Trantib to a Danru."""

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
from app.instructions import schemas, service

router = APIRouter(route_class=OneHopRoute, tags=["instructions"])


@router.post(
    "/incidents/{incident_id}/instructions",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.InstructionPublic),
    operation_id="instructions_create",
    summary="Instruct a Danru to prepare the plan and the draft Surat Perintah",
    responses=ACTION,
)
def create_instruction(
    incident_id: uuid.UUID,
    body: schemas.InstructionCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.instructions_write)],
    if_match: IfMatch = None,
) -> Any:
    instruction = service.instruct(session, principal, incident_id, body, parse_if_match(if_match))
    return answer(session, principal, instruction)


@router.get(
    "/incidents/{incident_id}/instructions",
    response_model=list[schemas.InstructionPublic],
    operation_id="instructions_list",
    summary="The instructions of an incident",
    responses=READ,
)
def list_instructions(incident: IncidentDep, session: SessionDep) -> Any:
    return service.for_incident(session, incident.id)
