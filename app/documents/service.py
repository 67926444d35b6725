"""Fill the templates, issue documents once, keep them by content, answer for them.

An issued document (the Surat Perintah at validation, the Laporan Pelaksanaan at its
approval, the lembar arsip at archiving) is rendered inside the action's transaction, its
bytes stored content-addressed beside the attachments, and its row names the file, its
SHA-256 and the data it was made from. It is never rendered again: a later change to a user,
the kop or a template reaches new documents only. A konsep and a field report are rendered
on request, without a number or a QR.

The signer block takes its inputs from the record of the action that validated the document:
the capacity prefix ("Plh.", "Plt.", "a.n."; empty for the post's own holder), the post's
jabatan and the signing person's own name, pangkat and NIP.
"""

from __future__ import annotations

import io
import os
import secrets
import tempfile
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import segno
from babel.dates import format_date
from sqlalchemy import select
from sqlmodel import Session, col

from app.core import clock
from app.core.config import get_settings
from app.documents.models import DocumentKind, IssuedDocument, Letterhead
from app.documents.render import Rendered, render
from app.field_reports import storage
from app.field_reports.models import Attachment, FieldReport
from app.units.models import Unit
from app.users.models import User

# More persons than this and the Kepada table moves to a Lampiran ("daftar terlampir").
ATTACH_OVER = 5
CAPACITY_PREFIX = {"definitif": "", "plh": "Plh.", "plt": "Plt.", "an": "a.n.", "ub": "u.b."}
TEMPLATES = {
    DocumentKind.surat_perintah: "surat-perintah.typ",
    DocumentKind.laporan_pelaksanaan: "laporan-pelaksanaan.typ",
    DocumentKind.lembar_arsip: "lembar-arsip.typ",
}
FIELD_REPORT_TEMPLATE = "laporan-lapangan.typ"
TITLES = {
    DocumentKind.surat_perintah: "Surat Perintah",
    DocumentKind.laporan_pelaksanaan: "Laporan Pelaksanaan",
    DocumentKind.lembar_arsip: "Lembar Arsip",
}
STAGE_LABELS = {
    "review": "Pemeriksaan Kasi Trantib",
    "paraf": "Paraf Sekcam",
    "verify": "Verifikasi dan paraf Camat",
}
DECISIONS = {"approve": "Setuju", "return": "Dikembalikan"}
SITUATIONS = {
    "kondusif": "Kondusif",
    "belum_kondusif": "Belum kondusif",
    "tegang": "Tegang",
    "ricuh": "Ricuh",
}
ACTIONS = {
    "pemantauan": "Pemantauan",
    "pengamanan_objek": "Pengamanan objek",
    "pengaturan_lalu_lintas": "Pengaturan lalu lintas",
    "isolasi": "Isolasi lokasi",
    "negosiasi": "Negosiasi",
    "himbauan": "Himbauan",
    "evakuasi": "Evakuasi",
    "dukungan_pembubaran": "Dukungan pembubaran (dipimpin Polri)",
}
CASUALTY = {
    "peserta": "peserta",
    "warga": "warga",
    "petugas_trantib": "petugas Trantib",
    "polri_tni": "Polri/TNI",
    "lainnya": "lainnya",
}
SEVERITY = {"luka_ringan": "luka ringan", "luka_berat": "luka berat", "meninggal": "meninggal"}
PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


# -- formatting ---------------------------------------------------------------------------------


def tanggal(day: date) -> str:
    """1 Desember 2026: Babel's Indonesian month names."""
    return format_date(day, "d MMMM y", locale="id")


def waktu_wib(moment: datetime) -> str:
    local = clock.as_utc(moment).astimezone(clock.WIB)
    return f"{tanggal(local.date())} pukul {local:%H.%M} WIB"


def nip_text(nip: str | None) -> str:
    """An 18-digit NIP as printed: birth date, appointment month, sex, sequence."""
    if not nip:
        return ""
    if len(nip) == 18 and nip.isdigit():
        return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"
    return nip


def verification_url(code: str) -> str:
    return f"{get_settings().verification_base}/v/{code}"


# One mask pattern for every new code: choosing the best of the eight by ISO/IEC 18004's
# penalty rules took 2.5 ms of each 3.4 ms encoding, on every issued document, and a
# verification URL reads the same with any of them (the tests decode each issued code). The
# mask is kept in the document's data, so the same data still gives the same bytes; documents
# issued before it have none and were drawn with the best mask.
QR_MASK = 0


