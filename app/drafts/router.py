"""Drafts: the plan and draft Surat Perintah, the draft report."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status
from sqlalchemy import select

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import ACTION, READ, IfMatch, check_if_match, parse_if_match, set_etag
from app.core.routing import OneHopRoute
from app.documents import service as documents
from app.documents.models import DocumentKind
from app.drafts import schemas, service
from app.drafts.models import Draft, DraftStatus
from app.incidents.deps import IncidentDep
from app.incidents.schemas import with_incident
from app.incidents.service import answer

router = APIRouter(route_class=OneHopRoute, tags=["drafts"])


def _answer(session: SessionDep, draft: Draft, response: Response) -> dict[str, Any]:
    set_etag(response, draft.version)
    return service.to_public(session, draft)


def _acted(
    session: SessionDep, principal: Principal, draft: Draft, response: Response
) -> dict[str, Any]:
    """A draft action's answer: the draft (its ETag is the draft's version) and the incident."""
    return answer(session, principal, _answer(session, draft, response))


@router.post(
    "/incidents/{incident_id}/drafts",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.DraftPublic),
    operation_id="drafts_create",
    summary="The Danru writes the draft Surat Perintah or the draft report",
    responses=ACTION,
)
def create_draft(
    incident_id: uuid.UUID,
    body: Annotated[
        schemas.DraftCreate, Body(openapi_examples=schemas.DRAFT_EXAMPLES, title="DraftCreate")
    ],
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.drafts_write)],
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    draft = service.create(session, principal, incident_id, body, parse_if_match(if_match))
    response.headers["Location"] = f"/api/v1/drafts/{draft.id}"
    return _acted(session, principal, draft, response)


@router.get(
    "/incidents/{incident_id}/drafts",
    response_model=list[schemas.DraftPublic],
    operation_id="drafts_list",
    summary="The drafts of an incident",
    responses=READ,
)
def list_drafts(
    incident: IncidentDep,
    session: SessionDep,
    _principal: Annotated[Principal, require(Scope.drafts_read)],
) -> list[dict[str, Any]]:
    drafts = session.execute(
        select(Draft).where(Draft.incident_id == incident.id).order_by(Draft.created_at)  # type: ignore[arg-type]
    ).scalars()
    return [service.to_public(session, d) for d in drafts]


@router.get(
    "/drafts/{draft_id}",
    response_model=schemas.DraftPublic,
    operation_id="drafts_get",
    summary="A draft with its current version; the ETag is its version",
    responses=READ,
)
def get_draft(
    draft_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.drafts_read)],
    response: Response,
) -> dict[str, Any]:
    return _answer(session, service.load_draft(session, principal, draft_id), response)


@router.patch(
    "/drafts/{draft_id}",
    response_model=with_incident(schemas.DraftPublic),
    operation_id="drafts_update",
    summary="Revise a draft (its author, until submitted); after a return this makes a new version",
    responses=ACTION,
)
def update_draft(
    draft_id: uuid.UUID,
    body: schemas.DraftUpdate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.drafts_write)],
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    draft = service.load_draft(session, principal, draft_id)
    if draft.status in (DraftStatus.approved, DraftStatus.validated):
        raise service.DraftFrozen(f"The draft is {draft.status}; it can no longer change")
    check_if_match(if_match, draft.version)
    return _acted(session, principal, service.revise(session, principal, draft, body), response)


@router.post(
    "/drafts/{draft_id}/submit",
    response_model=with_incident(schemas.DraftPublic),
    operation_id="drafts_submit",
    summary="Submit a draft for verification (completes the drafting step)",
    responses=ACTION,
)
def submit_draft(
    draft_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.drafts_write)],
    response: Response,
    body: Annotated[schemas.SubmitBody | None, Body()] = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    draft = service.load_draft(session, principal, draft_id)
    check_if_match(if_match, draft.version)
    draft = service.submit(session, principal, draft, body or schemas.SubmitBody())
    return _acted(session, principal, draft, response)


@router.get(
    "/drafts/{draft_id}/versions",
    response_model=schemas.DraftVersionList,
    operation_id="drafts_versions",
    summary="Every version of a draft, oldest first",
    responses=READ,
)
def draft_versions(
    draft_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.drafts_read)],
) -> dict[str, Any]:
    draft = service.load_draft(session, principal, draft_id)
    listed = [v.model_dump() for v in service.versions(session, draft)]
    return {"draft_id": draft.id, "items": listed, "versions": listed}


@router.get(
    "/incidents/{incident_id}/report",
    response_model=schemas.ReportPublic,
    operation_id="incidents_report",
    summary="The Laporan Pelaksanaan: the report draft as its review approved it",
    tags=["incidents"],
    responses=READ,
)
def incident_report(
    incident: IncidentDep,
    session: SessionDep,
    _principal: Annotated[Principal, require(Scope.drafts_read)],
) -> Any:
    version = service.approved_report(session, incident.id)
    return documents.with_document(session, DocumentKind.laporan_pelaksanaan, version)
