"""Documents served as files: konsep and field reports rendered on request, signed copies
attached after the signature, and the archive bundle an auditor takes away."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.archive.models import ArchiveRecord
from app.audit.service import append_event, to_jsonable
from app.auth.deps import Principal
from app.auth.scopes import Scope
from app.core import clock
from app.core.errors import Conflict, InsufficientScope, NotFound, Unprocessable
from app.documents import service
from app.documents.models import DocumentKind, IssuedDocument, SignatureMethod, SignedCopy
from app.documents.render import Rendered, render
from app.drafts.models import Draft, DraftKind, DraftVersion
from app.field_reports import storage
from app.field_reports.models import Attachment, FieldReport
from app.field_reports.upload import ReceivedFile
from app.incidents.models import Incident
from app.orders.models import Order, OrderKind
from app.units.models import Unit
from app.verifications.models import Verification


class NoDocument(NotFound):
    kind, title = "no-document", "There is no such document"


class AlreadyArchived(Conflict):
    kind, title = "already-archived", "The incident is archived; its file takes no more documents"


def _unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    assert unit is not None
    return unit


def konsep(session: Session, draft: Draft, number: int) -> tuple[Rendered, DraftVersion]:
    """A version of a draft order as a konsep: watermarked, unnumbered, with its paraf sheet."""
    if draft.kind != DraftKind.order:
        raise NoDocument("Only a draft Surat Perintah has a konsep to print")
    version = session.execute(
        select(DraftVersion).where(
            col(DraftVersion.draft_id) == draft.id, col(DraftVersion.number) == number
        )
    ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"The draft has no version {number}")
    checks = list(
        session.execute(
            select(Verification)
            .where(
                col(Verification.draft_id) == draft.id,
                col(Verification.draft_version) == number,
            )
            .order_by(col(Verification.recorded_at), col(Verification.id))
        ).scalars()
    )
    data = service.konsep_data(
        session,
        _unit(session, draft.unit_id),
        version.content,
        version=number,
        verifications=checks,
    )
    changed = max([version.updated_at, *(c.recorded_at for c in checks)])
    rendered = render(
        "surat-perintah.typ",
        data,
        created_at=changed,
        pdf_a=False,
        files=service.kop_files(data),
    )
    return rendered, version


def field_report(session: Session, report: FieldReport) -> Rendered:
    incident = session.get(Incident, report.incident_id)
    assert incident is not None
    order = session.get(Order, incident.order_id) if incident.order_id else None
    data, files = service.field_report_data(
        session, _unit(session, incident.unit_id), report, order.number if order else None
    )
    return render(
        service.FIELD_REPORT_TEMPLATE,
        data,
        created_at=report.recorded_at,
        pdf_a=False,
        files={**files, **service.kop_files(data)},
    )


# -- signed copies -----------------------------------------------------------------------------

_COPY_SCOPE = {
    OrderKind.walikota: Scope.orders_command,
    OrderKind.surat_perintah: Scope.orders_validate,
}


def check_copy_allowed(principal: Principal, order: Order) -> None:
    scope = _COPY_SCOPE[OrderKind(order.kind)]
    if not principal.has(scope):
        raise InsufficientScope(
            f"Attaching a signed copy of this order needs the scope {scope}",
            required_scopes=[str(scope)],
        )


def add_signed_copy(
    session: Session, principal: Principal, order: Order, received: ReceivedFile
) -> SignedCopy:
    """Keep a copy signed outside the service (BSrE's TTE, or a scan of the wet signature)."""
    check_copy_allowed(principal, order)
    raw = (received.fields.get("method") or "").strip()
    try:
        method = SignatureMethod(raw)
    except ValueError:
        raise Unprocessable(
            "method must be tte_bsre or basah",
            field="method",
            allowed=[m.value for m in SignatureMethod],
        ) from None
    incident = session.execute(
        select(Incident).where(col(Incident.id) == order.incident_id).with_for_update()
    ).scalar_one()
    archived = session.execute(
        select(col(ArchiveRecord.id)).where(col(ArchiveRecord.incident_id) == incident.id)
    ).first()
    if archived is not None:
        raise AlreadyArchived(
            "The incident is archived: its manifest is fixed and takes no further copies"
        )
    key = storage.store(received.path, received.sha256)
    copy = SignedCopy(
        order_id=order.id,
        incident_id=incident.id,
        method=method,
        filename=received.filename,
        content_type=received.content_type,
        size=received.size,
        sha256=received.sha256,
        storage_key=key,
        uploaded_by=principal.id,
        recorded_at=clock.now(),
    )
    session.add(copy)
    session.flush()
    append_event(
        session,
        incident_id=incident.id,
        action="signed_copy_add",
        step=incident.current_step,
        actor_id=principal.id,
        actor_role=str(principal.role),
        data={"document": copy.model_dump()},
    )
    return copy


def signed_copies(session: Session, order: Order) -> list[SignedCopy]:
    return list(
        session.execute(
            select(SignedCopy)
            .where(col(SignedCopy.order_id) == order.id)
            .order_by(col(SignedCopy.recorded_at), col(SignedCopy.id))
        ).scalars()
    )


# -- the archive bundle ------------------------------------------------------------------------


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = clock.as_utc(moment).astimezone(clock.WIB)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def bundle(session: Session, record: Any, record_json: dict[str, Any]) -> bytes:
    """A ZIP of every issued PDF, every attachment and signed copy, and manifest.json (the
    archive record with its hashes). Entries are in a fixed order with the archiving time,
    so the same record gives the same bytes."""
    when = _zip_time(record.recorded_at)
    entries: list[tuple[str, bytes]] = []
    for doc in service.issued_of_incident(session, record.incident_id):
        prefix = DocumentKind(doc.kind).value.replace("_", "-")
        name = service.filename_for(prefix, doc.number)
        entries.append((f"documents/{name}", service.stored_path(doc).read_bytes()))
    folders: tuple[tuple[str, Any], ...] = (
        ("attachments", Attachment),
        ("signed-copies", SignedCopy),
    )
    for folder, model in folders:
        rows = session.execute(
            select(model)
            .where(col(model.incident_id) == record.incident_id)
            .order_by(col(model.recorded_at), col(model.id))
        ).scalars()
        for item in rows:
            path = storage.path_for(item.storage_key)
            if path.exists():
                entries.append((f"{folder}/{item.id}-{item.filename}", path.read_bytes()))
    files = {name: hashlib.sha256(data).hexdigest() for name, data in entries}
    manifest = json.dumps(
        {"archive_record": to_jsonable(record_json), "files": files},
        ensure_ascii=False,
        indent=2,
        sort_keys=True,
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [("manifest.json", manifest), *entries]:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


# -- the public verification page --------------------------------------------------------------


def by_code(session: Session, code: str) -> IssuedDocument:
    found = session.execute(
        select(IssuedDocument).where(col(IssuedDocument.verification_code) == code)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("No document is issued under this code")
    return found


def public_status(session: Session, document: IssuedDocument) -> dict[str, Any]:
    """The document's identity and standing, and nothing about the people in it."""
    incident = session.get(Incident, document.incident_id)
    assert incident is not None
    status, since = "valid", None
    if incident.status == "cancelled" and document.kind == DocumentKind.surat_perintah:
        status, since = "cancelled", incident.closed_at
    return {
        "document_type": service.TITLES[DocumentKind(document.kind)],
        "number": document.number,
        "issued_on": document.issued_on,
        "kecamatan": _unit(session, document.unit_id).name,
        "signer_jabatan": document.signer_jabatan.upper(),
        "status": status,
        "status_since": since,
        "sha256": document.sha256,
        "pages": document.page_count,
    }


def matches(session: Session, document: IssuedDocument, body: bytes) -> dict[str, Any]:
    sent = hashlib.sha256(body).hexdigest()
    return {
        "matches": sent == document.sha256,
        "sha256": sent,
        "issued_sha256": document.sha256,
        "status": public_status(session, document)["status"],
    }
