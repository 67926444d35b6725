"""Service clients: city (Pemkot) systems that call the API with OAuth2 client credentials."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field

CLIENT_ID_MAX = 40


class ServiceClient(SQLModel, table=True):
    __tablename__ = "service_clients"

    # Internal key (the principal's id); the API and tokens name a client by `client_id`.
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    client_id: str = Field(max_length=CLIENT_ID_MAX, unique=True)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=500)
    # A subset of ROLE_SCOPES[Role.service]; the client's tokens carry these or fewer.
    scopes: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    # The kecamatan the client acts for; None: every kecamatan.
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    active: bool = True
    # SHA-256 of the secret: it has 256 random bits, so a slow password hash would add
    # nothing but latency to every token request.
    secret_hash: str = Field(max_length=64)
    # Bumped by a secret rotation and by deactivation: every live token stops at once.
    token_version: int = 0
    secret_rotated_at: datetime = utc_field()
    last_token_at: datetime | None = utc_field(nullable=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
