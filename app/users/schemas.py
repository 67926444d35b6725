"""Request and response bodies of the users API. None of them carries a password hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from app.auth.roles import STAFF_ROLES, Role
from app.core.schemas import ResponseBody
from app.core.security import PASSWORD_MAX, PASSWORD_MIN
from app.core.types import Line
from app.delegations.schemas import HeldPost
from app.units.models import UnitPublic


def _lower_stripped(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Username = Annotated[
    str,
    BeforeValidator(_lower_stripped),
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$",
        description="Lowercase letters, digits, '.', '_' and '-'; e.g. camat.ciledug",
        examples=["kasi.ciledug"],
    ),
]
FullName = Annotated[Line, BeforeValidator(_stripped), Field(min_length=1, max_length=128)]
Nip = Annotated[
    str,
    BeforeValidator(_stripped),
    Field(pattern=r"^[0-9]{18}$", description="Nomor Induk Pegawai: 18 digits"),
]


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("password must not contain control characters")
    return value


def _staff_role(value: Role) -> Role:
    if value not in STAFF_ROLES:
        raise ValueError("the service role is for service clients (POST /api/v1/clients)")
    return value


StaffRole = Annotated[Role, AfterValidator(_staff_role)]

Password = Annotated[
    str,
    Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX, description="Set, never returned"),
    AfterValidator(_no_control_chars),
]


class UserCreate(ResponseBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "kasi.ciledug",
                    "full_name": "Budi Santoso",
                    "nip": "198001012005011001",
                    "role": "kasi_trantib",
                    "unit": "ciledug",
                    "password": "ganti-kata-sandi-ini",
                }
            ]
        },
    )

    username: Username
    full_name: FullName
    nip: Nip | None = None
    role: StaffRole
    unit_id: int | None = Field(default=None, description="Kecamatan id (or give `unit`)")
    unit: str | None = Field(
        default=None,
        description="Kecamatan code or slug, e.g. 36.71.06 or ciledug (or give `unit_id`)",
    )
    password: Password


class UserUpdate(ResponseBody):
    """Only the fields sent change. `unit_id` and `nip` may be set to null."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"full_name": "Budi Santoso, S.H.", "active": True}]},
    )

    role: StaffRole | None = None
    unit_id: int | None = None
    active: bool | None = None
    full_name: FullName | None = None
    nip: Nip | None = None

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        for name in ("role", "active", "full_name"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class PasswordReset(ResponseBody):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "ganti-kata-sandi-ini"}]}
    )

    password: Password


class UserPublic(ResponseBody):
    id: uuid.UUID
    username: str
    full_name: str
    nip: str | None
    role: Role
    unit: UnitPublic | None
    active: bool
    is_demo: bool
    created_at: datetime
    updated_at: datetime


class Me(ResponseBody):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    unit: UnitPublic | None
    scopes: list[str] = Field(
        description="The scopes of the token used for this call, with those of the posts the "
        "caller takes as a deputy now"
    )
    posts: list[HeldPost] = Field(
        default_factory=list,
        description="The kecamatan roles whose actions the caller takes now: their own, and "
        "each post they are Plh or Plt of",
    )
