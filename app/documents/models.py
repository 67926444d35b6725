"""Issued documents (rendered once, kept by content), the kop surat, signed copies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class DocumentKind(StrEnum):
    surat_perintah = "surat_perintah"
    laporan_pelaksanaan = "laporan_pelaksanaan"
    lembar_arsip = "lembar_arsip"


class IssuedDocument(SQLModel, table=True):
    """A document as it was issued: its bytes live in the content-addressed store, by sha256.

    `subject_id` is the row it was issued from (the order, the approved report version, the
    archive record). `data` holds exactly what the template was given, so the same bytes can
    be made again from it and checked, and `verification_code` is the QR's public key.
    """

    __tablename__ = "issued_documents"
    __table_args__ = (UniqueConstraint("kind", "subject_id", name="uq_issued_documents_subject"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    unit_id: int = Field(foreign_key="units.id")
    kind: str = Field(sa_type=String(24))
    subject_id: uuid.UUID
    number: str = Field(max_length=120)
    issued_on: date
    signer_jabatan: str = Field(max_length=200)
    template: str = Field(max_length=64)
    template_sha256: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    size: int
    storage_key: str = Field(max_length=255)
    page_count: int
    verification_code: str = Field(max_length=64, unique=True)
    data: dict[str, Any] = Field(sa_type=JSONDoc)
    issued_by: uuid.UUID = Field(foreign_key="users.id")
    issued_at: datetime = utc_field()


class Letterhead(SQLModel, table=True):
    """A kecamatan's kop surat. A later change reaches new documents only: an issued one keeps
    the kop it was rendered with."""

    __tablename__ = "letterheads"

    unit_id: int = Field(foreign_key="units.id", primary_key=True)
    government: str = Field(max_length=120)
    office: str = Field(max_length=120)
    address: str = Field(max_length=300)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=120)
    website: str | None = Field(default=None, max_length=120)
    # The kecamatan's emblem, kept by content beside the attachments; none: the placeholder.
    logo_sha256: str | None = Field(default=None, max_length=64)
    logo_content_type: str | None = Field(default=None, max_length=16)
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = utc_field()


class SignatureMethod(StrEnum):
    tte_bsre = "tte_bsre"
    basah = "basah"


class SignedCopy(SQLModel, table=True):
    """An order as signed outside the service: BSrE's TTE PDF, or a scan of the wet-ink
    signature (the Surat Perintah Walikota, issued outside the kecamatan, the same way)."""

    __tablename__ = "signed_copies"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="orders.id", index=True)
    incident_id: uuid.UUID = Field(foreign_key="incidents.id", index=True)
    method: str = Field(sa_type=String(16))
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=255)
    uploaded_by: uuid.UUID = Field(foreign_key="users.id")
    recorded_at: datetime = utc_field()
