"""Webhook subscriptions and the operator's view of deliveries. Flushes, never commits."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound
from app.outbox.models import OutboxEvent
from app.units.models import Unit
from app.users.service import UnknownUnit
from app.webhooks import ssrf
from app.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from app.webhooks.schemas import (
    AttemptPublic,
    DeliveryDetail,
    DeliveryPublic,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
    SubscriptionUpdate,
)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class DeliveryPending(Conflict):
    kind, title = "delivery-pending", "The delivery is already queued"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_url(url: str) -> None:
    settings = get_settings()
    ssrf.check_url(
        url,
        allow_http=settings.webhooks_allow_http,
        allow_private=settings.webhooks_allow_private,
    )


def to_public(subscription: WebhookSubscription) -> SubscriptionPublic:
    return SubscriptionPublic.model_validate(subscription, from_attributes=True)


def get_subscription(session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound("No such webhook subscription")
    return subscription


def create_subscription(
    session: Session, data: SubscriptionCreate, actor_id: uuid.UUID
) -> SubscriptionCreated:
    if data.unit_id is not None and session.get(Unit, data.unit_id) is None:
        raise UnknownUnit(f"No kecamatan has id {data.unit_id}", field="unit_id")
    check_url(data.url)
    now = clock.now()
    subscription = WebhookSubscription(
        url=data.url,
        description=data.description,
        event_types=list(data.event_types),
        unit_id=data.unit_id,
        active=data.active,
        secret=new_secret(),
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    return SubscriptionCreated(**to_public(subscription).model_dump(), secret=subscription.secret)


def list_subscriptions(
    session: Session, *, active: bool | None, limit: int, offset: int
) -> tuple[Sequence[WebhookSubscription], int]:
    query = select(WebhookSubscription)
    if active is not None:
        query = query.where(col(WebhookSubscription.active) == active)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def update_subscription(
    session: Session, subscription: WebhookSubscription, data: SubscriptionUpdate
) -> WebhookSubscription:
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] != subscription.url:
        check_url(changes["url"])
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.updated_at = clock.now()
    session.add(subscription)
    session.flush()
    return subscription


def delete_subscription(session: Session, subscription: WebhookSubscription) -> None:
    """Delete the subscription with its deliveries and their attempts (ON DELETE CASCADE)."""
    session.delete(subscription)
    session.flush()


def rotate_secret(session: Session, subscription: WebhookSubscription) -> SecretRotated:
    now = clock.now()
    grace = timedelta(hours=get_settings().webhooks_rotation_grace_hours)
    if grace:
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = now + grace
    else:
        subscription.previous_secret = None
        subscription.previous_secret_expires_at = None
    subscription.secret = new_secret()
    subscription.updated_at = now
    session.add(subscription)
    session.flush()
    return SecretRotated(
        id=subscription.id,
        secret=subscription.secret,
        previous_secret_expires_at=subscription.previous_secret_expires_at,
    )


def delivery_public(delivery: WebhookDelivery) -> DeliveryPublic:
    public = DeliveryPublic.model_validate(delivery, from_attributes=True)
    if delivery.status != DeliveryStatus.pending:
        public.next_attempt_at = None
    return public


def list_deliveries(
    session: Session,
    subscription: WebhookSubscription,
    *,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[WebhookDelivery], int]:
    query = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription.id)
    if status is not None:
        query = query.where(col(WebhookDelivery.status) == status.value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def get_delivery(session: Session, delivery_id: uuid.UUID) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("No such webhook delivery")
    return delivery


def delivery_detail(session: Session, delivery: WebhookDelivery) -> DeliveryDetail:
    event = session.get(OutboxEvent, delivery.event_id)
    attempts = session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == delivery.id)
        .order_by(col(WebhookAttempt.number))
    ).all()
    return DeliveryDetail(
        **delivery_public(delivery).model_dump(),
        payload=event.payload if event is not None else {},
        attempt_log=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )


def replay(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a delivered or dead delivery again, due now.

    The attempt numbering continues (the history stays whole, `webhook-id` stays the
    event's id) and the retry budget starts afresh: TRANTIB_WEBHOOKS_MAX_ATTEMPTS more tries.
    """
    now = clock.now()
    # Conditional, so a replay racing another replay or a worker changes nothing twice.
    queued = session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery.id,
            col(WebhookDelivery.status).in_(
                [DeliveryStatus.delivered.value, DeliveryStatus.dead.value]
            ),
        )
        .values(
            status=DeliveryStatus.pending.value,
            budget_start=WebhookDelivery.attempts,
            replays=WebhookDelivery.replays + 1,
            next_attempt_at=now,
            locked_until=None,
            delivered_at=None,
        )
    )
    if queued.rowcount != 1:  # type: ignore[attr-defined]
        raise DeliveryPending("The delivery is pending; it will be sent when due")
    session.refresh(delivery)
    return delivery
