"""Users: kecamatan staff, city oversight and administrators."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Index, String, text
from sqlmodel import Field, SQLModel

from app.auth.roles import Role
from app.core import clock
from app.core.types import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # One active camat, sekcam and kasi_trantib per kecamatan.
        Index(
            "uq_users_single_holder",
            "unit_id",
            "role",
            unique=True,
            sqlite_where=text("active AND role IN ('camat', 'sekcam', 'kasi_trantib')"),
            postgresql_where=text("active AND role IN ('camat', 'sekcam', 'kasi_trantib')"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=128)
    nip: str | None = Field(default=None, max_length=18)
    role: Role = Field(sa_type=String(16))
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    active: bool = True
    is_demo: bool = False
    password_hash: str = Field(max_length=256)
    # Bumped by logout, deactivation, password or role change: older tokens stop at once.
    token_version: int = 0
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False)
    )
