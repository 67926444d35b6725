"""Drafts: the plan and draft Surat Perintah and the draft report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, RootModel, model_validator

from app.core.schemas import (
    PLACEHOLDER_ID,
    ActionBody,
    AsStored,
    AwareDatetime,
    RequestBody,
    ResponseBody,
)
from app.documents.schemas import IssuedDocumentFields
from app.drafts.models import DraftKind, DraftStatus
from app.incidents.models import EscalationLevel
from app.sop.definition import stage_field


class SigningCapacity(StrEnum):
    definitif = "definitif"
    plt = "plt"
    plh = "plh"
    an = "an"  # atas nama
    ub = "ub"  # untuk beliau


class Urgency(StrEnum):
    biasa = "biasa"
    segera = "segera"
    sangat_segera = "sangat_segera"


class Addressee(RequestBody):
    nama: str = Field(min_length=2, max_length=120)
    pangkat_golongan: str | None = Field(default=None, max_length=64)
    nip: str | None = Field(default=None, pattern=r"^\d{18}$")
    jabatan: str = Field(min_length=2, max_length=120)


class Signer(RequestBody):
    jabatan: str = Field(min_length=2, max_length=120, description="e.g. CAMAT CILEDUG")
    nama: str = Field(min_length=2, max_length=120)
    nip: str | None = Field(default=None, pattern=r"^\d{18}$")
    pangkat_golongan: str | None = Field(default=None, max_length=64)
    kapasitas: SigningCapacity = SigningCapacity.definitif


class Letter(RequestBody):
    """The Surat Perintah layout: dasar, kepada, untuk, place and date, signer, tembusan."""

    menimbang: list[str] = Field(default_factory=list, max_length=20)
    dasar: list[str] = Field(
        min_length=1, max_length=20, description="Legal basis, incl. the Surat Perintah Walikota"
    )
    kepada: list[Addressee] = Field(min_length=1, max_length=100)
    untuk: list[str] = Field(min_length=1, max_length=30, description="Numbered tasks")
    tempat: str = Field(default="Tangerang", max_length=64)
    tanggal: date | None = Field(default=None, description="Set when validated if empty")
    penandatangan: Signer
    tembusan: list[str] = Field(default_factory=list, max_length=20)
    sifat: Urgency = Urgency.segera


class Plan(RequestBody):
    """The handling plan (rencana pelaksanaan)."""

    summary: str = Field(min_length=3, max_length=4000)
    personnel_count: int = Field(ge=1, le=1000)
    assembly_point: str = Field(min_length=2, max_length=200)
    assembly_at: AwareDatetime | None = None
    tasks: list[str] = Field(default_factory=list, max_length=50)
    equipment: list[str] = Field(default_factory=list, max_length=50)
    coordination: list[str] = Field(
        default_factory=list, max_length=20, description="Polri, TNI, Dishub, …"
    )
    risks: str | None = Field(default=None, max_length=4000)


class FinalSituation(StrEnum):
    kondusif = "kondusif"
    belum_kondusif = "belum_kondusif"


class ChronologyEntry(RequestBody):
    at: AwareDatetime
    description: str = Field(min_length=2, max_length=2000)
    escalation_level: EscalationLevel | None = None


# The two contents are also answered as stored (ResponseBody: every member is sent).
class OrderDraftContent(RequestBody, ResponseBody):
    plan: Plan
    letter: Letter


# The report's fields, shared by the draft as written (POST) and its changes (PATCH): a
# change held to looser rules was merged into the content and failed there, as a 500.
Summary = Annotated[str, Field(min_length=3, max_length=8000)]
FieldReportIds = Annotated[list[uuid.UUID], Field(min_length=1, max_length=100)]
Chronology = Annotated[list[ChronologyEntry], Field(max_length=200)]
Remarks = Annotated[str, Field(max_length=4000)]


class ReportDraftContent(RequestBody, ResponseBody):
    summary: Summary
    field_report_ids: FieldReportIds
    chronology: Chronology = Field(default_factory=list)
    final_situation: FinalSituation
    recommendations: Remarks | None = None
    follow_up: Remarks | None = None


ORDER_DRAFT_EXAMPLE: dict[str, Any] = {
    "kind": "order",
    "plan": {
        "summary": "Pengamanan unjuk rasa warga di depan Kantor Kecamatan",
        "personnel_count": 20,
        "assembly_point": "Halaman Kantor Kecamatan Ciledug",
        "coordination": ["Polsek Ciledug", "Koramil Ciledug"],
    },
    "letter": {
        "dasar": ["Surat Perintah Walikota No. GANTI-NOMOR/001/Trantib/2026"],
        "kepada": [{"nama": "Andi Wijaya", "jabatan": "Danru Trantib"}],
        "untuk": ["Mengamankan jalannya unjuk rasa di depan Kantor Kecamatan"],
        "penandatangan": {"jabatan": "CAMAT CILEDUG", "nama": "Drs. H. Ahmad"},
    },
}
REPORT_DRAFT_EXAMPLE: dict[str, Any] = {
    "kind": "report",
    "summary": "Unjuk rasa berlangsung tertib dan bubar pukul 12.00 WIB",
    "field_report_ids": [PLACEHOLDER_ID],
    "chronology": [
        {
            "at": "2026-11-28T09:00:00+07:00",
            "description": "Massa berkumpul di depan Kantor Kecamatan",
            "escalation_level": "hijau",
        }
    ],
    "final_situation": "kondusif",
}


class OrderDraftCreate(OrderDraftContent, ActionBody):
    kind: Literal["order"]

    model_config = {"json_schema_extra": {"examples": [ORDER_DRAFT_EXAMPLE]}}


class ReportDraftCreate(ReportDraftContent, ActionBody):
    kind: Literal["report"]

    model_config = {"json_schema_extra": {"examples": [REPORT_DRAFT_EXAMPLE]}}


DraftCreate = Annotated[OrderDraftCreate | ReportDraftCreate, Field(discriminator="kind")]

# Swagger UI's example picker on POST /incidents/{id}/drafts.
DRAFT_EXAMPLES: dict[str, Any] = {
    "order": {
        "summary": "Step 3: the plan and the draft Surat Perintah (Danru)",
        "description": "Fit the plan and the letter to the incident; nothing here must change "
        "for the walkthrough.",
        "value": ORDER_DRAFT_EXAMPLE,
    },
    "report": {
        "summary": "Step 9: the draft execution report (Danru)",
        "description": "Replace `field_report_ids` with the `id`s of the members' field "
        "reports (GET /incidents/{id}/field-reports lists them).",
        "value": REPORT_DRAFT_EXAMPLE,
    },
}


class DraftUpdate(ActionBody):
    """Fields to replace; which ones apply depends on the draft's kind."""

    plan: Plan | None = None
    letter: Letter | None = None
    summary: Summary | None = None
    field_report_ids: FieldReportIds | None = None
    chronology: Chronology | None = None
    final_situation: FinalSituation | None = None
    # null clears these two; every other field is required in the draft and stays set.
    recommendations: Remarks | None = None
    follow_up: Remarks | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"summary": "Unjuk rasa berlangsung tertib dan bubar pukul 12.30 WIB"}]
        }
    }

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> Self:
        cleared = sorted(
            name
            for name in self.model_fields_set - _CLEARABLE
            if getattr(self, name) is None and name != "occurred_at"
        )
        if cleared:
            raise ValueError(f"may not be null: {', '.join(cleared)}")
        return self


