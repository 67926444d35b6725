"""Token endpoint forms and answers (RFC 6749 shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import Line


class TokenForm(BaseModel):
    """The form of POST /auth/token (application/x-www-form-urlencoded).

    Fields other grants need (client_id, client_secret) are accepted here so that the form
    stays the same when more grant types arrive.
    """

    grant_type: str = Field(description="`password` or `client_credentials`")
    username: Line | None = None
    password: str | None = None
    scope: str = Field(
        default="", description="Space-separated subset of the role's (or client's) scopes"
    )
    client_id: Line | None = Field(
        default=None, description="client_credentials: the client id, unless sent by HTTP Basic"
    )
    client_secret: str | None = Field(
        default=None, description="client_credentials: the secret, unless sent by HTTP Basic"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"grant_type": "password", "username": "camat.ciledug", "password": "********"},
                {
                    "grant_type": "client_credentials",
                    "client_id": "cli_2sDcmxvR3kQe9XbA1fJt0w",
                    "client_secret": "********",
                },
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
    refresh_token: str | None = Field(
        default=None, description="Absent for grant_type=client_credentials"
    )
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    scope: str = Field(description="The scopes granted, space-separated")
