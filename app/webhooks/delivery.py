"""Webhook delivery: fan-out of outbox events, then signed POSTs with retries.

Fan-out turns each unpublished outbox event into one delivery row per matching active
subscription and sets the event's `published_at`, in one transaction. On PostgreSQL the
events are read FOR UPDATE SKIP LOCKED, so two workers never fan out the same event; on
SQLite every write transaction starts with BEGIN IMMEDIATE, so they run one after the other.
The unique (subscription, event) pair is the last guard.

Sending claims one due delivery at a time in a short transaction (FOR UPDATE SKIP LOCKED on
PostgreSQL, and on both backends a conditional UPDATE that counts the attempt and sets a
lease, `locked_until`), commits, POSTs without holding any lock, and records the outcome with
an UPDATE guarded by the attempt number: a worker whose lease ran out and was taken over
cannot overwrite the newer attempt. A worker that dies mid-send leaves a lease that expires;
the next claim counts a new attempt. Delivery is at least once: receivers deduplicate on
`webhook-id`, the outbox event id, which every retry and replay repeats.

Messages follow Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id`,
`webhook-timestamp` (unix seconds) and `webhook-signature` ("v1," + base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}" keyed with the base64-decoded secret; a second signature with the
previous secret during the grace period after a rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.core import clock, leases
from app.core.config import Settings, get_settings
from app.outbox.models import OutboxEvent
from app.webhooks import ssrf
from app.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger("app.webhooks.delivery")

# Events fanned out per transaction, and batches per pass.
FAN_OUT_BATCH = 200
FAN_OUT_BATCHES_PER_PASS = 10
# Deliveries sent per pass, and how many at once: one slow receiver must not hold up the rest.
SEND_PER_PASS = 200
SENDERS = 4
EXCERPT_BYTES = 1024
# The lease outlives the request's own timeouts by this much.
LEASE_MARGIN = timedelta(seconds=30)
MIN_DELAY_SECONDS = 1.0
USER_AGENT = "Trantib-Webhooks/1.0"
SECRET_PREFIX = "whsec_"


@dataclass
class DeliveryReport:
    events: int = 0
    deliveries_created: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class _Claim:
    delivery_id: uuid.UUID
    number: int
    budget_start: int
    event_id: uuid.UUID
    payload: dict[str, Any]
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True)
class _Outcome:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks v1 signature."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def backoff_seconds(failures: int, settings: Settings, rng: random.Random | None = None) -> float:
    """Delay before the next try after `failures` failed tries: exponential, full jitter.

    Full jitter (a uniform draw below the exponential ceiling) spreads the retries of many
    deliveries that failed together, so a receiver coming back is not hit by all at once.
    """
    return jittered_backoff(
        failures,
        settings.webhooks_backoff_base_seconds,
        settings.webhooks_backoff_cap_seconds,
        rng,
    )


def jittered_backoff(
    failures: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Full jitter below min(cap, base * 2^(failures - 1)), at least MIN_DELAY_SECONDS."""
    ceiling = min(cap, base * 2.0 ** min(failures - 1, 64))
    return max(MIN_DELAY_SECONDS, (rng or random).uniform(0, ceiling))


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --- fan-out ---------------------------------------------------------------------------


def _matches(subscription: WebhookSubscription, event_type: str, unit_id: int | None) -> bool:
    if event_type not in subscription.event_types:
        return False
    return subscription.unit_id is None or subscription.unit_id == unit_id


