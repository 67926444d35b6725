"""The documents as PDF: issued ones as stored, konsep and field reports rendered on request;
signed copies; the archive bundle; each kecamatan's kop surat."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlmodel import Session

from app.archive.deps import ArchiveRecordDep
from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core import clock
from app.core.db import SessionDep
from app.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from app.core.http import problems
from app.core.routing import OneHopRoute
from app.documents import files, schemas, service
from app.documents.models import DocumentKind, IssuedDocument, Letterhead
from app.documents.render import Rendered
from app.drafts.service import approved_report, load_draft
from app.field_reports import storage
from app.field_reports.deps import FieldReportDep
from app.field_reports.upload import named_for_type, receive_upload, upload_body
from app.incidents.deps import IncidentDep
from app.orders.models import OrderKind
from app.orders.service import load_order
from app.units.models import Unit
from app.users.service import find_unit

router = APIRouter(route_class=OneHopRoute, tags=["documents"])

PDF = "application/pdf"
_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The PDF; the ETag is its SHA-256",
        "content": {PDF: {"schema": {"type": "string", "format": "binary"}}},
    },
    **problems(401, 403, 404, 422),
}


def _headers(filename: str, sha256: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "ETag": f'"{sha256}"',
        "X-Content-Type-Options": "nosniff",
    }


def _issued(document: IssuedDocument | None, prefix: str, missing: str) -> FileResponse:
    if document is None:
        raise files.NoDocument(missing)
    return FileResponse(
        service.stored_path(document),
        media_type=PDF,
        headers=_headers(service.filename_for(prefix, document.number), document.sha256),
    )


def _rendered(rendered: Rendered, filename: str) -> Response:
    return Response(rendered.pdf, media_type=PDF, headers=_headers(filename, rendered.sha256))


@router.get(
    "/orders/{order_id}/document",
    response_class=FileResponse,
    operation_id="orders_document",
    summary="The Surat Perintah as issued (PDF)",
    description="The PDF rendered when the Camat validated the order, byte for byte: the "
    "same on every download, whatever changed since. A Surat Perintah Walikota is issued "
    "outside the kecamatan: its document is the latest scan attached as a signed copy, a "
    "PDF, JPEG or PNG (404 `no-document` until one is).",
    responses={
        **_PDF_RESPONSE,
        200: {
            "description": "The PDF (or a Surat Perintah Walikota's scan); the ETag is its SHA-256",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in (PDF, "image/jpeg", "image/png")
            },
        },
    },
)
def order_document(
    order_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.orders_read)],
) -> Any:
    order = load_order(session, principal, order_id)
    if order.kind == OrderKind.walikota:
        copies = files.signed_copies(session, order)
        if not copies:
            raise files.NoDocument("No scan of this Surat Perintah Walikota has been attached")
        latest = copies[-1]
        return FileResponse(
            storage.path_for(latest.storage_key),
            media_type=latest.content_type,
            headers=_headers(
                named_for_type(
                    service.filename_for("surat-perintah-walikota", order.number).removesuffix(
                        ".pdf"
                    ),
                    latest.content_type,
                ),
                latest.sha256,
            ),
        )
    document = service.issued_for(session, DocumentKind.surat_perintah, order.id)
    return _issued(document, "surat-perintah", "The Surat Perintah has no issued document")


@router.get(
    "/drafts/{draft_id}/versions/{number}/document",
    response_class=Response,
    operation_id="drafts_version_document",
    summary="A konsep of the Surat Perintah (PDF), with its paraf sheet",
    description="Any version of a draft order, rendered on request: the letter's layout "
    "with a diagonal KONSEP watermark, the version number, and a paraf sheet with one row "
    "per verification of that version (stage, name, decision, note, time in WIB). A report "
    "draft has none (404 `no-document`).",
    responses=_PDF_RESPONSE,
)
def draft_version_document(
    draft_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=10_000)],
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.drafts_read)],
) -> Response:
    draft = load_draft(session, principal, draft_id)
    rendered, _ = files.konsep(session, draft, number)
    return _rendered(rendered, f"konsep-surat-perintah-versi-{number}.pdf")


@router.get(
    "/incidents/{incident_id}/report/document",
    response_class=FileResponse,
    operation_id="incidents_report_document",
    summary="The Laporan Pelaksanaan as issued (PDF)",
    description="Rendered when the Kasi Trantib approved the report, with the field "
    "reports' photos as an annex; the same bytes on every download.",
    responses=_PDF_RESPONSE,
    tags=["incidents"],
)
def report_document(
    incident: IncidentDep,
    session: SessionDep,
    _principal: Annotated[Principal, require(Scope.drafts_read)],
) -> Any:
    version = approved_report(session, incident.id)
    document = service.issued_for(session, DocumentKind.laporan_pelaksanaan, version.id)
    return _issued(document, "laporan-pelaksanaan", "The report has no issued document")


@router.get(
    "/field-reports/{report_id}/document",
    response_class=Response,
    operation_id="field_reports_document",
    summary="A Laporan Pelaksanaan Lapangan (PDF)",
    description="One member's field report with its photos, rendered on request.",
    responses=_PDF_RESPONSE,
)
def field_report_document(report: FieldReportDep, session: SessionDep) -> Response:
    rendered = files.field_report(session, report)
    stamp = clock.as_utc(report.recorded_at).astimezone(clock.WIB)
    return _rendered(rendered, f"laporan-pelaksanaan-lapangan-{stamp:%Y%m%d-%H%M}.pdf")


@router.get(
    "/archive-records/{record_id}/document",
    response_class=FileResponse,
    operation_id="archive_records_document",
    summary="The lembar arsip as issued (PDF/A-2b)",
    responses=_PDF_RESPONSE,
    tags=["archive"],
)
def archive_document(record: ArchiveRecordDep, session: SessionDep) -> Any:
    document = service.issued_for(session, DocumentKind.lembar_arsip, record.id)
    return _issued(document, "lembar-arsip", "The archive record has no issued document")


@router.get(
    "/archive-records/{record_id}/bundle",
    response_class=Response,
    operation_id="archive_records_bundle",
    summary="The whole file as one ZIP: every issued PDF, attachment and signed copy",
    description="With manifest.json: the archive record with its hashes, and the SHA-256 "
    "of every file in the ZIP. The ZIP's own SHA-256 is in the `Repr-Digest` header "
    "(RFC 9530, base64) and, as hex, in the ETag.",
    responses={
        200: {
            "description": "The ZIP",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "headers": {
                "Repr-Digest": {
                    "description": "sha-256=:<base64>: of the ZIP",
                    "schema": {"type": "string"},
                }
            },
        },
        **problems(401, 403, 404, 422),
    },
    tags=["archive"],
)
def archive_bundle(record: ArchiveRecordDep, session: SessionDep) -> Response:
    record_json = service.with_document(session, DocumentKind.lembar_arsip, record)
    data = files.bundle(session, record, record_json)
    digest = hashlib.sha256(data)
    name = service.filename_for("berkas-arsip", record.archive_number).removesuffix(".pdf")
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.zip"',
            "ETag": f'"{digest.hexdigest()}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(digest.digest()).decode()}:",
            "X-Content-Type-Options": "nosniff",
        },
    )


_COPY_BODY = upload_body(
    "A PDF, JPEG or PNG; the type is read from the file's first bytes",
    {"method": {"$ref": "#/components/schemas/SignatureMethod"}},
    required=("method",),
)


@router.post(
    "/orders/{order_id}/signed-copies",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.SignedCopyPublic,
    operation_id="orders_signed_copies_create",
    summary="Attach the order as signed outside the service",
    description="After the Camat signs, by BSrE's electronic signature (`tte_bsre`) or by "
    "hand and scanned (`basah`), the signed file is attached to the order; the archive "
    "manifest lists it. The service never signs. A Surat Perintah needs orders:validate, "
    "a Surat Perintah Walikota's scan orders:command. 409 `already-archived` once the "
    "incident is archived.",
    responses=problems(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra={**_COPY_BODY, "x-required-scopes": ["orders:command", "orders:validate"]},
)
async def add_signed_copy(
    order_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.orders_read)],
    response: Response,
) -> Any:
    order = await run_in_threadpool(load_order, session, principal, order_id)
    files.check_copy_allowed(principal, order)
    received = await receive_upload(request, frozenset({"method"}))
    try:
        copy = await run_in_threadpool(files.add_signed_copy, session, principal, order, received)
    finally:
        received.discard()
    response.headers["Location"] = f"/api/v1/orders/{order.id}/signed-copies"
    return copy


@router.get(
    "/orders/{order_id}/signed-copies",
    response_model=list[schemas.SignedCopyPublic],
    operation_id="orders_signed_copies_list",
    summary="The signed copies of an order",
    responses=problems(401, 403, 404, 422),
)
def list_signed_copies(
    order_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.orders_read)],
) -> Any:
    return files.signed_copies(session, load_order(session, principal, order_id))


UnitPath = Annotated[str, Path(max_length=32, examples=["36.71.06", "ciledug"])]


def _unit(session: Session, key: str) -> Unit:
    unit = find_unit(session, key)
    if unit is None:
        raise NotFound(f"No kecamatan {key!r}")
    return unit


def _letterhead(session: Session, unit_key: str) -> dict[str, Any]:
    unit = _unit(session, unit_key)
    row = session.get(Letterhead, unit.id)
    return {
        **service.letterhead(session, unit),
        "unit": unit.code,
        "is_default": row is None,
        "updated_at": row.updated_at if row else None,
    }


@router.get(
    "/units/{unit}/letterhead",
    response_model=schemas.LetterheadPublic,
    operation_id="units_letterhead_get",
    summary="The kecamatan's kop surat",
    responses=problems(401, 403, 404, 422),
    tags=["units"],
)
def get_letterhead(
    unit: UnitPath,
    session: SessionDep,
    _principal: Annotated[Principal, require(Scope.units_read)],
) -> Any:
    return _letterhead(session, unit)


@router.put(
    "/units/{unit}/letterhead",
    response_model=schemas.LetterheadPublic,
    operation_id="units_letterhead_put",
    summary="Set the kecamatan's kop surat",
    description="Printed on every document issued from now on. Documents already issued "
    "keep the kop they were rendered with.",
    responses=problems(400, 401, 403, 404, 422),
    tags=["units"],
)
def put_letterhead(
    unit: UnitPath,
    body: schemas.LetterheadBody,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_admin)],
) -> Any:
    service.set_letterhead(session, _unit(session, unit), body.model_dump(), by=principal.id)
    return _letterhead(session, unit)


_LOGO_BODY = upload_body("PNG or JPEG (decided by its bytes), at most 1 MiB")


@router.put(
    "/units/{unit}/letterhead/logo",
    response_model=schemas.LetterheadPublic,
    operation_id="units_letterhead_logo_put",
    summary="Set the emblem printed in the kecamatan's kop",
    description="A PNG or JPEG (by its bytes: 415 `unsupported-media-type` otherwise), at most "
    "1 MiB (413). Printed on documents issued and rendered from now on; issued ones keep the "
    "emblem they were made with.",
    responses=problems(400, 401, 403, 404, 413, 415, 422),
    tags=["units"],
    openapi_extra=_LOGO_BODY,
)
async def put_logo(
    unit: UnitPath,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_admin)],
) -> Any:
    found = await run_in_threadpool(_unit, session, unit)
    received = await receive_upload(request, frozenset())
    try:
        if received.content_type not in service.PHOTO_EXTENSIONS:
            raise UnsupportedMediaType(
                "The emblem must be a PNG or JPEG image", accepted=sorted(service.PHOTO_EXTENSIONS)
            )
        if received.size > service.LOGO_MAX_BYTES:
            raise PayloadTooLarge(f"The emblem may be at most {service.LOGO_MAX_BYTES} bytes")
        storage.store(received.path, received.sha256)
    finally:
        received.discard()
    logo = (received.sha256, received.content_type)
    await run_in_threadpool(service.set_logo, session, found, logo, by=principal.id)
    return await run_in_threadpool(_letterhead, session, unit)


@router.delete(
    "/units/{unit}/letterhead/logo",
    response_model=schemas.LetterheadPublic,
    operation_id="units_letterhead_logo_delete",
    summary="Print the placeholder emblem again",
    responses=problems(401, 403, 404, 422),
    tags=["units"],
)
def delete_logo(
    unit: UnitPath,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_admin)],
) -> Any:
    service.set_logo(session, _unit(session, unit), None, by=principal.id)
    return _letterhead(session, unit)
