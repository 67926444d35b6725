"""Orders: the Surat Perintah Walikota, the Surat Perintah, dispatch."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel

from app.core.schemas import (
    PLACEHOLDER_ID,
    ActionBody,
    AsStored,
    AwareDatetime,
    RequestBody,
    ResponseBody,
)
from app.delegations.schemas import ActingAs
from app.documents.schemas import IssuedDocumentFields
from app.drafts.schemas import OrderDraftContent
from app.orders.models import OrderKind


class PoliceCoordination(RequestBody):
    officer: str = Field(min_length=2, max_length=120, description="Police officer contacted")
    police_unit: str = Field(min_length=2, max_length=120, description="e.g. Polsek Ciledug")
    contacted_at: AwareDatetime
    notes: str | None = Field(default=None, max_length=2000)


# A number is recorded once per kecamatan: the example's is plainly one to replace.
WALIKOTA_EXAMPLE: dict[str, Any] = {
    "kind": "walikota",
    "number": "GANTI-NOMOR/001/Trantib/2026",
    "issued_on": "2026-11-28",
    "issuer": "Wali Kota Tangerang",
    "police_coordination": {
        "officer": "AKP Rahmat",
        "police_unit": "Polsek Ciledug",
        "contacted_at": "2026-11-28T08:30:00+07:00",
    },
}
SURAT_PERINTAH_EXAMPLE: dict[str, Any] = {"kind": "surat_perintah", "draft_id": PLACEHOLDER_ID}


class WalikotaOrderCreate(ActionBody):
    """The Camat records the Surat Perintah Walikota and orders the Kasi Trantib."""

    kind: Literal["walikota"]
    number: str = Field(min_length=3, max_length=80, description="Number as on the letter")
    issued_on: date
    issuer: str = Field(min_length=3, max_length=200, description="e.g. Wali Kota Tangerang")
    police_coordination: PoliceCoordination

    model_config = {"json_schema_extra": {"examples": [WALIKOTA_EXAMPLE]}}


class SuratPerintahCreate(ActionBody):
    """The Camat validates the fully verified draft into the numbered Surat Perintah."""

    kind: Literal["surat_perintah"]
    draft_id: uuid.UUID
    issued_on: date | None = Field(default=None, description="Defaults to today (WIB)")

    model_config = {"json_schema_extra": {"examples": [SURAT_PERINTAH_EXAMPLE]}}


OrderCreate = Annotated[WalikotaOrderCreate | SuratPerintahCreate, Field(discriminator="kind")]

# Swagger UI's example picker on POST /incidents/{id}/orders.
ORDER_EXAMPLES: dict[str, Any] = {
    "walikota": {
        "summary": "Step 1: the Surat Perintah Walikota (Camat)",
        "description": "Replace `number` with the letter's own number: a number is recorded "
        "once per kecamatan (409 `number-taken` the second time).",
        "value": WALIKOTA_EXAMPLE,
    },
    "surat_perintah": {
        "summary": "Step 5: validate the verified draft into the Surat Perintah (Camat)",
        "description": "Replace `draft_id` with the `id` of the approved order draft.",
        "value": SURAT_PERINTAH_EXAMPLE,
    },
}


class DispatchBody(ActionBody):
    """The Kasi Trantib gives the execution order to a Danru."""

    danru_id: uuid.UUID
    note: str | None = Field(default=None, max_length=4000)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "danru_id": "5f1d8a52-3c1e-4b7a-9e0d-2a6b7c8d9e01",
                    "note": "Laksanakan sesuai Surat Perintah",
                }
            ]
        }
    }


class WalikotaOrderContent(ResponseBody):
    """The Surat Perintah Walikota as the Camat recorded it (the request without its times)."""

    # Exactly the request's members, as the other contents are.
    model_config = ConfigDict(extra="forbid")

    kind: Literal["walikota"]
    number: str
    issued_on: date
    issuer: str
    police_coordination: PoliceCoordination


class SuratPerintahContent(OrderDraftContent):
    """The validated Surat Perintah: the approved draft's plan and letter (its `tanggal` set
    on validation if the draft left it empty), with the number given and the day issued."""

    nomor: str = Field(description="The number the service gave, as on the letter")
    issued_on: date


class _OrderFields(IssuedDocumentFields):
    id: uuid.UUID
    incident_id: uuid.UUID
    unit_id: int
    kind: OrderKind
    number: str
    year: int | None
    sequence: int | None
    issued_on: date
    issuer: str
    police_coordination: Annotated[dict[str, Any], AsStored(PoliceCoordination)] | None
    draft_id: uuid.UUID | None
    draft_version: int | None
    content: dict[str, Any]
    content_sha256: str = Field(description="SHA-256 of `content` as canonical JSON")
    created_by: uuid.UUID
    acting_as: ActingAs | None = Field(
        default=None,
        description="Set when a deputy recorded it: the signer's capacity (Plh./Plt.), name "
        "and NIP as they were",
    )
    occurred_at: datetime
    recorded_at: datetime
    dispatched_to: uuid.UUID | None
    dispatch_note: str | None
    dispatched_at: datetime | None


class WalikotaOrderPublic(_OrderFields):
    """The Surat Perintah Walikota (kind walikota): recorded by the Camat, not numbered here."""

    kind: Literal[OrderKind.walikota]
    police_coordination: Annotated[dict[str, Any], AsStored(PoliceCoordination)]
    content: Annotated[dict[str, Any], AsStored(WalikotaOrderContent)]


class SuratPerintahOrderPublic(_OrderFields):
    """The Surat Perintah (kind surat_perintah): the verified draft, numbered by the service."""

    kind: Literal[OrderKind.surat_perintah]
    year: int
    sequence: int
    draft_id: uuid.UUID
    draft_version: int
    content: Annotated[dict[str, Any], AsStored(SuratPerintahContent)]


class OrderPublic(
    RootModel[
        Annotated[WalikotaOrderPublic | SuratPerintahOrderPublic, Field(discriminator="kind")]
    ]
):
    """An order, typed by its `kind` like the request that made it."""
