"""Bodies of the documents' endpoints, and the fields an issued document adds to its resource."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from app.core.schemas import RequestBody, ResponseBody
from app.documents.models import SignatureMethod


class DocumentStatus(StrEnum):
    """An issued document as it stands: in force, replaced by a later one, or cancelled."""

    valid = "valid"
    superseded = "superseded"
    cancelled = "cancelled"


class IssuedDocumentFields(ResponseBody):
    document_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the issued PDF (GET …/document serves exactly these bytes); "
        "null until it is issued",
    )
    verification_url: str | None = Field(
        default=None, description="The public verification page the document's QR leads to"
    )


class LetterheadBody(RequestBody):
    """A kecamatan's kop surat, as printed at the head of its letters."""

    government: str = Field(min_length=3, max_length=120, examples=["PEMERINTAH KOTA TANGERANG"])
    office: str = Field(min_length=3, max_length=120, examples=["KECAMATAN CILEDUG"])
    address: str = Field(
        min_length=3,
        max_length=300,
        examples=["Jalan H. Jamat No. 1, Kelurahan Sudimara Timur, Kota Tangerang, Banten 15151"],
    )
    phone: str | None = Field(default=None, max_length=64, examples=["(021) 7321234"])
    email: str | None = Field(default=None, max_length=120)
    website: str | None = Field(default=None, max_length=120)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "government": "PEMERINTAH KOTA TANGERANG",
                    "office": "KECAMATAN CILEDUG",
                    "address": "Jalan H. Jamat No. 1, Kelurahan Sudimara Timur, "
                    "Kota Tangerang, Banten 15151",
                    "phone": "(021) 7321234",
                    "email": "kec.ciledug@tangerangkota.go.id",
                    "website": "ciledug.tangerangkota.go.id",
                }
            ]
        }
    }


class LetterheadPublic(LetterheadBody):
    # The kop as stored: every field is sent, null when unset (see ResponseBody).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    unit: str = Field(description="The kecamatan's code")
    is_default: bool = Field(description="True until an administrator sets the kop")
    updated_at: datetime | None
    logo_sha256: str | None = Field(
        default=None, description="The emblem printed in the kop; null: the placeholder"
    )
    logo_content_type: Literal["image/png", "image/jpeg"] | None = None


class SignedCopyPublic(ResponseBody):
    id: uuid.UUID
    order_id: uuid.UUID
    incident_id: uuid.UUID
    method: SignatureMethod
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: uuid.UUID
    recorded_at: datetime


class VerificationStatus(ResponseBody):
    """What the public may learn of an issued document: its identity and whether it stands."""

    document_type: str = Field(examples=["Surat Perintah"])
    number: str
    issued_on: date
    kecamatan: str
    signer_jabatan: str = Field(examples=["CAMAT CILEDUG"])
    status: DocumentStatus
    status_since: datetime | None = Field(description="When it was superseded or cancelled")
    sha256: str
    pages: int


class VerificationMatch(ResponseBody):
    matches: bool = Field(description="True when the PDF sent is byte-identical to the one issued")
    sha256: str = Field(description="SHA-256 of the bytes sent")
    issued_sha256: str
    status: DocumentStatus