def fan_out(engine: Engine) -> tuple[int, int]:
    """Publish one batch of outbox events; returns (events published, deliveries created)."""
    with Session(engine, expire_on_commit=False) as session:
        events = session.execute(
            select(col(OutboxEvent.id), col(OutboxEvent.event_type), col(OutboxEvent.unit_id))
            .where(col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.created_at), col(OutboxEvent.id))
            .limit(FAN_OUT_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        if not events:
            return 0, 0
        subscriptions = session.exec(
            select(WebhookSubscription).where(col(WebhookSubscription.active).is_(True))
        ).all()
        now = clock.now()
        rows = [
            {
                "id": uuid.uuid4(),
                "subscription_id": subscription.id,
                "event_id": event.id,
                "event_type": event.event_type,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "budget_start": 0,
                "replays": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event in events
            for subscription in subscriptions
            if _matches(subscription, event.event_type, event.unit_id)
        ]
        if rows:
            session.execute(insert(WebhookDelivery), rows)
        session.execute(
            update(OutboxEvent)
            .where(col(OutboxEvent.id).in_([event.id for event in events]))
            .values(published_at=now)
        )
        session.commit()
        return len(events), len(rows)


# --- sending ---------------------------------------------------------------------------


def _claim(engine: Engine, settings: Settings, seen: leases.Seen) -> _Claim | str | None:
    """Claim the most overdue delivery: the claim, None when nothing is due, or LOST when
    another worker got it first (try the next one)."""
    with Session(engine, expire_on_commit=False) as session:
        now = clock.now()
        query = (
            select(col(WebhookDelivery.id), col(WebhookDelivery.attempts))
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(*leases.due(WebhookDelivery, now), col(WebhookSubscription.active).is_(True))
        )
        due = leases.most_overdue(session, query, WebhookDelivery, seen)
        if due is None:
            return None
        number = due.attempts + 1
        lease = now + timedelta(seconds=settings.webhooks_timeout_seconds * 2) + LEASE_MARGIN
        if not leases.take(session, WebhookDelivery, due.id, due.attempts, now, lease):
            return leases.LOST
        row = session.execute(
            sa_select(
                col(WebhookDelivery.budget_start),
                col(WebhookDelivery.event_id),
                col(OutboxEvent.payload),
                col(WebhookSubscription.url),
                col(WebhookSubscription.secret),
                col(WebhookSubscription.previous_secret),
                col(WebhookSubscription.previous_secret_expires_at),
            )
            .join(OutboxEvent, col(OutboxEvent.id) == col(WebhookDelivery.event_id))
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(col(WebhookDelivery.id) == due.id)
        ).one()
        session.commit()
    return _Claim(
        delivery_id=due.id,
        number=number,
        budget_start=row.budget_start,
        event_id=row.event_id,
        payload=row.payload,
        url=row.url,
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
    )


def _read_excerpt(response: httpx.Response, deadline: float) -> str | None:
    """At most the first 1 KB of the answer, raw (never decompressed), within the deadline."""
    received = bytearray()
    try:
        for chunk in response.iter_raw():
            received.extend(chunk)
            if len(received) >= EXCERPT_BYTES or time.monotonic() > deadline:
                break
    except httpx.HTTPError:
        # The status is what counts; a broken body only shortens the excerpt.
        pass
    if not received:
        return None
    text = bytes(received[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
    # PostgreSQL text cannot hold NUL: one in a receiver's answer failed the whole pass.
    return text.replace("\x00", "\ufffd")


def _post(client: httpx.Client, claim: _Claim, settings: Settings) -> _Outcome:
    attempted_at = clock.now()
    timestamp = int(attempted_at.timestamp())
    msg_id = str(claim.event_id)
    body = body_of(claim.payload)
    signatures = [sign(claim.secret, msg_id, timestamp, body)]
    grace_until = claim.previous_secret_expires_at
    if claim.previous_secret and grace_until is not None and grace_until > attempted_at:
        signatures.append(sign(claim.previous_secret, msg_id, timestamp, body))
    started = time.monotonic()

    def outcome(**values: Any) -> _Outcome:
        duration_ms = int((time.monotonic() - started) * 1000)
        return _Outcome(attempted_at=attempted_at, duration_ms=duration_ms, **values)

    try:
        # Checked again on every attempt: what the name resolves to may have changed.
        target = ssrf.check_url(
            claim.url,
            allow_http=settings.webhooks_allow_http,
            allow_private=settings.webhooks_allow_private,
        )
    except ssrf.UrlNotAllowed as exc:
        log.warning("webhook %s not sent: %s", claim.delivery_id, exc.detail)
        return outcome(error=f"url_not_allowed:{exc.extra.get('reason', '')}"[:64])
    headers = {
        "host": target.host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "accept-encoding": "identity",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
    # Connect to the address just checked; TLS still verifies the certificate for the name.
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    deadline = started + settings.webhooks_timeout_seconds
    try:
        with client.stream(
            "POST", target.pinned_url, content=body, headers=headers, extensions=extensions
        ) as response:
            excerpt = _read_excerpt(response, deadline)
            status_code = response.status_code
    except httpx.HTTPError as exc:
        return outcome(error=type(exc).__name__[:64])
    # Redirects are never followed: the next hop was not checked.
    error = "redirect_not_followed" if 300 <= status_code < 400 else None
    return outcome(status_code=status_code, error=error, excerpt=excerpt)


def _record(engine: Engine, claim: _Claim, result: _Outcome, settings: Settings) -> str:
    now = clock.now()
    values: dict[str, Any] = {
        "locked_until": None,
        "last_attempt_at": result.attempted_at,
        "last_status_code": result.status_code,
        "last_error": result.error,
    }
    if result.succeeded:
        values.update(status=DeliveryStatus.delivered.value, delivered_at=now)
        verdict = "delivered"
    elif claim.number - claim.budget_start >= settings.webhooks_max_attempts:
        values.update(status=DeliveryStatus.dead.value)
        verdict = "dead"
    else:
        failures = claim.number - claim.budget_start
        delay = backoff_seconds(failures, settings)
        values.update(next_attempt_at=now + timedelta(seconds=delay))
        verdict = "failed"
    with Session(engine) as session:
        if not leases.record(session, WebhookDelivery, claim.delivery_id, claim.number, values):
            # Deleted with its subscription, or taken over after the lease ran out.
            return "skipped"
        session.execute(
            insert(WebhookAttempt).values(
                id=uuid.uuid4(),
                delivery_id=claim.delivery_id,
                number=claim.number,
                attempted_at=result.attempted_at,
                duration_ms=result.duration_ms,
                status_code=result.status_code,
                error=result.error,
                response_excerpt=result.excerpt,
            )
        )
        session.commit()
    return verdict


def http_client(settings: Settings) -> httpx.Client:
    timeout = settings.webhooks_timeout_seconds
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        # No proxy from the environment: the address checks must hold for the real hop.
        trust_env=False,
        limits=httpx.Limits(max_connections=SENDERS * 2, max_keepalive_connections=SENDERS),
    )


def send_due(engine: Engine, report: DeliveryReport | None = None) -> DeliveryReport:
    """Send every due delivery once (up to SEND_PER_PASS), SENDERS at a time."""
    report = report or DeliveryReport()
    settings = get_settings()

    def deliver(claim: _Claim, client: httpx.Client) -> str:
        return _record(engine, claim, _post(client, claim, settings), settings)

    shared = http_client(settings)
    with shared:
        leases.run_senders(
            SENDERS,
            SEND_PER_PASS,
            lambda seen: _claim(engine, settings, seen),
            deliver,
            report.count,
            lambda: nullcontext(shared),
        )
    return report


def run_once(engine: Engine | None = None) -> DeliveryReport:
    """One pass: fan out pending outbox events, then send what is due."""
    from app.core.db import get_engine

    engine = engine or get_engine()
    report = DeliveryReport()
    for _ in range(FAN_OUT_BATCHES_PER_PASS):
        events, created = fan_out(engine)
        report.events += events
        report.deliveries_created += created
        if events < FAN_OUT_BATCH:
            break
    return send_due(engine, report)


def summary(report: DeliveryReport) -> str | None:
    if not (report.events or report.delivered or report.failed or report.dead):
        return None
    return (
        f"webhooks: {report.events} events fanned out into {report.deliveries_created} "
        f"deliveries; {report.delivered} delivered, {report.failed} failed (retried later), "
        f"{report.dead} dead"
    )


def run_forever(
    interval_seconds: float,
    stop: threading.Event | None = None,
    woken: threading.Event | None = None,
) -> None:
    """Loop until `stop` is set, a pass at once when `woken` is set (see leases.loop)."""
    leases.loop(log, "webhook delivery", lambda: summary(run_once()), interval_seconds, stop, woken)