_CLEARABLE = frozenset({"recommendations", "follow_up"})


class SubmitBody(ActionBody):
    model_config = {
        "json_schema_extra": {"examples": [{}, {"occurred_at": "2026-11-28T10:15:00+07:00"}]}
    }


DraftContent = OrderDraftContent | ReportDraftContent


class DraftVersionPublic(ResponseBody):
    number: int
    content: Annotated[dict[str, Any], AsStored(DraftContent)] = Field(
        description="The version's content: a draft order's plan and letter, or a draft "
        "report (the draft's `kind` says which)"
    )
    content_sha256: str = Field(description="SHA-256 of `content` as canonical JSON")
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class ReportPublic(IssuedDocumentFields, DraftVersionPublic):
    """The Laporan Pelaksanaan: the approved version of the report draft, and its PDF."""

    content: Annotated[dict[str, Any], AsStored(ReportDraftContent)]


class _DraftFields(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    unit_id: int
    kind: DraftKind
    status: DraftStatus
    stage: str | None = stage_field()
    current_version: int
    author_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int
    content: dict[str, Any]
    content_sha256: str = Field(description="SHA-256 of `content` as canonical JSON")


class OrderDraftPublic(_DraftFields):
    """The plan and draft Surat Perintah (kind order)."""

    kind: Literal[DraftKind.order]
    content: Annotated[dict[str, Any], AsStored(OrderDraftContent)] = Field(
        description="The current version's plan and letter"
    )


class ReportDraftPublic(_DraftFields):
    """The draft execution report (kind report)."""

    kind: Literal[DraftKind.report]
    content: Annotated[dict[str, Any], AsStored(ReportDraftContent)] = Field(
        description="The current version's report"
    )


class DraftPublic(
    RootModel[Annotated[OrderDraftPublic | ReportDraftPublic, Field(discriminator="kind")]]
):
    """A draft with its current version, typed by its `kind` like the request that made it."""


class DraftVersionList(ResponseBody):
    """Every version of a draft, oldest first, in `items` like every list."""

    draft_id: uuid.UUID
    items: list[DraftVersionPublic]
    versions: list[DraftVersionPublic] = Field(
        deprecated="The same list as `items`, kept for clients written before it"
    )
