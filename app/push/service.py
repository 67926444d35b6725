"""Push subscriptions: upsert by endpoint, a bounded number per user, dropped with the
user's tokens. Flushes, never commits."""

from __future__ import annotations

import binascii
import uuid
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.core import clock
from app.core.config import get_settings
from app.core.errors import NotFound, Unprocessable
from app.push import vapid
from app.push.models import PushDelivery, PushSubscription
from app.push.schemas import PushSubscriptionPut
from app.webhooks import ssrf

# A person has a phone, perhaps a tablet and a browser or two. Beyond this many the oldest
# (least recently subscribed) goes: a lost phone must not lock its owner out of a new one.
MAX_PER_USER = 10
P256_POINT_BYTES = 65
AUTH_BYTES = 16


class PushDisabled(NotFound):
    kind, title = "push-disabled", "Web Push is not enabled on this service"


class PushEndpointNotAllowed(ssrf.UrlNotAllowed):
    kind, title = "push-endpoint-not-allowed", "The push endpoint is not allowed"


class PushKeysInvalid(Unprocessable):
    kind, title = "push-keys-invalid", "The subscription's keys are not valid"


def require_enabled() -> str:
    """The VAPID private key; PushDisabled when push is off."""
    settings = get_settings()
    if not settings.push_enabled or not settings.push_vapid_private_key:
        raise PushDisabled("Web Push is switched off (TRANTIB_PUSH_ENABLED)")
    return settings.push_vapid_private_key


def public_key() -> str:
    return vapid.public_key(require_enabled())


def check_endpoint(endpoint: str) -> ssrf.Target:
    settings = get_settings()
    return ssrf.check_url(
        endpoint,
        allow_http=settings.push_allow_http,
        allow_private=settings.push_allow_private,
        refusal=PushEndpointNotAllowed,
        field="endpoint",
    )


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = vapid.b64url_decode(p256dh)
    except (binascii.Error, ValueError):
        raise PushKeysInvalid("keys.p256dh is not base64url", field="keys.p256dh") from None
    try:
        if len(point) != P256_POINT_BYTES:
            raise ValueError("length")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise PushKeysInvalid(
            "keys.p256dh must be an uncompressed P-256 point (65 bytes)", field="keys.p256dh"
        ) from None
    try:
        secret = vapid.b64url_decode(auth)
    except (binascii.Error, ValueError):
        raise PushKeysInvalid("keys.auth is not base64url", field="keys.auth") from None
    if len(secret) != AUTH_BYTES:
        raise PushKeysInvalid("keys.auth must be 16 bytes", field="keys.auth")


def upsert(
    session: Session, user_id: uuid.UUID, data: PushSubscriptionPut, user_agent: str | None
) -> tuple[PushSubscription, bool]:
    """Store the browser's subscription for the caller; (subscription, new to the caller).
    An endpoint already known moves to the caller with the keys sent now."""
    require_enabled()
    check_endpoint(data.endpoint)
    _check_keys(data.keys.p256dh, data.keys.auth)
    now = clock.now()
    agent = user_agent[:200] if user_agent else None
    subscription = session.exec(
        select(PushSubscription).where(col(PushSubscription.endpoint) == data.endpoint)
    ).first()
    created = subscription is None
    if subscription is None:
        subscription = PushSubscription(
            user_id=user_id,
            endpoint=data.endpoint,
            p256dh=data.keys.p256dh,
            auth=data.keys.auth,
            created_at=now,
        )
    elif subscription.user_id != user_id:
        # Another person's phone until now: nothing queued for them may still reach it.
        session.execute(
            delete(PushDelivery).where(col(PushDelivery.subscription_id) == subscription.id)
        )
        subscription.user_id = user_id
        subscription.created_at = now
        subscription.last_delivered_at = None
        created = True
    subscription.p256dh = data.keys.p256dh
    subscription.auth = data.keys.auth
    subscription.user_agent = agent
    subscription.updated_at = now
    session.add(subscription)
    session.flush()
    _keep_newest(session, user_id)
    return subscription, created


def _keep_newest(session: Session, user_id: uuid.UUID) -> None:
    surplus = session.exec(
        select(PushSubscription.id)
        .where(col(PushSubscription.user_id) == user_id)
        .order_by(col(PushSubscription.updated_at).desc(), col(PushSubscription.id).desc())
        .offset(MAX_PER_USER)
    ).all()
    if surplus:
        _drop(session, list(surplus))


def _drop(session: Session, ids: Sequence[uuid.UUID]) -> None:
    # Deliveries go with it (ON DELETE CASCADE; SQLite runs with foreign keys on).
    session.execute(delete(PushSubscription).where(col(PushSubscription.id).in_(ids)))


def list_own(session: Session, user_id: uuid.UUID) -> Sequence[PushSubscription]:
    return session.exec(
        select(PushSubscription)
        .where(col(PushSubscription.user_id) == user_id)
        .order_by(col(PushSubscription.created_at), col(PushSubscription.id))
    ).all()


def delete_own(session: Session, user_id: uuid.UUID, subscription_id: uuid.UUID) -> None:
    subscription = session.get(PushSubscription, subscription_id)
    # Another person's subscription is answered as one that does not exist.
    if subscription is None or subscription.user_id != user_id:
        raise NotFound("No such push subscription")
    _drop(session, [subscription.id])
    session.flush()


def drop_for_user(session: Session, user_id: uuid.UUID) -> None:
    """Forget every phone of the user: called wherever their tokens stop (logout,
    deactivation, password or role change), so a phone handed on stops receiving."""
    session.execute(delete(PushSubscription).where(col(PushSubscription.user_id) == user_id))