def _qr_svg(url: str, mask: int | None) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False, mask=mask).save(
        buffer, kind="svg", border=0, xmldecl=False
    )
    return buffer.getvalue().decode()


def _page() -> dict[str, int]:
    width, height = get_settings().document_paper.size_mm
    return {"width_mm": width, "height_mm": height}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# -- kop surat ---------------------------------------------------------------------------------


def default_letterhead(unit: Unit) -> dict[str, Any]:
    """The kop a kecamatan has until an administrator sets its own."""
    return {
        "government": "PEMERINTAH KOTA TANGERANG",
        "office": f"KECAMATAN {unit.name.upper()}",
        "address": f"Kantor Kecamatan {unit.name}, Kota Tangerang, Banten",
        "phone": None,
        "email": None,
        "website": None,
    }


def letterhead(session: Session, unit: Unit) -> dict[str, Any]:
    row = session.get(Letterhead, unit.id)
    if row is None:
        return {**default_letterhead(unit), "logo_sha256": None, "logo_content_type": None}
    return {
        "logo_sha256": row.logo_sha256,
        "logo_content_type": row.logo_content_type,
        "government": row.government,
        "office": row.office,
        "address": row.address,
        "phone": row.phone,
        "email": row.email,
        "website": row.website,
    }


def set_letterhead(session: Session, unit: Unit, values: dict[str, Any], *, by: uuid.UUID) -> None:
    row = session.get(Letterhead, unit.id)
    if row is None:
        row = Letterhead(unit_id=unit.id, **values, updated_by=by, updated_at=clock.now())
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_by, row.updated_at = by, clock.now()
    session.add(row)
    session.flush()


LOGO_MAX_BYTES = 1024 * 1024


def set_logo(session: Session, unit: Unit, logo: tuple[str, str] | None, *, by: uuid.UUID) -> None:
    """Set the kecamatan's emblem (sha256 and media type of bytes already stored), or go back
    to the placeholder (None). Documents already issued keep the emblem they were made with."""
    row = session.get(Letterhead, unit.id)
    if row is None:
        row = Letterhead(unit_id=unit.id, **default_letterhead(unit))
    row.logo_sha256, row.logo_content_type = logo if logo is not None else (None, None)
    row.updated_by, row.updated_at = by, clock.now()
    session.add(row)
    session.flush()


def kop_files(data: dict[str, Any]) -> dict[str, Path]:
    """The file a document's kop names (its emblem), found by content in the store: so an
    issued document renders again from its stored data alone."""
    name = (data.get("kop") or {}).get("logo")
    if not name:
        return {}
    return {name: storage.path_for(storage.key_for(name.removeprefix("logo-").split(".")[0]))}


def _kop(session: Session, unit: Unit) -> dict[str, Any]:
    head = letterhead(session, unit)
    contact = ", ".join(
        part
        for part in (
            f"Telepon {head['phone']}" if head["phone"] else "",
            f"Pos-el {head['email']}" if head["email"] else "",
        )
        if part
    )
    lines = [head["address"], contact, f"Laman {head['website']}" if head["website"] else ""]
    extension = PHOTO_EXTENSIONS.get(head["logo_content_type"] or "")
    return {
        "logo": f"logo-{head['logo_sha256']}.{extension}" if head["logo_sha256"] else None,
        "government": head["government"],
        "office": head["office"],
        "lines": [line for line in lines if line],
    }


# -- the signer --------------------------------------------------------------------------------


