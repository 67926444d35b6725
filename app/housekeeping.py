"""Housekeeping: rows that have served their purpose leave, so tables stay bounded.

Run by `trantib worker` every INTERVAL_SECONDS on a thread of its own (and by
`worker --once`):

- Idempotency-Key records past their 24 hours (a key reused later starts afresh anyway);
- revoked access token ids past the token's own expiry (the token is refused as expired);
- refresh tokens of families whose every token has expired (refused as expired; while a
  family lives, its used tokens stay so that their reuse is still detected);
- login throttle streaks forgotten (no attempt for 15 minutes) whose trust, if any, has ended;
- webhook deliveries delivered more than `webhooks_retention_days` ago, with their attempts.
  Dead deliveries stay until someone replays them; outbox events stay (they are the record
  of what was announced);
- push deliveries delivered or dead whose message has expired (past its TTL nothing would
  send it again).

Records of the SOP itself (incidents, documents, audit events, step runs, archive records)
are never touched here.

Each table is emptied in batches of BATCH rows, each batch its own short transaction, so a
large backlog never holds a long lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, delete, select, tuple_
from sqlmodel import Session

from app.auth import throttle
from app.auth.models import LoginThrottle, RefreshToken, RevokedToken
from app.core import clock
from app.core.config import get_settings
from app.core.db import get_engine
from app.idempotency.models import IdempotencyRecord
from app.push.models import PushDelivery, PushStatus
from app.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery

BATCH = 5000
INTERVAL_SECONDS = 15 * 60

log = logging.getLogger("trantib.housekeeping")


@dataclass
class HousekeepingReport:
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def line(self) -> str:
        return "housekeeping: removed " + ", ".join(f"{n} {k}" for k, n in self.removed.items())


def _drop_in_batches(
    engine: Engine,
    table: Table,
    where: Any,
    before: Callable[[Session, list[Any]], None] | None = None,
) -> int:
    """DELETE the rows of `table` matching `where`, BATCH at a time (by primary key).

    Each batch's keys are read first and deleted by value, so `before` (which removes the
    rows that refer to them) sees exactly the rows that go.
    """
    columns = list(table.primary_key.columns)
    single = len(columns) == 1
    key = columns[0] if single else tuple_(*columns)
    removed = 0
    while True:
        with Session(engine) as session:
            rows = session.execute(select(*columns).where(where).limit(BATCH)).all()
            keys = [row[0] if single else tuple(row) for row in rows]
            if keys:
                if before is not None:
                    before(session, keys)
                session.execute(delete(table).where(key.in_(keys)))
                session.commit()
        removed += len(keys)
        if len(keys) < BATCH:
            return removed


def run_once(*, now: datetime | None = None, engine: Engine | None = None) -> HousekeepingReport:
    engine = engine or get_engine()
    now = now or clock.now()
    settings = get_settings()
    report = HousekeepingReport()
    records: Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    report.removed["idempotency records"] = _drop_in_batches(
        engine, records, records.c.expires_at < now
    )
    revoked: Table = RevokedToken.__table__  # type: ignore[attr-defined]
    report.removed["revoked token ids"] = _drop_in_batches(
        engine, revoked, revoked.c.expires_at < now
    )
    refresh: Table = RefreshToken.__table__  # type: ignore[attr-defined]
    # Only families with no live token left: presenting a used token of a live family must
    # still find it, so that the reuse is detected and the family revoked.
    live_families = select(refresh.c.family_id).where(refresh.c.expires_at >= now)
    report.removed["refresh tokens"] = _drop_in_batches(
        engine,
        refresh,
        (refresh.c.expires_at < now) & refresh.c.family_id.not_in(live_families),
    )
    streaks: Table = LoginThrottle.__table__  # type: ignore[attr-defined]
    last_attempt_before, trust_ended_before = throttle.forgettable_before(now)
    report.removed["login throttle streaks"] = _drop_in_batches(
        engine,
        streaks,
        (streaks.c.last_attempt_at < last_attempt_before)
        & (streaks.c.trusted_until.is_(None) | (streaks.c.trusted_until < trust_ended_before)),
    )
    deliveries: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
    attempts: Table = WebhookAttempt.__table__  # type: ignore[attr-defined]

    def attempts_first(session: Session, delivery_ids: list[Any]) -> None:
        # The attempts go first, in the same transaction: no reliance on a cascade.
        session.execute(delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))

    kept_since = now - timedelta(days=settings.webhooks_retention_days)
    report.removed["delivered webhooks"] = _drop_in_batches(
        engine,
        deliveries,
        (deliveries.c.status == DeliveryStatus.delivered)
        & (deliveries.c.delivered_at < kept_since),
        before=attempts_first,
    )
    pushes: Table = PushDelivery.__table__  # type: ignore[attr-defined]
    report.removed["finished pushes"] = _drop_in_batches(
        engine, pushes, (pushes.c.status != PushStatus.pending) & (pushes.c.expires_at < now)
    )
    return report


def run_forever(interval_seconds: float, stop: threading.Event) -> None:
    """Loop until `stop` is set; a failed pass is logged and the next one runs."""
    while not stop.is_set():
        try:
            report = run_once()
            if report.total:
                log.info(report.line())
        except Exception:
            log.exception("housekeeping pass failed; retrying next pass")
        stop.wait(interval_seconds)
