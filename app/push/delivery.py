"""Web Push delivery: notifications fanned out to their recipients' phones, then sent.

Fan-out reads the notifications above the cursor (push_cursor, locked for the transaction:
FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), writes one delivery per subscription
of each recipient who has not muted the kind, and moves the cursor, in one transaction.
Notification ids grow in commit order, so nothing committed below the cursor is ever missed.

Sending has the webhooks' shape (app/webhooks/delivery.py): claim one due delivery with a
lease in a short transaction, send without holding a lock, record the outcome guarded by
the attempt number. A worker killed mid-send leaves a lease that expires; the next claim
counts a new attempt, so a phone may get a message twice (the payload's `id`, the
notification id, tells a service worker it has shown it already).

Every message is encrypted (aes128gcm, RFC 8291) and signed (VAPID, RFC 8292) by pywebpush,
with what its defaults leave out: a TTL (pywebpush's 0 is dropped by a push service when the
phone is offline), a timeout (none by default), Urgency and Topic (RFC 8030 section 5).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from py_vapid import VapidException
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.core import clock, leases
from app.core.config import Settings, get_settings
from app.incidents.models import Incident
from app.notifications.models import Notification, NotificationKind, NotificationSettings
from app.push import vapid
from app.push.models import PushCursor, PushDelivery, PushStatus, PushSubscription
from app.push.service import PushEndpointNotAllowed, check_endpoint
from app.timing.models import StepRun
from app.webhooks.delivery import LEASE_MARGIN, DeliveryReport, jittered_backoff

log = logging.getLogger("app.push.delivery")

FAN_OUT_BATCH = 500
FAN_OUT_BATCHES_PER_PASS = 10
SEND_PER_PASS = 500
SENDERS = 4
# Retries after a push service's 5xx or a network failure, until the message expires.
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# RFC 8030 section 5.4: a Topic is at most 32 characters of the base64url alphabet.
TOPIC_LENGTH = 32
DELIVERED = {200, 201, 202}
GONE = {404, 410}
URGENT_KINDS = {
    NotificationKind.task_assigned,
    NotificationKind.task_withdrawn,
    NotificationKind.sla_at_risk,
    NotificationKind.sla_breached,
}
# What a lock screen shows first, by kind (the people who read it work in Bahasa Indonesia).
TITLES = {
    NotificationKind.task_assigned: "Tugas baru",
    NotificationKind.task_withdrawn: "Tugas tidak lagi menunggu Anda",
    NotificationKind.sla_at_risk: "Batas waktu hampir habis",
    NotificationKind.sla_breached: "Batas waktu terlewati",
    NotificationKind.draft_returned: "Draf dikembalikan untuk diperbaiki",
    NotificationKind.incident_cancelled: "Kejadian dibatalkan",
    NotificationKind.incident_archived: "Kejadian diarsipkan",
}


@dataclass
class PushReport(DeliveryReport):
    # Deliveries whose subscription the push service no longer knows (404/410): dropped.
    gone: int = 0


# --- the message ------------------------------------------------------------------------


def topic_for(incident_id: uuid.UUID | str, step: int) -> str:
    """One topic per incident and step: the push service keeps only the newest undelivered
    message of a topic, so a breach replaces the at-risk warning of the same step."""
    digest = hashlib.sha256(f"{incident_id}/{step}".encode()).digest()
    return vapid.b64url(digest)[:TOPIC_LENGTH]


def _wib(moment: datetime) -> str:
    return moment.astimezone(clock.WIB).strftime("%d-%m-%Y %H:%M WIB")


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


@dataclass(frozen=True)
class _Message:
    payload: dict[str, Any]
    urgency: str
    topic: str | None
    due_at: datetime | None


def message_for(notification: Any, register_number: str | None, run: Any | None) -> _Message:
    """What a lock screen may show: the register number, the step, what is due and when.
    Never the incident's title, names or places: the notification's data is not copied."""
    data: dict[str, Any] = notification.data or {}
    step = data.get("step")
    if not isinstance(step, int):
        step = run.step if run is not None else None
    due_at = _as_datetime(data.get("due_at")) or (run.due_at if run is not None else None)
    kind = notification.kind
    lines = [register_number or "", f"Langkah {step}" if step is not None else ""]
    if due_at is not None and kind in URGENT_KINDS and kind != NotificationKind.task_withdrawn:
        lines.append(f"batas {_wib(due_at)}")
    payload: dict[str, Any] = {
        "id": notification.id,
        "kind": kind,
        "title": TITLES.get(kind, "Pemberitahuan Trantib"),
        "body": " · ".join(line for line in lines if line),
        "incident_id": str(notification.incident_id) if notification.incident_id else None,
        "register_number": register_number,
        "step": step,
        "due_at": due_at.astimezone(UTC).isoformat() if due_at is not None else None,
        "created_at": notification.created_at.isoformat(),
    }
    topic = (
        topic_for(notification.incident_id, step)
        if notification.incident_id is not None and step is not None
        else None
    )
    urgency = "high" if kind in URGENT_KINDS else "normal"
    return _Message(payload=payload, urgency=urgency, topic=topic, due_at=due_at)


def expiry(due_at: datetime | None, now: datetime, settings: Settings) -> datetime:
    """Until when a message is worth delivering: the step's due time, at least
    push_ttl_min_seconds (a breach is news after the due time) and at most
    push_ttl_max_seconds from now; with no due time, the maximum."""
    low = timedelta(seconds=settings.push_ttl_min_seconds)
    high = timedelta(seconds=settings.push_ttl_max_seconds)
    if due_at is None:
        return now + high
    return now + min(high, max(low, due_at - now))


# --- fan-out ----------------------------------------------------------------------------


def _lock_cursor(session: Session) -> int:
    """The cursor's value, its row locked until the transaction ends (made when missing)."""
    locked = select(col(PushCursor.last_notification_id)).where(col(PushCursor.id) == 1)
    found = session.execute(locked.with_for_update()).scalar_one_or_none()
    if found is not None:
        return int(found)
    dialect = session.get_bind().dialect.name
    make = (pg_insert if dialect == "postgresql" else sqlite_insert)(PushCursor)
    session.execute(
        make.values(id=1, last_notification_id=0, updated_at=clock.now()).on_conflict_do_nothing()
    )
    return int(session.execute(locked.with_for_update()).scalar_one())


