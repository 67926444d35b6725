"""Briefing (persiapan dan pengarahan) of the members by the dispatched Danru."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.briefings import schemas, service
from app.core.db import SessionDep
from app.core.http import ACTION, READ, IfMatch, parse_if_match
from app.core.routing import OneHopRoute
from app.incidents.deps import IncidentDep
from app.incidents.schemas import with_incident
from app.incidents.service import answer

router = APIRouter(route_class=OneHopRoute, tags=["briefings"])


@router.post(
    "/incidents/{incident_id}/briefings",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.BriefingPublic),
    operation_id="briefings_create",
    summary="Brief the members and declare the kelengkapan; field work starts",
    description="Only the Danru the execution order was given to. Every member must be an "
    "active anggota of the incident's kecamatan (422 names the others); every kelengkapan of "
    "the field work must be declared available (422 names the missing ones).",
    responses=ACTION,
)
def create_briefing(
    incident_id: uuid.UUID,
    body: schemas.BriefingCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.briefings_write)],
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    briefing = service.create(session, principal, incident_id, body, parse_if_match(if_match))
    response.headers["Location"] = f"/api/v1/incidents/{incident_id}/briefings"
    return answer(session, principal, briefing)


@router.get(
    "/incidents/{incident_id}/briefings",
    response_model=list[schemas.BriefingPublic],
    operation_id="briefings_list",
    summary="The briefing of an incident (empty before the briefing is done)",
    responses=READ,
)
def list_briefings(incident: IncidentDep, session: SessionDep) -> Any:
    return service.list_for(session, incident)
