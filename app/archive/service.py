"""Archive the Laporan Pelaksanaan with a hashed manifest of every document.

Each manifest entry carries the SHA-256 of a document as stored: the canonical JSON of its
row (orders, instruction, draft versions, verifications, briefing, field reports) or the bytes
of its file (attachments, the issued PDFs, the signed copies), with the hash of the file's row
beside it. The manifest itself is hashed too, and the lembar arsip (the record's own PDF,
issued after its manifest) is checked against the hash it was issued with. `verify`
recomputes all of it from the rows and files as they are now, so any later change to an
archived document shows.

Verifying reads every document of the incident and every stored file: each file is hashed
once per call however many attachments share it, and an answer is reused for
VERIFY_REUSE_SECONDS (it says when it was computed), one computation at a time per process,
so that callers asking again and again, or all at once, do not multiply the work.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlmodel import Session, SQLModel, col

from app.archive import schemas
from app.archive.models import ArchiveRecord
from app.audit.service import sha256_of
from app.auth.deps import Principal
from app.core import clock
from app.core.counters import next_value
from app.core.errors import Conflict, NotFound
from app.documents import service as issued_documents
from app.documents.models import DocumentKind, IssuedDocument, SignedCopy
from app.drafts.models import Draft, DraftKind, DraftStatus, DraftVersion
from app.field_reports import storage
from app.field_reports.models import Attachment, FieldReport
from app.incidents.models import Briefing, Incident, Instruction
from app.orders.models import Order, OrderKind
from app.sop import engine
from app.sop.engine import Action, Context, Outcome
from app.units.models import Unit
from app.users.models import User
from app.verifications.models import Verification

DRAFT_TITLES = {
    DraftKind.order: "Draft Surat Perintah",
    DraftKind.report: "Draft Laporan Pelaksanaan",
}
ORDER_TYPES = {
    OrderKind.walikota: "surat_perintah_walikota",
    OrderKind.surat_perintah: "surat_perintah",
}
ORDER_TITLES = {
    OrderKind.walikota: "Surat Perintah Walikota",
    OrderKind.surat_perintah: "Surat Perintah",
}


class NoApprovedReport(Conflict):
    kind, title = "report-not-approved", "There is no approved Laporan Pelaksanaan to archive"


class StoredFileMismatch(Conflict):
    kind, title = "stored-file-mismatch", "A stored file does not match its recorded hash"


def row_sha256(row: SQLModel) -> str:
    """The hash of a row as stored: every column, in canonical JSON."""
    return sha256_of(row.model_dump(mode="json"))


@dataclass(frozen=True)
class Document:
    """One document of an incident as it is stored now."""

    type: str
    id: uuid.UUID
    title: str
    sha256: str | None  # None: an attachment whose file is gone
    version: int | None = None
    record_sha256: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.type, str(self.id)


def _rows(session: Session, model: type[SQLModel], *where: Any, order: Any) -> list[Any]:
    return list(session.execute(select(model).where(*where).order_by(*order)).scalars())


def documents(session: Session, incident_id: uuid.UUID) -> Iterator[Document]:
    """Every document of the incident, in SOP order."""
    orders = _rows(
        session,
        Order,
        col(Order.incident_id) == incident_id,
        order=(col(Order.recorded_at), col(Order.id)),
    )
    issued = {
        (doc.kind, doc.subject_id): doc
        for doc in issued_documents.issued_of_incident(session, incident_id)
    }
    copies = _rows(
        session,
        SignedCopy,
        col(SignedCopy.incident_id) == incident_id,
        order=(col(SignedCopy.recorded_at), col(SignedCopy.id)),
    )
    file_sha256: dict[str, str | None] = {}
    for order in (o for o in orders if o.kind == OrderKind.walikota):
        yield Document(
            ORDER_TYPES[OrderKind.walikota],
            order.id,
            f"{ORDER_TITLES[OrderKind.walikota]} {order.number}",
            row_sha256(order),
        )
        yield from _signed_copies(copies, order, file_sha256)
    for instruction in _rows(
        session,
        Instruction,
        col(Instruction.incident_id) == incident_id,
        order=(col(Instruction.recorded_at), col(Instruction.id)),
    ):
        yield Document(
            "instruction",
            instruction.id,
            "Arahan Kasi Trantib kepada Danru",
            row_sha256(instruction),
        )
    drafts = {
        d.id: d
        for d in _rows(
            session,
            Draft,
            col(Draft.incident_id) == incident_id,
            order=(col(Draft.created_at), col(Draft.id)),
        )
    }
    versions = _rows(
        session,
        DraftVersion,
        col(DraftVersion.draft_id).in_(list(drafts)),
        order=(col(DraftVersion.created_at), col(DraftVersion.number), col(DraftVersion.id)),
    )
    verifications = _rows(
        session,
        Verification,
        col(Verification.incident_id) == incident_id,
        order=(col(Verification.recorded_at), col(Verification.id)),
    )
    for kind in (DraftKind.order, DraftKind.report):
        for version in (v for v in versions if drafts[v.draft_id].kind == kind):
            yield Document(
                "draft_version",
                version.id,
                f"{DRAFT_TITLES[kind]} versi {version.number}",
                row_sha256(version),
                version=version.number,
            )
        for check in (v for v in verifications if drafts[v.draft_id].kind == kind):
            yield Document(
                "verification",
                check.id,
                f"Verifikasi {check.stage} ({check.decision}) {DRAFT_TITLES[kind]} "
                f"versi {check.draft_version}",
                row_sha256(check),
                version=check.draft_version,
            )
        if kind is DraftKind.order:
            for order in (o for o in orders if o.kind == OrderKind.surat_perintah):
                yield Document(
                    ORDER_TYPES[OrderKind.surat_perintah],
                    order.id,
                    f"{ORDER_TITLES[OrderKind.surat_perintah]} {order.number}",
                    row_sha256(order),
                )
                pdf = issued.get((DocumentKind.surat_perintah, order.id))
                if pdf is not None:
                    yield _issued_document(pdf, file_sha256)
                yield from _signed_copies(copies, order, file_sha256)
            for briefing in _rows(
                session,
                Briefing,
                col(Briefing.incident_id) == incident_id,
                order=(col(Briefing.recorded_at), col(Briefing.id)),
            ):
                yield Document(
                    "briefing",
                    briefing.id,
                    "Persiapan dan pengarahan anggota",
                    row_sha256(briefing),
                )
            yield from _field_documents(session, incident_id, file_sha256)
    report = next(
        (
            d
            for d in drafts.values()
            if d.kind == DraftKind.report and d.status == DraftStatus.approved
        ),
        None,
    )
    if report is not None:
        approved = next(
            v for v in versions if v.draft_id == report.id and v.number == report.current_version
        )
        yield Document(
            "laporan_pelaksanaan",
            approved.id,
            f"Laporan Pelaksanaan (versi {approved.number})",
            row_sha256(approved),
            version=approved.number,
        )
        pdf = issued.get((DocumentKind.laporan_pelaksanaan, approved.id))
        if pdf is not None:
            yield _issued_document(pdf, file_sha256, version=approved.number)


def _file_sha256(key: str, known: dict[str, str | None]) -> str | None:
    # Content-addressed: the same file named many times is read once.
    if key not in known:
        known[key] = storage.stored_sha256(key)
    return known[key]


def _issued_document(
    pdf: IssuedDocument, file_sha256: dict[str, str | None], version: int | None = None
) -> Document:
    return Document(
        "issued_document",
        pdf.id,
        f"{issued_documents.TITLES[DocumentKind(pdf.kind)]} {pdf.number} (PDF)",
        _file_sha256(pdf.storage_key, file_sha256),
        version=version,
        record_sha256=row_sha256(pdf),
    )


def _signed_copies(
    copies: list[SignedCopy], order: Order, file_sha256: dict[str, str | None]
) -> Iterator[Document]:
    for copy in (c for c in copies if c.order_id == order.id):
        method = "TTE BSrE" if copy.method == "tte_bsre" else "tanda tangan basah"
        yield Document(
            "signed_copy",
            copy.id,
            f"Salinan bertanda tangan ({method}) {ORDER_TITLES[OrderKind(order.kind)]} "
            f"{order.number}",
            _file_sha256(copy.storage_key, file_sha256),
            record_sha256=row_sha256(copy),
        )


def _field_documents(
    session: Session, incident_id: uuid.UUID, file_sha256: dict[str, str | None]
) -> Iterator[Document]:
    reports = session.execute(
        select(FieldReport, col(User.full_name))
        .join(User, col(User.id) == col(FieldReport.author_id))
        .where(col(FieldReport.incident_id) == incident_id)
        .order_by(col(FieldReport.recorded_at), col(FieldReport.id))
    ).all()
    for report, author in reports:
        yield Document(
            "field_report",
            report.id,
            f"Laporan Pelaksanaan Lapangan ({author})",
            row_sha256(report),
        )
    for attachment in _rows(
        session,
        Attachment,
        col(Attachment.incident_id) == incident_id,
        order=(col(Attachment.recorded_at), col(Attachment.id)),
    ):
        yield Document(
            "attachment",
            attachment.id,
            f"Lampiran {attachment.filename}",
            _file_sha256(attachment.storage_key, file_sha256),
            record_sha256=row_sha256(attachment),
        )


def _entry(doc: Document) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": doc.type, "id": str(doc.id)}
    if doc.version is not None:
        entry["version"] = doc.version
    entry["sha256"] = doc.sha256
    if doc.record_sha256 is not None:
        entry["record_sha256"] = doc.record_sha256
    entry["title"] = doc.title
    return entry


_FILE_TABLES: dict[str, Any] = {
    "attachment": Attachment,
    "issued_document": IssuedDocument,
    "signed_copy": SignedCopy,
}


def _check_files(session: Session, docs: list[Document]) -> None:
    """A file's bytes, re-read from disk, must still be the bytes that were uploaded or
    issued."""
    uploaded: dict[uuid.UUID, str] = {}
    for kind, model in _FILE_TABLES.items():
        ids = [doc.id for doc in docs if doc.type == kind]
        if ids:
            rows = session.execute(select(model.id, model.sha256).where(model.id.in_(ids)))
            uploaded.update(dict(rows.all()))
    for doc in (d for d in docs if d.type in _FILE_TABLES):
        recorded = uploaded[doc.id]
        if doc.sha256 != recorded:
            raise StoredFileMismatch(
                f"The file of {doc.type} {doc.id} does not match its recorded SHA-256",
                attachment_id=str(doc.id),
                expected=recorded,
                actual=doc.sha256,
            )


def _description(incident: Incident, unit: Unit, docs: list[Document]) -> str:
    count = {
        kind: sum(1 for d in docs if d.type == kind) for kind in ("field_report", "attachment")
    }
    order = next((d.title for d in docs if d.type == "surat_perintah"), None)
    place = incident.location.get("address", "")
    kelurahan = incident.location.get("kelurahan")
    if kelurahan:
        place = f"{place}, Kelurahan {kelurahan}"
    parts = [
        f'Penanganan {incident.kind.replace("_", " ")} "{incident.title}" '
        f"(register {incident.register_number}) di {place}, Kecamatan {unit.name}.",
        f"Dasar: {order}." if order else "",
        f"Berkas: {len(docs)} dokumen, termasuk {count['field_report']} laporan pelaksanaan "
        f"lapangan dan {count['attachment']} lampiran.",
    ]
    return " ".join(p for p in parts if p)[:4000]


def create(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.ArchiveCreate,
    if_match: int | None,
) -> ArchiveRecord:
    def handler(ctx: Context) -> Outcome:
        incident = ctx.incident
        docs = list(documents(ctx.session, incident.id))
        if not any(d.type == "laporan_pelaksanaan" for d in docs):
            raise NoApprovedReport("The report draft has not been approved")
        _check_files(ctx.session, docs)
        manifest = [_entry(d) for d in docs]
        unit = ctx.session.get(Unit, incident.unit_id)
        assert unit is not None
        year = ctx.now.astimezone(clock.WIB).year
        sequence = next_value(ctx.session, "archive", unit.id, year)
        record = ArchiveRecord(
            incident_id=incident.id,
            unit_id=unit.id,
            archive_number=f"{body.classification_code}/{sequence:04d}/{unit.code}/{year}",
            classification_code=body.classification_code,
            retention_years=body.retention_years,
            security_class=body.security_class,
            title=f"Laporan Pelaksanaan Penanganan Unjuk Rasa dan Kerusuhan Warga: "
            f"{incident.title}"[:300],
            description=_description(incident, unit, docs),
            creator=f"Kecamatan {unit.name}",
            period_start=incident.reported_at,
            period_end=ctx.now,
            note=body.note,
            manifest=manifest,
            manifest_sha256=sha256_of(manifest),
            created_by=ctx.principal.id,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(record)
        ctx.session.flush()
        sheet = issued_documents.issue_lembar_arsip(
            ctx.session,
            record,
            unit,
            archived_by_id=ctx.principal.id,
            now=ctx.now,
            acting=ctx.acting_as,
        )
        summary = {
            "archive_record_id": record.id,
            "archive_number": record.archive_number,
            "classification_code": record.classification_code,
            "manifest_sha256": record.manifest_sha256,
            "documents": len(manifest),
            "pdf_sha256": sheet.sha256,
        }
        return Outcome(
            result=record,
            audit=summary,
            events=[("incident.archived", summary)],
            document=record.model_dump(),
        )

    outcome = engine.perform(
        session,
        principal,
        incident_id,
        Action.archive,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    )
    return outcome.result


def _visible(principal: Principal) -> Any:
    if principal.city_wide:
        return True
    return col(ArchiveRecord.unit_id) == principal.unit_id


def get(session: Session, principal: Principal, record_id: uuid.UUID) -> ArchiveRecord:
    found = session.execute(
        select(ArchiveRecord).where(
            col(ArchiveRecord.id) == record_id,
            _visible(principal),
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("Archive record not found")
    return found


def list_records(
    session: Session,
    principal: Principal,
    *,
    unit: str | None,
    recorded_from: datetime | None,
    recorded_to: datetime | None,
    classification: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    conditions: list[Any] = [_visible(principal)]
    if unit:
        unit_id = session.execute(
            select(col(Unit.id)).where(or_(col(Unit.code) == unit, col(Unit.slug) == unit))
        ).scalar()
        conditions.append(col(ArchiveRecord.unit_id) == unit_id if unit_id else false())
    if recorded_from:
        conditions.append(col(ArchiveRecord.recorded_at) >= recorded_from)
    if recorded_to:
        conditions.append(col(ArchiveRecord.recorded_at) < recorded_to)
    if classification:
        # A code names its whole subtree: 300.1 finds 300.1 and 300.1.2.1.
        conditions.append(
            or_(
                col(ArchiveRecord.classification_code) == classification,
                col(ArchiveRecord.classification_code).startswith(f"{classification}."),
            )
        )
    where = and_(*conditions)
    total = session.execute(
        select(func.count()).select_from(ArchiveRecord).where(where)
    ).scalar_one()
    rows = (
        session.execute(
            select(ArchiveRecord)
            .where(where)
            .order_by(col(ArchiveRecord.recorded_at).desc(), col(ArchiveRecord.id))
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return {"items": list(rows), "total": total, "limit": limit, "offset": offset}


VERIFY_REUSE_SECONDS = 30.0
_verified: dict[uuid.UUID, tuple[float, dict[str, Any]]] = {}
_verifying = threading.Lock()


def verify(session: Session, record: ArchiveRecord) -> dict[str, Any]:
    """Every hash of the record recomputed from the rows and files as they are now, or as
    they were at most VERIFY_REUSE_SECONDS ago (`checked_at` says when)."""
    with _verifying:
        now = time.monotonic()
        reused = _verified.get(record.id)
        if reused is not None and now - reused[0] < VERIFY_REUSE_SECONDS:
            return reused[1]
        result = _verify(session, record)
        for stale in [
            key for key, (at, _) in _verified.items() if now - at >= VERIFY_REUSE_SECONDS
        ]:
            del _verified[stale]
        _verified[record.id] = (now, result)
        return result


def _verify(session: Session, record: ArchiveRecord) -> dict[str, Any]:
    checked_at = clock.now()
    mismatches: list[dict[str, Any]] = []
    if sha256_of(record.manifest) != record.manifest_sha256:
        mismatches.append(
            {
                "type": "archive_record",
                "id": record.id,
                "part": "manifest",
                "expected": record.manifest_sha256,
                "actual": sha256_of(record.manifest),
            }
        )
    sheet = issued_documents.issued_for(session, DocumentKind.lembar_arsip, record.id)
    if sheet is not None and issued_documents.stored_sha256(sheet) != sheet.sha256:
        mismatches.append(
            {
                "type": "lembar_arsip",
                "id": sheet.id,
                "part": "document",
                "expected": sheet.sha256,
                "actual": issued_documents.stored_sha256(sheet),
            }
        )
    current = {doc.key: doc for doc in documents(session, record.incident_id)}
    archived: set[tuple[str, str]] = set()
    for entry in record.manifest:
        key = (entry["type"], entry["id"])
        archived.add(key)
        doc = current.get(key)
        if doc is None or doc.sha256 != entry["sha256"]:
            mismatches.append(
                {
                    "type": entry["type"],
                    "id": entry["id"],
                    "part": "content",
                    "expected": entry["sha256"],
                    "actual": doc.sha256 if doc else None,
                }
            )
        expected_record = entry.get("record_sha256")
        if doc is not None and expected_record and doc.record_sha256 != expected_record:
            mismatches.append(
                {
                    "type": entry["type"],
                    "id": entry["id"],
                    "part": "record",
                    "expected": expected_record,
                    "actual": doc.record_sha256,
                }
            )
    for key, doc in current.items():
        if key not in archived:
            mismatches.append(
                {
                    "type": doc.type,
                    "id": doc.id,
                    "part": "content",
                    "expected": None,
                    "actual": doc.sha256,
                }
            )
    return {
        "valid": not mismatches,
        "checked": len(record.manifest),
        "checked_at": checked_at,
        "mismatches": mismatches,
    }
