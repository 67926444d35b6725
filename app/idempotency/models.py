"""Stored responses of POSTs sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"

    # The caller (token subject) and their key: keys are scoped to the caller.
    caller: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64, description="sha256 of method, path and body")
    state: str = Field(max_length=16)  # in_flight | done
    status_code: int | None = None
    headers: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    body: str | None = None
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field(index=True)
