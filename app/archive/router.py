"""Archive records (immutable), their listing and their integrity check."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from app.archive import schemas, service
from app.archive.deps import ArchiveRecordDep
from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import ACTION, READ, IfMatch, Limit, Offset, page_limit, parse_if_match
from app.core.routing import OneHopRoute
from app.core.schemas import AwareDatetime
from app.documents import service as documents
from app.documents.models import DocumentKind
from app.incidents.schemas import with_incident
from app.incidents.service import answer

router = APIRouter(route_class=OneHopRoute, tags=["archive"])

ReadPrincipal = Annotated[Principal, require(Scope.archive_read)]


@router.post(
    "/incidents/{incident_id}/archive-records",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.ArchiveRecordPublic),
    operation_id="archive_records_create",
    summary="Archive the Laporan Pelaksanaan; the incident is closed",
    description="Creates the immutable archive record with a manifest of every document of "
    "the incident and its SHA-256, numbered {classification}/{sequence}/{unit code}/{year} per "
    "kecamatan and year. A second call is 409: the incident is closed.",
    responses=ACTION,
)
def create_archive_record(
    incident_id: uuid.UUID,
    body: schemas.ArchiveCreate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.archive_write)],
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    record = service.create(session, principal, incident_id, body, parse_if_match(if_match))
    response.headers["Location"] = f"/api/v1/archive-records/{record.id}"
    return answer(
        session, principal, documents.with_document(session, DocumentKind.lembar_arsip, record)
    )


@router.get(
    "/archive-records",
    response_model=schemas.ArchiveRecordPage,
    operation_id="archive_records_list",
    summary="Archive records visible to the caller, newest first",
    responses=READ,
)
def list_archive_records(
    session: SessionDep,
    principal: ReadPrincipal,
    unit: Annotated[str | None, Query(max_length=32, description="Kecamatan code or slug")] = None,
    recorded_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="Archived at or after")
    ] = None,
    recorded_to: Annotated[
        AwareDatetime | None, Query(alias="to", description="Archived before")
    ] = None,
    classification: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^\d+(\.\d+)*$",
            description="Kode klasifikasi; also finds its sub-codes",
        ),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    return service.list_records(
        session,
        principal,
        unit=unit,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        classification=classification,
        limit=page_limit(limit),
        offset=offset,
    )


@router.get(
    "/archive-records/{record_id}",
    response_model=schemas.ArchiveRecordPublic,
    operation_id="archive_records_get",
    summary="An archive record with its manifest",
    responses=READ,
)
def get_archive_record(record: ArchiveRecordDep, session: SessionDep) -> Any:
    return documents.with_document(session, DocumentKind.lembar_arsip, record)


@router.post(
    "/archive-records/{record_id}/verify",
    response_model=schemas.VerifyResult,
    operation_id="archive_records_verify",
    summary="Recompute every hash of the record from the documents as stored now",
    description="Answers 200 whether or not the record is intact: `valid` is false and "
    "`mismatches` names each document that changed, disappeared or was added since.",
    responses=READ,
)
def verify_archive_record(record: ArchiveRecordDep, session: SessionDep) -> dict[str, Any]:
    return service.verify(session, record)
