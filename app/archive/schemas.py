"""Request and response bodies for archive records."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from app.core.schemas import ActionBody, ResponseBody
from app.documents.schemas import IssuedDocumentFields

DEFAULT_CLASSIFICATION = "300.1.2.1"  # Tata Operasional Polisi Pamong Praja (Permendagri 83/2022)


class SecurityClass(StrEnum):
    """Klasifikasi keamanan."""

    biasa = "biasa"
    terbatas = "terbatas"
    rahasia = "rahasia"
    sangat_rahasia = "sangat_rahasia"


class ArchiveCreate(ActionBody):
    classification_code: str = Field(
        default=DEFAULT_CLASSIFICATION,
        max_length=32,
        pattern=r"^\d+(\.\d+)*$",
        description="Kode klasifikasi arsip, e.g. 300.1.2.1 (Trantib operations) or 200.1.3.4 "
        "(social conflict); the kecamatan's arsiparis decides",
    )
    retention_years: int = Field(ge=1, le=100, description="Retention (aktif + inaktif), years")
    security_class: SecurityClass = SecurityClass.terbatas
    note: str | None = Field(default=None, max_length=4000)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "classification_code": "300.1.2.1",
                    "retention_years": 5,
                    "security_class": "terbatas",
                }
            ]
        }
    }


def _absent(value: object) -> bool:
    return value is None


class ManifestEntry(ResponseBody):
    """One archived part: `version` and `record_sha256` are absent where they do not apply
    (never null), exactly as archived, so that a client recomputes manifest_sha256."""

    type: str = Field(
        description="surat_perintah_walikota, instruction, draft_version, verification, "
        "surat_perintah, issued_document (an issued PDF), signed_copy, briefing, field_report, "
        "attachment or laporan_pelaksanaan"
    )
    id: uuid.UUID
    version: int | None = Field(
        default=None, exclude_if=_absent, description="Draft version number, if any"
    )
    sha256: str = Field(
        description="Of the stored row (canonical JSON), or of the file's bytes for "
        "attachments, issued PDFs and signed copies"
    )
    record_sha256: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="Files: of the file's row (attachment: name, caption, type; issued PDF: "
        "number, template, verification code)",
    )
    title: str


class ArchiveRecordSummary(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    unit_id: int
    archive_number: str
    classification_code: str
    retention_years: int
    security_class: SecurityClass
    title: str
    creator: str
    period_start: datetime
    period_end: datetime
    manifest_sha256: str
    recorded_at: datetime


class ArchiveRecordPublic(IssuedDocumentFields, ArchiveRecordSummary):
    description: str
    note: str | None
    manifest: list[ManifestEntry]
    created_by: uuid.UUID
    occurred_at: datetime


class ArchiveRecordPage(ResponseBody):
    items: list[ArchiveRecordSummary]
    total: int
    limit: int
    offset: int


class Mismatch(ResponseBody):
    type: str
    id: uuid.UUID
    part: str = Field(
        default="content",
        description="content (the row or file), record (a file's row), manifest, or "
        "document (the record's own lembar arsip PDF)",
    )
    expected: str | None = Field(description="As archived; null for a document added since")
    actual: str | None = Field(description="As stored now; null when it is gone")


class VerifyResult(ResponseBody):
    valid: bool
    checked: int = Field(description="Manifest entries checked")
    checked_at: datetime = Field(
        description="When the hashes were computed; an answer is reused for 30 seconds"
    )
    mismatches: list[Mismatch]