def fan_out(engine: Engine) -> tuple[int, int]:
    """Turn one batch of new notifications into deliveries; (notifications, deliveries)."""
    settings = get_settings()
    with Session(engine, expire_on_commit=False) as session:
        after = _lock_cursor(session)
        notifications = session.exec(
            select(Notification)
            .where(col(Notification.id) > after)
            .order_by(col(Notification.id))
            .limit(FAN_OUT_BATCH)
        ).all()
        if not notifications:
            session.commit()
            return 0, 0
        users = {n.user_id for n in notifications}
        incidents = {n.incident_id for n in notifications if n.incident_id is not None}
        subscriptions: dict[uuid.UUID, list[uuid.UUID]] = {}
        for sub_id, owner in session.execute(
            select(col(PushSubscription.id), col(PushSubscription.user_id)).where(
                col(PushSubscription.user_id).in_(users)
            )
        ):
            subscriptions.setdefault(owner, []).append(sub_id)
        muted = {
            owner: set(kinds)
            for owner, kinds in session.execute(
                select(
                    col(NotificationSettings.user_id), col(NotificationSettings.push_muted)
                ).where(col(NotificationSettings.user_id).in_(users))
            )
        }
        numbers = dict(
            session.execute(
                select(col(Incident.id), col(Incident.register_number)).where(
                    col(Incident.id).in_(incidents)
                )
            ).all()
        )
        # The step each incident waits at now: its newest run still open.
        runs: dict[uuid.UUID, Any] = {}
        for run in session.execute(
            select(col(StepRun.incident_id), col(StepRun.step), col(StepRun.due_at))
            .where(col(StepRun.incident_id).in_(incidents), col(StepRun.completed_at).is_(None))
            .order_by(col(StepRun.started_at))
        ):
            runs[run.incident_id] = run
        now = clock.now()
        rows: list[dict[str, Any]] = []
        for notification in notifications:
            targets = subscriptions.get(notification.user_id, [])
            if not targets or notification.kind in muted.get(notification.user_id, set()):
                continue
            incident = notification.incident_id
            message = message_for(
                notification,
                numbers.get(incident) if incident else None,
                runs.get(incident) if incident else None,
            )
            expires_at = expiry(message.due_at, now, settings)
            rows.extend(
                {
                    "id": uuid.uuid4(),
                    "subscription_id": subscription_id,
                    "notification_id": notification.id,
                    "payload": message.payload,
                    "urgency": message.urgency,
                    "topic": message.topic,
                    "expires_at": expires_at,
                    "status": PushStatus.pending.value,
                    "attempts": 0,
                    "recorded_attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for subscription_id in targets
            )
        if rows:
            session.execute(insert(PushDelivery), rows)
        session.execute(
            update(PushCursor)
            .where(col(PushCursor.id) == 1)
            .values(last_notification_id=notifications[-1].id, updated_at=now)
        )
        session.commit()
        return len(notifications), len(rows)


# --- sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    delivery_id: uuid.UUID
    number: int
    subscription_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    payload: dict[str, Any]
    urgency: str
    topic: str | None
    expires_at: datetime


@dataclass(frozen=True)
class _Outcome:
    attempted_at: datetime
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _claim(engine: Engine, settings: Settings, seen: leases.Seen) -> _Claim | str | None:
    """Claim the most overdue delivery: the claim, None when nothing is due, or LOST when
    another worker got it first."""
    with Session(engine, expire_on_commit=False) as session:
        now = clock.now()
        query = (
            select(PushDelivery, PushSubscription)
            .join(PushSubscription, col(PushSubscription.id) == col(PushDelivery.subscription_id))
            .where(*leases.due(PushDelivery, now))
        )
        found = leases.most_overdue(session, query, PushDelivery, seen)
        if found is None:
            return None
        delivery, subscription = found
        # Read before the claim: the UPDATE also changes the loaded row.
        number = delivery.attempts + 1
        lease = now + timedelta(seconds=settings.push_timeout_seconds * 2) + LEASE_MARGIN
        if not leases.take(session, PushDelivery, delivery.id, number - 1, now, lease):
            return leases.LOST
        session.commit()
    return _Claim(
        delivery_id=delivery.id,
        number=number,
        subscription_id=subscription.id,
        endpoint=subscription.endpoint,
        p256dh=subscription.p256dh,
        auth=subscription.auth,
        payload=delivery.payload,
        urgency=delivery.urgency,
        topic=delivery.topic,
        expires_at=delivery.expires_at,
    )


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class _PinnedAdapter(requests.adapters.HTTPAdapter):
    """Connects to the address in the URL (the one just checked) while TLS still sends and
    verifies the name in the Host header, so the name is resolved only once, by the check."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host = request.headers.get("Host", "")
        text = host.decode("latin-1") if isinstance(host, bytes) else host
        name = urlsplit("//" + text).hostname
        if host_params["scheme"] == "https" and name:
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs


class NoRedirectSession(requests.Session):
    """requests, as pywebpush sends with it, minus what the address checks cannot allow:
    no redirect is followed (the next hop was never checked), no proxy is taken from the
    environment and the connection goes to the checked address (_PinnedAdapter)."""

    def __init__(self, pool: int = SENDERS) -> None:
        super().__init__()
        self.trust_env = False
        adapter = _PinnedAdapter(pool_connections=pool, pool_maxsize=pool)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def _send(http: requests.Session, claim: _Claim, settings: Settings) -> _Outcome:
    attempted_at = clock.now()
    ttl = int((claim.expires_at - attempted_at).total_seconds())
    if ttl <= 0:
        return _Outcome(attempted_at=attempted_at, error="expired")
    try:
        # Checked again on every attempt: what the name resolves to may have changed.
        target = check_endpoint(claim.endpoint)
    except PushEndpointNotAllowed as exc:
        reason = exc.extra.get("reason", "")
        return _Outcome(attempted_at=attempted_at, error=f"url_not_allowed:{reason}"[:64])
    origin = f"{target.scheme}://{target.host_header}"
    headers: dict[str, str | int | float] = {"Host": target.host_header, "Urgency": claim.urgency}
    if claim.topic:
        headers["Topic"] = claim.topic
    assert settings.push_vapid_private_key is not None
    try:
        response = webpush(
            {"endpoint": target.pinned_url, "keys": {"p256dh": claim.p256dh, "auth": claim.auth}},
            data=json.dumps(claim.payload, separators=(",", ":"), ensure_ascii=False),
            vapid_private_key=vapid.load(settings.push_vapid_private_key),
            # A new dict every time: pywebpush writes exp (and aud, when missing) into the one
            # it is given, and the next endpoint's push service would get this one's values.
            # The audience is the endpoint's origin by name, not the pinned address.
            vapid_claims={"sub": settings.push_vapid_subject, "aud": origin},
            ttl=ttl,
            timeout=settings.push_timeout_seconds,
            headers=headers,
            requests_session=http,
        )
    except WebPushException as exc:
        if exc.response is None:
            return _Outcome(attempted_at=attempted_at, error="webpush_error")
        return _Outcome(
            attempted_at=attempted_at,
            status_code=exc.status_code,
            retry_after=_retry_after(exc.retry_after, attempted_at),
        )
    except requests.RequestException as exc:
        return _Outcome(attempted_at=attempted_at, error=type(exc).__name__[:64])
    except (VapidException, vapid.VapidKeyInvalid):
        # The worker does not run the API's start-up checks: a key or subject the signer
        # refuses is retried (mended by fixing the settings) and logged, never a crash.
        log.error("push not signed: TRANTIB_PUSH_VAPID_PRIVATE_KEY or _SUBJECT is unusable")
        return _Outcome(attempted_at=attempted_at, error="vapid_misconfigured")
    status_code = getattr(response, "status_code", None)
    return _Outcome(attempted_at=attempted_at, status_code=status_code)


def _verdict(claim: _Claim, result: _Outcome, now: datetime) -> tuple[str, dict[str, Any]]:
    """What the outcome means: (report field, the delivery's new values)."""
    code = result.status_code
    if code in DELIVERED:
        return "delivered", {"status": PushStatus.delivered.value, "delivered_at": now}
    if code in GONE:
        return "gone", {"status": PushStatus.dead.value}
    # No answer: a timeout or a broken connection is retried; an expired message or a
    # refused address is not.
    unanswered = code is None and result.error != "expired"
    unanswered = unanswered and not (result.error or "").startswith("url_not_allowed")
    delay: float | None = None
    if code == 429 and result.retry_after is not None:
        delay = result.retry_after
    elif code == 429 or (code is not None and code >= 500) or unanswered:
        delay = jittered_backoff(claim.number, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS)
    if delay is None:
        # 400, 401, 403 (our VAPID key is not the one subscribed with: the subscription is
        # kept), 413 and whatever else no retry mends.
        return "dead", {"status": PushStatus.dead.value}
    next_attempt = now + timedelta(seconds=max(delay, 1.0))
    if next_attempt >= claim.expires_at:
        return "dead", {"status": PushStatus.dead.value, "last_error": "expired"}
    return "failed", {"next_attempt_at": next_attempt}


def _record(engine: Engine, claim: _Claim, result: _Outcome) -> str:
    now = clock.now()
    verdict, values = _verdict(claim, result, now)
    values = {
        "locked_until": None,
        "last_attempt_at": result.attempted_at,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "recorded_attempts": col(PushDelivery.recorded_attempts) + 1,
        **values,
    }
    with Session(engine) as session:
        if not leases.record(session, PushDelivery, claim.delivery_id, claim.number, values):
            # Its subscription was dropped, or the lease ran out and another worker took it.
            return "skipped"
        if verdict == "gone":
            # The push service forgot this browser: so do we (its deliveries go with it).
            session.execute(
                delete(PushSubscription).where(col(PushSubscription.id) == claim.subscription_id)
            )
        elif verdict == "delivered":
            session.execute(
                update(PushSubscription)
                .where(col(PushSubscription.id) == claim.subscription_id)
                .values(last_delivered_at=now)
            )
        session.commit()
    if verdict == "dead" and result.status_code == 403:
        log.warning(
            "push %s refused with 403: the VAPID key differs from the one the browser "
            "subscribed with (TRANTIB_PUSH_VAPID_PRIVATE_KEY changed?)",
            claim.delivery_id,
        )
    return verdict


def send_due(engine: Engine, report: PushReport | None = None) -> PushReport:
    """Send every due delivery once (up to SEND_PER_PASS), SENDERS at a time."""
    report = report or PushReport()
    settings = get_settings()

    def deliver(claim: _Claim, http: requests.Session) -> str:
        return _record(engine, claim, _send(http, claim, settings))

    # A session per sender: requests does not promise that one is safe across threads.
    leases.run_senders(
        SENDERS,
        SEND_PER_PASS,
        lambda seen: _claim(engine, settings, seen),
        deliver,
        report.count,
        NoRedirectSession,
    )
    return report


def run_once(engine: Engine | None = None) -> PushReport:
    """One pass: tell new outbox events, fan out new notifications to subscriptions, then send
    what is due. Nothing when push is off."""
    from app.core.db import get_engine

    report = PushReport()
    settings = get_settings()
    if not settings.push_enabled or not settings.push_vapid_private_key:
        return report
    from app.notifications import fanout

    engine = engine or get_engine()
    # Outbox events told as notifications first (a no-lock read when none wait), so a phone
    # hears within one push pass rather than after the next notification pass as well.
    fanout.run_pass(engine)
    for _ in range(FAN_OUT_BATCHES_PER_PASS):
        notifications, created = fan_out(engine)
        report.events += notifications
        report.deliveries_created += created
        if notifications < FAN_OUT_BATCH:
            break
    return send_due(engine, report)


def line(report: PushReport) -> str:
    return (
        f"push: {report.events} notifications fanned out into {report.deliveries_created} "
        f"deliveries; {report.delivered} delivered, {report.failed} to retry, {report.dead} "
        f"dead, {report.gone} subscriptions gone"
    )


def _pass() -> str | None:
    report = run_once()
    busy = report.events or report.delivered or report.failed or report.dead or report.gone
    return line(report) if busy else None


def run_forever(
    interval_seconds: float,
    stop: threading.Event | None = None,
    woken: threading.Event | None = None,
) -> None:
    """Loop until `stop` is set, a pass at once when `woken` is set (see leases.loop)."""
    leases.loop(log, "push delivery", _pass, interval_seconds, stop, woken)
