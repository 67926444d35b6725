"""Webhook subscriptions, one delivery per (subscription, outbox event), and its attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.types import JSONDoc, utc_field


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    url: str = Field(max_length=2048)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    # Only this kecamatan's events; None: every kecamatan.
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    active: bool = True
    # Kept as issued ("whsec_..."): signing needs it back. No response model carries it.
    secret: str = Field(max_length=128)
    # The secret before the last rotation still signs until this moment, so receivers can
    # switch without dropping messages.
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_secret_expires_at: datetime | None = utc_field(nullable=True)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Fan-out writes each pair once, whatever two workers race to do.
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name="ck_webhook_deliveries_status"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        foreign_key="webhook_subscriptions.id", ondelete="CASCADE", index=True
    )
    event_id: uuid.UUID = Field(foreign_key="outbox_events.id", index=True)
    event_type: str = Field(max_length=48)
    status: str = Field(default=DeliveryStatus.pending, sa_type=String(16))
    # Attempts ever made; numbering continues across replays.
    attempts: int = 0
    # `attempts` when last replayed: the retry budget counts from here.
    budget_start: int = 0
    replays: int = 0
    next_attempt_at: datetime = utc_field()
    # Lease of the worker sending it now; an expired lease (a crashed worker) frees the row.
    locked_until: datetime | None = utc_field(nullable=True)
    last_attempt_at: datetime | None = utc_field(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=64)
    delivered_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_number"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id", ondelete="CASCADE")
    number: int
    attempted_at: datetime = utc_field()
    duration_ms: int
    status_code: int | None = None
    # Exception class or refusal reason when no HTTP status explains the failure.
    error: str | None = Field(default=None, max_length=64)
    # The first 1 KB of the receiver's answer, for the operator; never parsed.
    response_excerpt: str | None = Field(default=None, max_length=1024)
