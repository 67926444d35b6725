"""Request and response bodies for the briefing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from app.core.schemas import ActionBody, AsStored, RequestBody, ResponseBody

MAX_MEMBERS = 30


class EquipmentItem(RequestBody):
    """One kelengkapan item: a count (vehicles, shields…) or a plain yes/no."""

    count: int | None = Field(default=None, ge=0, le=10_000)
    available: bool | None = None
    notes: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _declared(self) -> EquipmentItem:
        if self.count is None and self.available is None:
            raise ValueError("give a count or available")
        return self

    @property
    def is_available(self) -> bool:
        return (self.count is not None and self.count > 0) or self.available is True


class Equipment(RequestBody):
    """The kelengkapan of the field work as the Danru checked it at the briefing."""

    seragam: EquipmentItem | None = None
    alat_penertiban: EquipmentItem | None = None
    kendaraan: EquipmentItem | None = None
    perlengkapan: EquipmentItem | None = None


class BriefingCreate(ActionBody):
    members: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_MEMBERS,
        description="The anggota briefed for the field work (active, of the incident's "
        "kecamatan); each of them submits a field report",
    )
    equipment: Equipment
    note: str | None = Field(default=None, max_length=4000, description="Arahan given")

    @field_validator("members")
    @classmethod
    def _unique(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(value)) != len(value):
            raise ValueError("members are listed more than once")
        return value

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "members": ["5f0c2f43-4a4e-4f7e-9d5c-0a8f3e0d6a11"],
                    "equipment": {
                        "seragam": {"available": True},
                        "alat_penertiban": {"count": 10, "notes": "tameng, tongkat, HT"},
                        "kendaraan": {"count": 2, "notes": "B 1234 XYZ, B 5678 XYZ"},
                        "perlengkapan": {"available": True, "notes": "P3K, megafon"},
                    },
                    "note": "Apel di halaman kantor kecamatan pukul 07.30",
                }
            ]
        }
    }


class BriefingPublic(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    members: list[uuid.UUID]
    equipment: Annotated[dict[str, Any], AsStored(Equipment)] = Field(
        description="As the Danru checked it: items not given are absent, not null"
    )
    note: str | None
    created_by: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
