"""Field reports (Laporan Pelaksanaan Lapangan), early close, and attachments."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import ACTION, READ, IfMatch, parse_if_match, problems
from app.core.routing import OneHopRoute
from app.field_reports import schemas, service
from app.field_reports.deps import AttachmentDep, FieldReportDep
from app.field_reports.upload import MAGIC, named_for_type, receive_upload, upload_body
from app.incidents.deps import IncidentDep
from app.incidents.schemas import with_incident
from app.incidents.service import answer

router = APIRouter(route_class=OneHopRoute, tags=["field-reports"])

ReadPrincipal = Annotated[Principal, require(Scope.field_reports_read)]


@router.post(
    "/incidents/{incident_id}/field-reports",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.FieldReportPublic),
    operation_id="field_reports_create",
    summary="A briefed member submits the Laporan Pelaksanaan Lapangan",
    description="One report per briefed member (a second one is 409). The step completes, and "
    "the Danru's report drafting starts, when every briefed member has reported.",
    responses=ACTION,
)
def create_field_report(
    incident_id: uuid.UUID,
    body: schemas.FieldReportCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.field_reports_write)],
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    report = service.create(session, principal, incident_id, body, parse_if_match(if_match))
    response.headers["Location"] = f"/api/v1/field-reports/{report.id}"
    return answer(session, principal, service.to_public(report))


@router.get(
    "/incidents/{incident_id}/field-reports",
    response_model=list[schemas.FieldReportPublic],
    operation_id="field_reports_list",
    summary="The field reports of an incident, in the order they were recorded",
    responses=READ,
)
def list_field_reports(
    incident: IncidentDep, session: SessionDep, _principal: ReadPrincipal
) -> list[dict[str, Any]]:
    return [service.to_public(r) for r in service.list_for(session, incident)]


@router.post(
    "/incidents/{incident_id}/field-work/close",
    response_model=with_incident(schemas.FieldWorkClosed),
    operation_id="field_work_close",
    summary="The Danru closes the field work before every member has reported",
    description="Moves the incident on to the report drafting with a reason; the members "
    "who had not reported are named in the answer and in the audit trail.",
    responses=ACTION,
)
def close_field_work(
    incident_id: uuid.UUID,
    body: schemas.FieldWorkClose,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.field_work_close)],
    if_match: IfMatch = None,
) -> dict[str, Any]:
    seen = parse_if_match(if_match)
    closed = service.close_field_work(session, principal, incident_id, body, seen)
    return answer(session, principal, closed)


@router.get(
    "/field-reports/{report_id}",
    response_model=schemas.FieldReportPublic,
    operation_id="field_reports_get",
    summary="A field report",
    responses=READ,
)
def get_field_report(report: FieldReportDep) -> dict[str, Any]:
    return service.to_public(report)


_UPLOAD_BODY = upload_body(
    "A JPEG, PNG or PDF; the type is read from the file's first bytes",
    {"caption": {"type": "string", "maxLength": service.CAPTION_MAX}},
)


@router.post(
    "/field-reports/{report_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.AttachmentPublic,
    operation_id="attachments_create",
    summary="Attach a photo or PDF to one's own field report",
    description="Only the report's author, while the incident is active (409 once it is "
    "closed or cancelled). JPEG, PNG and PDF are accepted by their magic bytes (415 "
    "otherwise), up to the configured size (413). A report holds a configured number of "
    "attachments; one more is 409 (`attachment-limit`). Not a step transition; the upload is "
    "recorded in the incident's audit trail.",
    responses=problems(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra=_UPLOAD_BODY,
)
async def upload_attachment(
    report_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.field_reports_write)],
    response: Response,
) -> Any:
    await run_in_threadpool(service.check_attachable, session, principal, report_id)
    # The body has fully arrived before the request was admitted (ConcurrencyLimitMiddleware),
    # so reading it here is quick: the request's one transaction stays open across it.
    received = await receive_upload(request, frozenset({"caption"}))
    try:
        attachment = await run_in_threadpool(
            service.add_attachment, session, principal, report_id, received
        )
    finally:
        received.discard()
    response.headers["Location"] = f"/api/v1/attachments/{attachment.id}/content"
    return attachment


@router.get(
    "/field-reports/{report_id}/attachments",
    response_model=list[schemas.AttachmentPublic],
    operation_id="attachments_list",
    summary="The attachments of a field report",
    responses=READ,
)
def list_attachments(report: FieldReportDep, session: SessionDep) -> Any:
    return service.list_attachments(session, report)


@router.get(
    "/attachments/{attachment_id}/content",
    response_class=FileResponse,
    operation_id="attachments_content",
    summary="Download an attachment with its stored content type",
    responses={
        200: {
            "description": "The file; the ETag is its SHA-256",
            "content": {
                content_type: {"schema": {"type": "string", "format": "binary"}}
                for _, content_type in MAGIC
            },
        },
        **problems(401, 403, 404, 500),
    },
)
def download_attachment(attachment: AttachmentDep) -> FileResponse:
    # Cache-Control is the middleware's no-store, as on every answer: a field report's photos
    # are no more for a shared or a browser cache than its JSON. Names stored before they
    # took their type's extension get it here.
    return FileResponse(
        service.content_path(attachment),
        media_type=attachment.content_type,
        filename=named_for_type(attachment.filename, attachment.content_type),
        headers={"ETag": f'"{attachment.sha256}"', "X-Content-Type-Options": "nosniff"},
    )
