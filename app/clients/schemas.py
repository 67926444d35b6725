"""Request and response bodies of the service clients API. Only the create and rotate answers
carry a secret, and only the one just issued; nothing carries its hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from app.auth.roles import ROLE_SCOPES, Role
from app.core.schemas import RequestBody, ResponseBody, enum_reference
from app.units.models import UnitPublic

CLIENT_SCOPES: tuple[str, ...] = tuple(sorted(str(s) for s in ROLE_SCOPES[Role.service]))


def _client_scope(value: str) -> str:
    if value not in CLIENT_SCOPES:
        raise ValueError(f"not a scope for service clients; one of {', '.join(CLIENT_SCOPES)}")
    return value


def _distinct_sorted(values: list[str]) -> list[str]:
    return sorted(set(values))


# As answered: declared as the same enum, not checked again (a stored scope stays readable).
ClientScopeName = Annotated[
    str,
    enum_reference("ClientScope", CLIENT_SCOPES, "A scope a service client's tokens may carry"),
]
ClientScope = Annotated[ClientScopeName, AfterValidator(_client_scope)]
ClientScopes = Annotated[
    list[ClientScope],
    Field(
        min_length=1,
        max_length=len(CLIENT_SCOPES) * 2,
        description="Scopes the client's tokens may carry; step actions are never among them",
        examples=[["incidents:read", "sla:read"]],
    ),
    AfterValidator(_distinct_sorted),
]
ClientName = Annotated[str, Field(min_length=3, max_length=120)]
Description = Annotated[str, Field(max_length=500)]


class ClientCreate(RequestBody):
    name: ClientName
    description: Description = ""
    scopes: ClientScopes
    unit_id: int | None = Field(
        default=None, description="The kecamatan the client acts for (or give `unit`)"
    )
    unit: str | None = Field(
        default=None,
        max_length=32,
        description="Kecamatan code or slug (or give `unit_id`); neither: every kecamatan",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Dashboard Command Center Pemkot",
                    "description": "Tangerang Live Room: reads every kecamatan",
                    "scopes": ["incidents:read", "sla:read", "units:read"],
                },
                {
                    "name": "Aplikasi pelaporan Kecamatan Ciledug",
                    "scopes": ["incidents:read", "incidents:write"],
                    "unit": "ciledug",
                },
            ]
        }
    }

    @model_validator(mode="after")
    def _one_unit_reference(self) -> Self:
        if self.unit_id is not None and self.unit is not None:
            raise ValueError("give unit_id or unit, not both")
        return self


class ClientUpdate(RequestBody):
    """Only the fields sent change. The kecamatan of a client never changes: register a new
    client instead."""

    name: ClientName | None = None
    description: Description | None = None
    scopes: ClientScopes | None = None
    active: bool | None = None

    model_config = {
        "json_schema_extra": {"examples": [{"active": False}, {"scopes": ["incidents:read"]}]}
    }

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        return self


class ClientPublic(ResponseBody):
    client_id: str = Field(description="The `client_id` of the client-credentials grant")
    name: str
    description: str
    scopes: list[ClientScopeName]
    unit: UnitPublic | None = Field(description="The kecamatan it acts for; null: every one")
    active: bool
    secret_rotated_at: datetime = Field(description="When the current secret was issued")
    last_token_at: datetime | None = Field(description="When it last obtained a token")
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ClientCreated(ClientPublic):
    client_secret: str = Field(description="Shown only in this answer; store it securely")


class ClientSecret(ResponseBody):
    client_id: str
    client_secret: str = Field(
        description="The new secret, shown only in this answer; the old one no longer works"
    )
    secret_rotated_at: datetime