def signer(
    session: Session,
    user_id: uuid.UUID,
    *,
    jabatan: str,
    capacity: str = "",
    pangkat: str | None = None,
    acting: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The signer block's inputs: the post's jabatan with the capacity the person acted in,
    and the person's own name and NIP as their account holds them at this moment. A deputy
    (`acting`: the action's acting_as record) signs as "Plh. CAMAT CILEDUG" with the name and
    NIP the record froze."""
    user = session.get(User, user_id)
    assert user is not None
    name, nip = user.full_name, user.nip
    if acting is not None:
        capacity = CAPACITY_PREFIX[acting["kind"]]
        name, nip = acting.get("name") or name, acting.get("nip") or nip
    return {
        "capacity": capacity,
        "jabatan": jabatan,
        "nama": name,
        "pangkat": _text(pangkat),
        "nip": nip_text(nip),
    }


def _drafted_signer(letter: dict[str, Any]) -> dict[str, str]:
    """A konsep shows the signer the drafter wrote: nobody has signed it yet."""
    drafted = letter["penandatangan"]
    return {
        "capacity": CAPACITY_PREFIX.get(drafted.get("kapasitas") or "definitif", ""),
        "jabatan": drafted["jabatan"],
        "nama": drafted["nama"],
        "pangkat": _text(drafted.get("pangkat_golongan")),
        "nip": nip_text(drafted.get("nip")),
    }


# -- the documents' data -----------------------------------------------------------------------


def _meta(title: str, unit: Unit, keywords: Iterable[str]) -> dict[str, Any]:
    return {"title": title, "author": f"Kecamatan {unit.name}", "keywords": list(keywords)}


def surat_perintah_data(
    session: Session,
    unit: Unit,
    content: dict[str, Any],
    *,
    number: str | None,
    issued_on: date | None,
    signed_by: dict[str, str],
) -> dict[str, Any]:
    letter = content["letter"]
    people = [
        {
            "nama": p["nama"],
            "pangkat": _text(p.get("pangkat_golongan")),
            "nip": nip_text(p.get("nip")),
            "jabatan": p["jabatan"],
        }
        for p in letter["kepada"]
    ]
    title = f"Surat Perintah {number}" if number else "Konsep Surat Perintah"
    return {
        "meta": _meta(title, unit, ["Surat Perintah", f"Kecamatan {unit.name}"]),
        "page": _page(),
        "kop": _kop(session, unit),
        "document": {
            "heading": "SURAT PERINTAH",
            "number": number or "…",
        },
        "letter": {
            "menimbang": list(letter.get("menimbang") or []),
            "dasar": list(letter["dasar"]),
            "kepada": people,
            "attached": len(people) > ATTACH_OVER,
            "untuk": list(letter["untuk"]),
            "tembusan": list(letter.get("tembusan") or []),
        },
        "issued": {
            "label_place": "Ditetapkan di",
            "place": letter.get("tempat") or "Tangerang",
            "label_date": "pada tanggal",
            "date": tanggal(issued_on) if issued_on else "…",
        },
        "signer": signed_by,
    }


def konsep_data(
    session: Session,
    unit: Unit,
    content: dict[str, Any],
    *,
    version: int,
    verifications: list[Any],
) -> dict[str, Any]:
    data = surat_perintah_data(
        session,
        unit,
        content,
        number=None,
        issued_on=None,
        signed_by=_drafted_signer(content["letter"]),
    )
    names = _names(session, [v.actor_id for v in verifications])
    data["meta"]["title"] = f"Konsep Surat Perintah versi {version}"
    data["watermark"] = "KONSEP"
    data["document"]["konsep"] = f"KONSEP versi {version}"
    data["paraf"] = {
        "title": "Konsep Surat Perintah",
        "version": version,
        "rows": [
            {
                "stage": STAGE_LABELS.get(v.stage, v.stage),
                "nama": names.get(v.actor_id, ""),
                "decision": DECISIONS.get(v.decision, v.decision),
                "note": _text(v.note),
                "at": waktu_wib(v.occurred_at),
            }
            for v in verifications
        ],
    }
    return data


def _names(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(col(User.id), col(User.full_name)).where(col(User.id).in_(wanted))
    )
    return dict(rows.all())


def _photos(
    session: Session, report_ids: list[uuid.UUID]
) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """The photos of the field reports for the annex, and the files the template reads."""
    if not report_ids:
        return [], {}
    rows = session.execute(
        select(Attachment)
        .where(col(Attachment.field_report_id).in_(report_ids))
        .order_by(col(Attachment.recorded_at), col(Attachment.id))
    ).scalars()
    photos, files = [], {}
    for attachment in rows:
        extension = PHOTO_EXTENSIONS.get(attachment.content_type)
        if extension is None:
            continue
        name = f"{attachment.sha256}.{extension}"
        path = storage.path_for(attachment.storage_key)
        if not path.exists():
            continue
        files[name] = path
        photos.append(
            {
                "file": name,
                "caption": _text(attachment.caption) or attachment.filename,
                "at": waktu_wib(attachment.recorded_at),
            }
        )
    return photos, files


def _field_summary(report: FieldReport, author: str) -> dict[str, Any]:
    content = report.content
    return {
        "author": author,
        "started": waktu_wib(report.started_at),
        "ended": waktu_wib(report.ended_at),
        "location": _text(content.get("location", {}).get("address")),
        "crowd": str(content.get("crowd_estimate", "")),
        "situation": SITUATIONS.get(report.situation, report.situation),
        "actions": [ACTIONS.get(a, a) for a in content.get("actions_taken", [])],
        "notes": _text(content.get("notes")),
        "casualties": [
            f"{c['count']} orang {CASUALTY.get(c['category'], c['category'])}, "
            f"{SEVERITY.get(c['severity'], c['severity'])}"
            + (f"; {c['care']}" if c.get("care") else "")
            + (f"; dirujuk ke {c['hospital']}" if c.get("hospital") else "")
            for c in content.get("casualties", [])
        ],
        "damage": [
            d["object"] + (f": {d['description']}" if d.get("description") else "")
            for d in content.get("damage", [])
        ],
        "handovers": [
            f"{h['count']} orang diserahkan kepada {h['police_unit']} ({h['officer']}), "
            f"{waktu_wib(datetime.fromisoformat(h['handed_at']))}, berita acara "
            f"{h['minutes_number']}"
            for h in content.get("handovers_to_police", [])
        ],
    }


def _dated(day: date) -> dict[str, str]:
    """ "Tangerang, 1 Desember 2026" above the signer of a report."""
    return {"label_place": "Tangerang,", "place": "", "label_date": "", "date": tanggal(day)}


def laporan_data(
    session: Session,
    unit: Unit,
    content: dict[str, Any],
    *,
    order_number: str | None,
    order_date: date | None,
    version: int,
    issued_on: date,
    signed_by: dict[str, str],
) -> tuple[dict[str, Any], dict[str, Path]]:
    report_ids = [uuid.UUID(i) for i in content["field_report_ids"]]
    rows = session.execute(
        select(FieldReport, col(User.full_name))
        .join(User, col(User.id) == col(FieldReport.author_id))
        .where(col(FieldReport.id).in_(report_ids))
        .order_by(col(FieldReport.recorded_at), col(FieldReport.id))
    ).all()
    reports = [_field_summary(report, author) for report, author in rows]
    photos, files = _photos(session, [report.id for report, _ in rows])
    dasar = (
        [f"Surat Perintah Camat {unit.name} Nomor {order_number} tanggal {tanggal(order_date)}"]
        if order_number and order_date
        else []
    )
    data = {
        "meta": _meta("Laporan Pelaksanaan", unit, ["Laporan Pelaksanaan", unit.name]),
        "page": _page(),
        "kop": _kop(session, unit),
        "document": {"heading": "LAPORAN PELAKSANAAN", "number": order_number or ""},
        "report": {
            "kepada": f"Camat {unit.name}",
            "dari": kasi_jabatan(unit),
            "perihal": "Laporan Pelaksanaan Penanganan Unjuk Rasa dan Kerusuhan Warga",
            "dasar": dasar,
            "summary": content["summary"],
            "chronology": [
                {
                    "at": waktu_wib(datetime.fromisoformat(entry["at"])),
                    "description": entry["description"],
                    "level": _text(entry.get("escalation_level")),
                }
                for entry in content.get("chronology", [])
            ],
            "final_situation": SITUATIONS.get(
                content["final_situation"], content["final_situation"]
            ),
            "actions": sorted({a for r in reports for a in r["actions"]}),
            "casualties": [c for r in reports for c in r["casualties"]],
            "damage": [d for r in reports for d in r["damage"]],
            "handovers": [h for r in reports for h in r["handovers"]],
            "members": [r["author"] for r in reports],
            "recommendations": _text(content.get("recommendations")),
            "follow_up": _text(content.get("follow_up")),
            "version": version,
        },
        "photos": photos,
        "issued": _dated(issued_on),
        "signer": signed_by,
    }
    return data, files


def field_report_data(
    session: Session, unit: Unit, report: FieldReport, order_number: str | None
) -> tuple[dict[str, Any], dict[str, Path]]:
    author = session.get(User, report.author_id)
    assert author is not None
    summary = _field_summary(report, author.full_name)
    photos, files = _photos(session, [report.id])
    data = {
        "meta": _meta("Laporan Pelaksanaan Lapangan", unit, ["Laporan Pelaksanaan Lapangan"]),
        "page": _page(),
        "kop": _kop(session, unit),
        "document": {"heading": "LAPORAN PELAKSANAAN LAPANGAN", "number": order_number or ""},
        "field": summary,
        "photos": photos,
        "issued": _dated(clock.as_utc(report.recorded_at).astimezone(clock.WIB).date()),
        "signer": {
            "capacity": "",
            "jabatan": "Anggota Trantib Kecamatan " + unit.name,
            "nama": author.full_name,
            "pangkat": "",
            "nip": nip_text(author.nip),
        },
    }
    return data, files


def lembar_arsip_data(
    session: Session, unit: Unit, record: Any, *, signed_by: dict[str, str]
) -> dict[str, Any]:
    issued_on = clock.as_utc(record.recorded_at).astimezone(clock.WIB).date()
    return {
        "meta": _meta(f"Lembar Arsip {record.archive_number}", unit, ["Lembar Arsip"]),
        "page": _page(),
        "kop": _kop(session, unit),
        "document": {"heading": "LEMBAR ARSIP", "number": record.archive_number},
        "archive": {
            "title": record.title,
            "description": record.description,
            "classification": record.classification_code,
            "retention": f"{record.retention_years} tahun",
            "security": record.security_class.replace("_", " ").upper(),
            "creator": record.creator,
            "period": f"{waktu_wib(record.period_start)} s.d. {waktu_wib(record.period_end)}",
            "note": _text(record.note),
            "manifest_sha256": record.manifest_sha256,
            "manifest": [
                {
                    "title": entry["title"],
                    "version": str(entry.get("version") or ""),
                    "sha256": _text(entry.get("sha256")),
                }
                for entry in record.manifest
            ],
        },
        "issued": _dated(issued_on),
        "signer": signed_by,
    }


# -- issuing -----------------------------------------------------------------------------------


def _with_qr(data: dict[str, Any]) -> dict[str, Any]:
    document = data["document"]
    qr = _qr_svg(document["verification_url"], document.get("qr_mask"))
    return {**data, "document": {**document, "qr_svg": qr}}


def render_issued(
    kind: DocumentKind, data: dict[str, Any], issued_at: datetime, files: dict[str, Path]
) -> Rendered:
    """The bytes of an issued document from its stored data: what issuing wrote, and what a
    check of a stored file may compare it with."""
    files = {**files, **kop_files(data)}
    return render(TEMPLATES[kind], _with_qr(data), created_at=issued_at, pdf_a=True, files=files)


def _store(pdf: bytes, sha256: str) -> str:
    incoming = storage.incoming_dir()
    fd, name = tempfile.mkstemp(dir=incoming, prefix="document-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(pdf)
        handle.flush()
        os.fsync(handle.fileno())
    return storage.store(Path(name), sha256)


def issue(
    session: Session,
    *,
    kind: DocumentKind,
    incident_id: uuid.UUID,
    unit: Unit,
    subject_id: uuid.UUID,
    number: str,
    issued_on: date,
    data: dict[str, Any],
    files: dict[str, Path] | None = None,
    issued_by: uuid.UUID,
    issued_at: datetime,
) -> IssuedDocument:
    """Render the document once, keep its bytes and record it, in the caller's transaction."""
    code = secrets.token_urlsafe(24)  # 192 random bits
    data["document"] = {
        **data["document"],
        "verification_code": code,
        "verification_url": verification_url(code),
        "qr_mask": QR_MASK,
    }
    rendered = render_issued(kind, data, issued_at, files or {})
    document = IssuedDocument(
        incident_id=incident_id,
        unit_id=unit.id,
        kind=kind,
        subject_id=subject_id,
        number=number,
        issued_on=issued_on,
        signer_jabatan=" ".join(
            part for part in (data["signer"]["capacity"], data["signer"]["jabatan"]) if part
        ),
        template=TEMPLATES[kind],
        template_sha256=rendered.template_sha256,
        sha256=rendered.sha256,
        size=len(rendered.pdf),
        storage_key=_store(rendered.pdf, rendered.sha256),
        page_count=rendered.pages,
        verification_code=code,
        data=data,
        issued_by=issued_by,
        issued_at=issued_at,
    )
    session.add(document)
    session.flush()
    return document


def issued_for(
    session: Session, kind: DocumentKind, subject_id: uuid.UUID
) -> IssuedDocument | None:
    return session.execute(
        select(IssuedDocument).where(
            col(IssuedDocument.kind) == kind, col(IssuedDocument.subject_id) == subject_id
        )
    ).scalar_one_or_none()


def issued_of_incident(session: Session, incident_id: uuid.UUID) -> list[IssuedDocument]:
    return list(
        session.execute(
            select(IssuedDocument)
            .where(col(IssuedDocument.incident_id) == incident_id)
            .order_by(col(IssuedDocument.issued_at), col(IssuedDocument.id))
        ).scalars()
    )


def document_fields(document: IssuedDocument | None) -> dict[str, Any]:
    """What an issued document adds to its resource's JSON."""
    if document is None:
        return {"document_sha256": None, "verification_url": None}
    # The address the QR printed, whatever the base URL is now.
    printed = document.data.get("document", {}).get("verification_url")
    return {
        "document_sha256": document.sha256,
        "verification_url": printed or verification_url(document.verification_code),
    }


def stored_path(document: IssuedDocument) -> Path:
    return storage.path_for(document.storage_key)


def stored_sha256(document: IssuedDocument) -> str | None:
    return storage.stored_sha256(document.storage_key)


def filename_for(prefix: str, number: str) -> str:
    """A download name from the document's number: letters, digits, dot, dash, underscore."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "-" for ch in number)
    safe = "-".join(part for part in safe.split("-") if part)
    return f"{prefix}-{safe}.pdf" if safe else f"{prefix}.pdf"


# -- the documents the SOP's steps issue --------------------------------------------------------


def issue_surat_perintah(
    session: Session,
    order: Any,
    unit: Unit,
    *,
    signed_by_id: uuid.UUID,
    now: datetime,
    acting: dict[str, Any] | None = None,
) -> IssuedDocument:
    """The validated Surat Perintah, signed by the Camat (or their Plh/Plt) who validated it."""
    drafted = order.content["letter"]["penandatangan"]
    signed_by = signer(
        session,
        signed_by_id,
        jabatan=drafted["jabatan"],
        # The drafter wrote the Camat's pangkat; a deputy's own is not known to the service.
        pangkat=None if acting is not None else drafted.get("pangkat_golongan"),
        acting=acting,
    )
    data = surat_perintah_data(
        session,
        unit,
        order.content,
        number=order.number,
        issued_on=order.issued_on,
        signed_by=signed_by,
    )
    return issue(
        session,
        kind=DocumentKind.surat_perintah,
        incident_id=order.incident_id,
        unit=unit,
        subject_id=order.id,
        number=order.number,
        issued_on=order.issued_on,
        data=data,
        issued_by=signed_by_id,
        issued_at=now,
    )


def kasi_jabatan(unit: Unit) -> str:
    return f"Kepala Seksi Ketenteraman dan Ketertiban Umum Kecamatan {unit.name}"


def issue_laporan(
    session: Session,
    version: Any,
    *,
    incident_id: uuid.UUID,
    unit: Unit,
    order: Any | None,
    approved_by_id: uuid.UUID,
    now: datetime,
    acting: dict[str, Any] | None = None,
) -> IssuedDocument:
    """The Laporan Pelaksanaan as its review approved it, from the Kasi Trantib (or their
    Plh/Plt) who did."""
    issued_on = clock.as_utc(now).astimezone(clock.WIB).date()
    signed_by = signer(session, approved_by_id, jabatan=kasi_jabatan(unit), acting=acting)
    data, files = laporan_data(
        session,
        unit,
        version.content,
        order_number=order.number if order else None,
        order_date=order.issued_on if order else None,
        version=version.number,
        issued_on=issued_on,
        signed_by=signed_by,
    )
    return issue(
        session,
        kind=DocumentKind.laporan_pelaksanaan,
        incident_id=incident_id,
        unit=unit,
        subject_id=version.id,
        number=f"atas Surat Perintah {order.number}" if order else "tanpa Surat Perintah",
        issued_on=issued_on,
        data=data,
        files=files,
        issued_by=approved_by_id,
        issued_at=now,
    )


def issue_lembar_arsip(
    session: Session,
    record: Any,
    unit: Unit,
    *,
    archived_by_id: uuid.UUID,
    now: datetime,
    acting: dict[str, Any] | None = None,
) -> IssuedDocument:
    signed_by = signer(session, archived_by_id, jabatan=kasi_jabatan(unit), acting=acting)
    data = lembar_arsip_data(session, unit, record, signed_by=signed_by)
    return issue(
        session,
        kind=DocumentKind.lembar_arsip,
        incident_id=record.incident_id,
        unit=unit,
        subject_id=record.id,
        number=record.archive_number,
        issued_on=clock.as_utc(now).astimezone(clock.WIB).date(),
        data=data,
        issued_by=archived_by_id,
        issued_at=now,
    )


def with_document(session: Session, kind: DocumentKind, row: Any) -> dict[str, Any]:
    """A resource's JSON with the hash and verification address of the document it issued."""
    return {**row.model_dump(), **document_fields(issued_for(session, kind, row.id))}
