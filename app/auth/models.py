"""Refresh tokens (opaque, stored hashed, rotated), revoked access-token ids, failed logins."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import UTCDateTime


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    # Every token rotated from one login shares a family; reusing a spent token kills it.
    family_id: uuid.UUID = Field(index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    # The scopes granted at login; a refresh never widens them.
    scope: str = Field(default="", max_length=1024)
    issued_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class RevokedToken(SQLModel, table=True):
    """Access tokens revoked one by one (logout); kept until they would have expired."""

    __tablename__ = "revoked_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class LoginFailure(SQLModel, table=True):
    """One failed password login; the login rate limit counts these.

    Kept in the database rather than in process memory so the limit holds when several API
    processes share the load. Rows older than the window are deleted as new ones arrive.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_failed_at", "username", "failed_at"),
        Index("ix_login_failures_address_failed_at", "address", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The name as typed (normalised), whether or not such a user exists.
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    failed_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False)
    )
