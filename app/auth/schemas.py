"""Token endpoint forms and answers (RFC 6749 shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TokenForm(BaseModel):
    """The form of POST /auth/token (application/x-www-form-urlencoded).

    Fields other grants need (client_id, client_secret) are accepted here so that the form
    stays the same when more grant types arrive.
    """

    grant_type: str = Field(description="`password` (more grant types may be added)")
    username: str | None = None
    password: str | None = None
    scope: str = Field(default="", description="Space-separated subset of the role's scopes")
    client_id: str | None = None
    client_secret: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"grant_type": "password", "username": "camat.ciledug", "password": "********"}
            ]
        }
    )


class RefreshRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "mF_9.B5f-4.1JqM"}]},
    )

    refresh_token: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    scope: str = Field(description="The scopes granted, space-separated")
