"""Claim, lease and record: the delivery pattern of webhooks and Web Push.

A worker claims one due row in a short transaction with a conditional UPDATE that counts the
attempt and sets a lease (`locked_until`), sends without holding any lock, and records the
outcome with an UPDATE guarded by the attempt number: a worker whose lease ran out and was
taken over cannot overwrite the newer attempt. The tables using it have `id`, `status`
('pending' while it is to be sent), `attempts`, `next_attempt_at` and `locked_until`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col

PENDING = "pending"
LOST = "lost"

C = TypeVar("C")


class Seen:
    """Rows claimed in this pass: each is tried at most once per pass, even when its next
    try falls due before the pass ends."""

    def __init__(self) -> None:
        self._ids: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    def snapshot(self) -> list[uuid.UUID]:
        with self._lock:
            return list(self._ids)

    def add(self, row_id: uuid.UUID) -> None:
        with self._lock:
            self._ids.add(row_id)


def free(model: Any, now: datetime) -> ColumnElement[bool]:
    """No lease on the row, or one that ran out (its worker died)."""
    return or_(col(model.locked_until).is_(None), col(model.locked_until) < now)


def due(model: Any, now: datetime) -> list[ColumnElement[bool]]:
    """Pending, due and free."""
    return [col(model.status) == PENDING, col(model.next_attempt_at) <= now, free(model, now)]


def most_overdue(session: Session, query: Any, model: Any, seen: Seen) -> Any | None:
    """The first row of `query` (which selects due rows of `model`) by due time, locked
    (skipping rows another worker holds) and not yet claimed in this pass; it is marked seen."""
    query = (
        query.order_by(col(model.next_attempt_at), col(model.id))
        .limit(1)
        .with_for_update(of=model, skip_locked=True)
    )
    exclude = seen.snapshot()
    if exclude:
        query = query.where(col(model.id).not_in(exclude))
    found = session.execute(query).first()
    if found is not None:
        seen.add(found[0] if isinstance(found[0], uuid.UUID) else found[0].id)
    return found


def take(
    session: Session,
    model: Any,
    row_id: uuid.UUID,
    attempts: int,
    now: datetime,
    lease: datetime,
) -> bool:
    """Count attempt `attempts + 1` and lease the row until `lease`, unless another worker
    changed it since it was read (then roll back and answer False)."""
    claimed = session.execute(
        update(model)
        .where(
            col(model.id) == row_id,
            col(model.status) == PENDING,
            col(model.attempts) == attempts,
            free(model, now),
        )
        .values(attempts=attempts + 1, locked_until=lease)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    return True


def record(
    session: Session, model: Any, row_id: uuid.UUID, number: int, values: dict[str, Any]
) -> bool:
    """Write attempt `number`'s outcome, only if the row is still that attempt's and pending
    (not deleted with its subscription, not taken over after the lease ran out)."""
    changed = session.execute(
        update(model)
        .where(
            col(model.id) == row_id,
            col(model.attempts) == number,
            col(model.status) == PENDING,
        )
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    return True


def run_senders(
    senders: int,
    per_pass: int,
    claim: Callable[[Seen], C | str | None],
    handle: Callable[[C, Any], str],
    count: Callable[[str], None],
    context: Callable[[], Any],
) -> None:
    """`senders` threads claiming and handling due rows until none is due or `per_pass` were
    claimed; each thread holds one `context()` (an HTTP client) for its sends. `claim`
    answers the claim, None when nothing is due, or LOST when another worker won."""
    seen = Seen()
    budget = threading.Semaphore(per_pass)

    def sender() -> None:
        with context() as client:
            while budget.acquire(blocking=False):
                claimed = claim(seen)
                if claimed is None:
                    return
                if isinstance(claimed, str):
                    count("skipped")
                    continue
                count(handle(claimed, client))

    with ThreadPoolExecutor(senders) as pool:
        for future in [pool.submit(sender) for _ in range(senders)]:
            future.result()


# A pass woken early waits this long first, so that a burst of commits is one pass, not one
# pass each.
GATHER_SECONDS = 0.05


def loop(
    log: logging.Logger,
    what: str,
    one_pass: Callable[[], str | None],
    interval_seconds: float,
    stop: threading.Event | None = None,
    woken: threading.Event | None = None,
) -> None:
    """Run `one_pass` every `interval_seconds` until `stop` is set, logging the line it
    returns; an error in one pass is logged and the next pass runs. Setting `woken` (a
    NOTIFY heard, see app.outbox.listener) runs the next pass at once, GATHER_SECONDS
    later; whoever sets `stop` sets `woken` too, or the loop notices within the interval."""
    stop = stop or threading.Event()
    log.info("%s started, every %.1f s", what, interval_seconds)
    while not stop.is_set():
        if woken is not None:
            woken.clear()  # a wake during the pass below runs the next one at once
        try:
            line = one_pass()
            if line:
                log.info(line)
        except Exception:
            log.exception("%s pass failed; retrying next pass", what)
        if woken is None:
            stop.wait(interval_seconds)
        elif woken.wait(interval_seconds):
            stop.wait(GATHER_SECONDS)
    log.info("%s stopped", what)
