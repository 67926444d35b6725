"""Verification decisions on drafts."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, status
from sqlalchemy import select

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import ACTION, READ, IfMatch, check_if_match
from app.core.routing import OneHopRoute
from app.drafts.service import load_draft
from app.incidents.deps import IncidentDep
from app.incidents.schemas import with_incident
from app.incidents.service import answer
from app.verifications import schemas, service
from app.verifications.models import Verification

router = APIRouter(route_class=OneHopRoute, tags=["verifications"])


@router.post(
    "/drafts/{draft_id}/verifications",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.VerificationPublic),
    operation_id="verifications_create",
    summary="Approve or return a draft at the stage the verifying step is at (e.g. Kasi "
    "Trantib review, Sekcam paraf, Camat verify)",
    description="The stages of each verifying step, and who takes each, are the incident's "
    "SOP definition (`GET /api/v1/sop/versions/{version}`). Stages run in order; a "
    "verification out of order is 409. A return needs a note and sends the incident back to "
    "the step that revises the draft (`correction_returns_to`) as a new attempt. Needs the "
    "scope of the caller's stage: verifications:review, verifications:paraf or "
    "verifications:verify.",
    responses=ACTION,
    openapi_extra={
        "x-required-scopes": ["verifications:review", "verifications:paraf", "verifications:verify"]
    },
)
def create_verification(
    draft_id: uuid.UUID,
    body: schemas.VerificationCreate,
    session: SessionDep,
    principal: Annotated[Principal, require()],
    if_match: IfMatch = None,
) -> Any:
    draft = load_draft(session, principal, draft_id)
    check_if_match(if_match, draft.version)
    return answer(session, principal, service.verify(session, principal, draft, body))


@router.get(
    "/drafts/{draft_id}/verifications",
    response_model=list[schemas.VerificationPublic],
    operation_id="verifications_list_for_draft",
    summary="The verification decisions on a draft, oldest first",
    responses=READ,
)
def draft_verifications(
    draft_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.verifications_read)],
) -> Any:
    return service.for_draft(session, load_draft(session, principal, draft_id))


@router.get(
    "/incidents/{incident_id}/verifications",
    response_model=list[schemas.VerificationPublic],
    operation_id="verifications_list",
    summary="Every verification decision of an incident, oldest first",
    responses=READ,
)
def incident_verifications(
    incident: IncidentDep,
    session: SessionDep,
    _principal: Annotated[Principal, require(Scope.verifications_read)],
) -> Any:
    return list(
        session.execute(
            select(Verification)
            .where(Verification.incident_id == incident.id)  # type: ignore[arg-type]
            .order_by(Verification.recorded_at)  # type: ignore[arg-type]
        ).scalars()
    )
