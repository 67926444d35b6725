"""Refresh tokens (opaque, stored hashed, rotated), revoked access-token ids, failed logins."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column
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


class LoginThrottle(SQLModel, table=True):
    """One streak of login attempts: of an account from an address (`pair|name|address`),
    of an account from anywhere (`account|name`) or of an address (`address|address`).

    Kept in the database so the throttle holds across API processes; see app.auth.throttle.
    """

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=160)
    # Attempts let through in the current streak, counted before their password is checked.
    attempts: int = Field(default=0)
    last_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The next attempt is refused (429) before this time.
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Set for a pair after a successful login: it then counts against its own streak only.
    trusted_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
