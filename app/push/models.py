"""Web Push: the phones' subscriptions, one delivery per (subscription, notification), and
the fan-out's cursor over the notifications table."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class PushStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class PushSubscription(SQLModel, table=True):
    """A browser's PushSubscription: where its push service takes messages for it, and the
    keys they are encrypted to (RFC 8291). The endpoint is the identity: a phone handed to
    the next shift keeps its endpoint and moves to whoever subscribed last."""

    __tablename__ = "push_subscriptions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    endpoint: str = Field(max_length=2048, unique=True)
    # The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url.
    p256dh: str = Field(max_length=100)
    auth: str = Field(max_length=40)
    user_agent: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    last_delivered_at: datetime | None = utc_field(nullable=True)


class PushDelivery(SQLModel, table=True):
    __tablename__ = "push_deliveries"
    __table_args__ = (
        # A fan-out repeated after a crash writes each pair once.
        UniqueConstraint("subscription_id", "notification_id", name="uq_push_deliveries_pair"),
        Index("ix_push_deliveries_due", "status", "next_attempt_at"),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name="ck_push_deliveries_status"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        foreign_key="push_subscriptions.id", ondelete="CASCADE", index=True
    )
    notification_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"),
            ForeignKey("notifications.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    # What is sent, fixed at fan-out: the lock-screen text and the headers' values.
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    urgency: str = Field(max_length=8)
    topic: str | None = Field(default=None, max_length=32)
    # The message is worth sending until then (the step's due time, bounded): the TTL header
    # of every attempt is what is left of it, and retries stop there.
    expires_at: datetime = utc_field()
    status: str = Field(default=PushStatus.pending, sa_type=String(16))
    # Attempts claimed (a lease taken); recorded_attempts those whose outcome was written.
    attempts: int = 0
    recorded_attempts: int = 0
    next_attempt_at: datetime = utc_field()
    locked_until: datetime | None = utc_field(nullable=True)
    last_attempt_at: datetime | None = utc_field(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=64)
    delivered_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class PushCursor(SQLModel, table=True):
    """One row: the highest notification id already turned into push deliveries. Notification
    ids grow in commit order, so every row above it is new."""

    __tablename__ = "push_cursor"

    id: int = Field(default=1, primary_key=True)
    last_notification_id: int = Field(
        default=0, sa_column=Column(BigInteger(), nullable=False, default=0)
    )
    updated_at: datetime = utc_field()
