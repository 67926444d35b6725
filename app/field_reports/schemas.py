"""Request and response bodies for field reports and their attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from app.core.schemas import ActionBody, AwareDatetime, RequestBody, ResponseBody


class Situation(StrEnum):
    """The situation at the end of the field work."""

    kondusif = "kondusif"
    tegang = "tegang"
    ricuh = "ricuh"


class ActionTaken(StrEnum):
    pemantauan = "pemantauan"
    pengamanan_objek = "pengamanan_objek"
    pengaturan_lalu_lintas = "pengaturan_lalu_lintas"
    isolasi = "isolasi"
    negosiasi = "negosiasi"
    himbauan = "himbauan"
    evakuasi = "evakuasi"
    dukungan_pembubaran = "dukungan_pembubaran"  # Polri leads; Trantib supports


class CasualtyCategory(StrEnum):
    peserta = "peserta"
    warga = "warga"
    petugas_trantib = "petugas_trantib"
    polri_tni = "polri_tni"
    lainnya = "lainnya"


class Severity(StrEnum):
    luka_ringan = "luka_ringan"
    luka_berat = "luka_berat"
    meninggal = "meninggal"


class OwnerType(StrEnum):
    fasum = "fasum"
    pemda = "pemda"
    swasta = "swasta"
    perorangan = "perorangan"


class ReportLocation(RequestBody):
    address: str = Field(min_length=3, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Casualty(RequestBody):
    category: CasualtyCategory
    severity: Severity
    count: int = Field(ge=1, le=100_000)
    care: str | None = Field(default=None, max_length=500, description="Care given on site")
    hospital: str | None = Field(default=None, max_length=200, description="Referral hospital")


class Damage(RequestBody):
    object: str = Field(min_length=2, max_length=200)
    owner_type: OwnerType
    description: str | None = Field(default=None, max_length=2000)
    estimated_value_idr: int | None = Field(default=None, ge=0)


class Handover(RequestBody):
    """Persons secured and handed to Polri (Trantib does not hold them)."""

    count: int = Field(ge=1, le=10_000)
    identities: list[str] | None = Field(default=None, max_length=200)
    handed_at: AwareDatetime
    police_unit: str = Field(min_length=2, max_length=120)
    officer: str = Field(min_length=2, max_length=120)
    minutes_number: str = Field(
        min_length=1, max_length=80, description="Nomor berita acara serah terima"
    )


class FieldReportCreate(ActionBody):
    started_at: AwareDatetime
    ended_at: AwareDatetime
    location: ReportLocation
    crowd_estimate: int = Field(ge=0, le=10_000_000, description="Observed crowd at its peak")
    situation: Situation
    actions_taken: list[ActionTaken] = Field(min_length=1, max_length=len(ActionTaken))
    notes: str | None = Field(default=None, max_length=8000, description="Chronology and remarks")
    casualties: list[Casualty] = Field(default_factory=list, max_length=100)
    damage: list[Damage] = Field(default_factory=list, max_length=100)
    handovers_to_police: list[Handover] = Field(default_factory=list, max_length=100)

    @field_validator("actions_taken")
    @classmethod
    def _distinct(cls, value: list[ActionTaken]) -> list[ActionTaken]:
        if len(set(value)) != len(value):
            raise ValueError("an action is listed more than once")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FieldReportCreate:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "started_at": "2026-11-28T08:00:00+07:00",
                    "ended_at": "2026-11-28T11:30:00+07:00",
                    "location": {
                        "address": "Jl. HOS Cokroaminoto No. 1",
                        "lat": -6.2297,
                        "lon": 106.7108,
                    },
                    "crowd_estimate": 300,
                    "situation": "kondusif",
                    "actions_taken": ["pemantauan", "pengaturan_lalu_lintas", "himbauan"],
                    "notes": "Massa membubarkan diri dengan tertib pukul 11.15",
                }
            ]
        }
    }


class FieldReportPublic(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    author_id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    location: ReportLocation
    crowd_estimate: int
    situation: Situation
    actions_taken: list[ActionTaken]
    notes: str | None
    casualties: list[Casualty]
    damage: list[Damage]
    handovers_to_police: list[Handover]
    content_sha256: str = Field(description="SHA-256 of the report's content as stored")
    occurred_at: datetime
    recorded_at: datetime


class FieldWorkClose(ActionBody):
    reason: str = Field(min_length=5, max_length=2000)

    model_config = {
        "json_schema_extra": {
            "examples": [{"reason": "Anggota ketiga ditarik untuk tugas lain; situasi kondusif"}]
        }
    }


class FieldWorkClosed(ResponseBody):
    incident_id: uuid.UUID
    current_step: int
    reason: str
    reported: list[uuid.UUID] = Field(description="Briefed members who reported")
    not_reported: list[uuid.UUID] = Field(description="Briefed members who had not reported")
    occurred_at: datetime


class AttachmentPublic(ResponseBody):
    id: uuid.UUID
    field_report_id: uuid.UUID
    incident_id: uuid.UUID
    filename: str
    content_type: str = Field(description="Decided from the file's first bytes")
    size: int
    sha256: str
    caption: str | None
    uploaded_by: uuid.UUID
    recorded_at: datetime
