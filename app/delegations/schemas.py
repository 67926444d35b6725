"""Delegation requests and answers, and the acting_as record every deputy's act carries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Self

from pydantic import Field, model_validator

from app.auth.roles import Role
from app.core.schemas import AwareDatetime, RequestBody, ResponseBody
from app.core.types import Line
from app.delegations.models import DelegationKind, Position


class ActingAs(ResponseBody):
    """The capacity a deputy acted in, kept with the record as it was at the time."""

    position: Position
    kind: DelegationKind
    delegation_id: uuid.UUID
    capacity: str = Field(examples=["Plh. CAMAT CILEDUG"])
    name: str | None = Field(default=None, description="The deputy's own name at the time")
    nip: str | None = None


class Basis(RequestBody):
    """The appointment letter (Surat Perintah Plh/Plt)."""

    number: Line = Field(min_length=1, max_length=120, examples=["800.1.11.1/012/Kec.Cld/2026"])
    date: date


class DelegationCreate(RequestBody):
    position: Position
    unit: Line = Field(
        min_length=1, max_length=32, description="Kecamatan code (36.71.06) or slug (ciledug)"
    )
    delegate_id: uuid.UUID = Field(
        description="An active officer of the same kecamatan, not an anggota and not the "
        "post's own holder (GET /api/v1/units/{unit}/staff lists them)"
    )
    kind: DelegationKind
    starts_at: AwareDatetime | None = Field(
        default=None, description="When the deputy takes the post; now when left out"
    )
    ends_at: AwareDatetime | None = Field(
        default=None,
        description="When the post returns to its holder: required for a Plh; a Plt may "
        "stay open until the post is filled",
    )
    basis: Basis
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _plh_ends(self) -> Self:
        if self.kind is DelegationKind.plh and self.ends_at is None:
            raise ValueError("a Plh stands in for a while: ends_at is required")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "position": "camat",
                    "unit": "ciledug",
                    "delegate_id": "00000000-0000-0000-0000-000000000000",
                    "kind": "plh",
                    "starts_at": "2026-12-07T07:30:00+07:00",
                    "ends_at": "2026-12-11T16:00:00+07:00",
                    "basis": {"number": "800.1.11.1/012/Kec.Cld/2026", "date": "2026-12-04"},
                    "note": "Camat cuti tahunan",
                }
            ]
        }
    }


class DelegationRevoke(RequestBody):
    reason: str = Field(min_length=1, max_length=2000)

    model_config = {
        "json_schema_extra": {"examples": [{"reason": "Camat kembali bertugas lebih awal"}]}
    }


class PersonRef(ResponseBody):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    nip: str | None


class DelegationPublic(ResponseBody):
    id: uuid.UUID
    unit_id: int
    unit_code: str
    position: Position
    kind: DelegationKind
    capacity: str = Field(examples=["Plh. CAMAT CILEDUG"])
    delegate: PersonRef
    starts_at: datetime
    ends_at: datetime | None
    basis: Basis
    note: str | None
    created_by: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: uuid.UUID | None
    revoke_reason: str | None
    in_force: bool = Field(description="In force at the time of this answer")


class DelegationEventPublic(ResponseBody):
    seq: int
    delegation_id: uuid.UUID
    action: str
    actor_id: uuid.UUID
    actor_role: Role = Field(description="The actor's own role")
    recorded_at: datetime
    data: dict[str, object]
    prev_hash: str
    hash: str


class DelegationAudit(ResponseBody):
    """A kecamatan's delegation events, oldest first, in `items` like every list."""

    unit_id: int
    items: list[DelegationEventPublic]
    events: list[DelegationEventPublic] = Field(
        deprecated="The same list as `items`, kept for clients written before it"
    )
    chain_valid: bool
    first_broken_seq: int | None


class PostHolder(ResponseBody):
    position: Position
    jabatan: str = Field(examples=["CAMAT CILEDUG"])
    holder: PersonRef | None = Field(description="The post's own active holder (definitif)")
    acting: DelegationPublic | None = Field(description="The Plh or Plt in force now")
    vacant: bool = Field(description="No holder and no Plt: work waiting on the post stalls")


class HeldPost(ResponseBody):
    """A post the caller takes the actions of now."""

    position: str
    kind: str = Field(description="own (the caller's role), plh or plt")
    delegation_id: uuid.UUID | None = None
    capacity: str | None = Field(default=None, examples=["Plh. CAMAT CILEDUG"])
    ends_at: datetime | None = None
