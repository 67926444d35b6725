"""Delegations: a named deputy (Plh or Plt) takes a post's actions in one kecamatan for a
period, and the hash-chained events that recorded and ended each one."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class Position(StrEnum):
    """The posts of a kecamatan that one official holds and a deputy may take."""

    camat = "camat"
    sekcam = "sekcam"
    kasi_trantib = "kasi_trantib"


class DelegationKind(StrEnum):
    # Pelaksana Harian: the holder is away for a while (leave, travel, illness).
    plh = "plh"
    # Pelaksana Tugas: the post is vacant (transfer, retirement).
    plt = "plt"


class Delegation(SQLModel, table=True):
    __tablename__ = "delegations"
    __table_args__ = (
        Index("ix_delegations_post", "unit_id", "position", "starts_at"),
        Index("ix_delegations_delegate", "delegate_id", "starts_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    unit_id: int = Field(foreign_key="units.id")
    position: str = Field(sa_type=String(16))
    kind: str = Field(sa_type=String(8))
    delegate_id: uuid.UUID = Field(foreign_key="users.id")
    starts_at: datetime = utc_field()
    # Open-ended only for a Plt (a vacancy lasts until the post is filled).
    ends_at: datetime | None = utc_field(nullable=True)
    basis_number: str = Field(max_length=120)
    basis_date: date
    note: str | None = Field(default=None, max_length=2000)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = utc_field()
    # A revocation ends it at that moment; what was done under it stays.
    revoked_at: datetime | None = utc_field(nullable=True)
    revoked_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    revoke_reason: str | None = Field(default=None, max_length=2000)
    # When the deputy's gaining (start) and losing (end or revocation) of the post's waiting
    # work was written to the outbox for the fan-out: each edge is told once, at the moment
    # it passes, by the request that made it or by the next fan-out pass after it.
    start_told_at: datetime | None = utc_field(nullable=True)
    end_told_at: datetime | None = utc_field(nullable=True)


class DelegationEvent(SQLModel, table=True):
    """One hash chain per kecamatan of every delegation recorded or revoked there."""

    __tablename__ = "delegation_events"
    __table_args__ = (
        UniqueConstraint("unit_id", "seq", name="uq_delegation_events_seq"),
        UniqueConstraint("unit_id", "prev_hash", name="uq_delegation_events_prev"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    unit_id: int = Field(foreign_key="units.id")
    seq: int
    delegation_id: uuid.UUID = Field(foreign_key="delegations.id", index=True)
    action: str = Field(max_length=32)
    actor_id: uuid.UUID = Field(foreign_key="users.id")
    actor_role: str = Field(max_length=16)
    recorded_at: datetime = utc_field()
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
