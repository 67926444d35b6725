"""The live stream: each API process reads new notification rows once per poll and hands
each to the open streams of its recipient, so many streams cost one query, and an idle
stream holds no database connection.

On PostgreSQL the process also keeps one connection of its own (not the pool's) listening on
the outbox and notification channels: a NOTIFY, delivered when the writing transaction
commits, wakes the poll at once, and the poll itself only runs as a safety net every
TRANTIB_STREAM_SAFETY_POLL_SECONDS. The table stays the source of truth: a NOTIFY carries no
row, it only says when to read. While that connection is down (the database restarted, a
network cut) the process polls every TRANTIB_STREAM_POLL_SECONDS, as on SQLite, and
reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app.core import clock
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.errors import TooManyStreams
from app.notifications import fanout
from app.notifications.models import Notification
from app.outbox import listener

log = logging.getLogger("app.notifications.stream")

# One poll reads at most this many rows; the next poll goes on from the last one.
READ_BATCH = 1000
# The listening connection's name in pg_stat_activity.
LISTENER_NAME = "trantib-stream-listener"


@dataclass(frozen=True)
class Event:
    id: int
    user_id: uuid.UUID
    kind: str
    data: dict[str, Any]
    incident_id: uuid.UUID | None


def _rows_after(
    engine: Engine, after_id: int, user_id: uuid.UUID | None, limit: int
) -> list[Event]:
    query = select(Notification).where(col(Notification.id) > after_id)
    if user_id is not None:
        query = query.where(col(Notification.user_id) == user_id)
    with Session(engine) as session:
        rows = session.execute(query.order_by(col(Notification.id)).limit(limit)).scalars()
        return [Event(r.id or 0, r.user_id, r.kind, r.data, r.incident_id) for r in rows]


def _newest_id(engine: Engine, user_id: uuid.UUID | None = None) -> int:
    query = select(func.max(col(Notification.id)))
    if user_id is not None:
        query = query.where(col(Notification.user_id) == user_id)
    with Session(engine) as session:
        return int(session.execute(query).scalar_one() or 0)


def _tell_and_read(engine: Engine, after_id: int) -> list[Event]:
    """Tell the outbox events committed since the last poll (a read without a lock when there
    are none), then read the rows past `after_id`: an open app hears of an action within a poll,
    not at the worker's next pass."""
    fanout.run_pass(engine)
    return _rows_after(engine, after_id, None, READ_BATCH)


class Broadcaster:
    """The process's reader of new notifications and its open streams, per user."""

    def __init__(self) -> None:
        self._streams: dict[uuid.UUID, set[asyncio.Queue[Event]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._listener: listener.Listener | None = None
        self._listening: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._last_id = 0

    @property
    def listening(self) -> bool:
        """Whether NOTIFY wakes this process's reads (else it polls at the short interval)."""
        return self._listener is not None and self._listener.listening

    def open_streams(self, user_id: uuid.UUID) -> int:
        return len(self._streams.get(user_id, ()))

    async def subscribe(self, user_id: uuid.UUID) -> asyncio.Queue[Event]:
        """A queue receiving the user's new notifications, or TooManyStreams (429)."""
        await self._running()
        cap = get_settings().stream_per_user_cap
        queues = self._streams.setdefault(user_id, set())
        if len(queues) >= cap:
            raise TooManyStreams(
                f"At most {cap} live streams per user are open at once; close one first",
                limit=cap,
            )
        queue: asyncio.Queue[Event] = asyncio.Queue()
        queues.add(queue)
        return queue

    def unsubscribe(self, user_id: uuid.UUID, queue: asyncio.Queue[Event]) -> None:
        queues = self._streams.get(user_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._streams[user_id]

    async def _running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._start(loop)
        assert self._ready is not None
        # Streams subscribed at once wait for the same start; a failed one is retried by the
        # next subscriber.
        await asyncio.shield(self._ready)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        # A new event loop (the process started serving again): streams of the old one are gone.
        if self._listening is not None and self._loop is loop:
            self._listening.cancel()
        self._streams = {}
        self._loop = loop
        self._listener = None
        self._listening = None
        self._ready = loop.create_future()
        self._task = loop.create_task(self._run(self._ready))

    async def _run(self, ready: asyncio.Future[None]) -> None:
        engine = get_engine()
        try:
            self._last_id = await asyncio.to_thread(_newest_id, engine)
        except Exception as exc:  # the database is away: this subscriber is refused
            ready.set_exception(exc)
            return
        ready.set_result(None)
        woken = asyncio.Event()
        if engine.dialect.name == "postgresql":
            self._listener = listener.Listener(
                listener.conninfo(engine),
                woken.set,
                get_settings().stream_safety_poll_seconds,
                LISTENER_NAME,
            )
            self._listening = asyncio.get_running_loop().create_task(self._listener.run())
        while True:
            settings = get_settings()
            interval = (
                settings.stream_safety_poll_seconds
                if self.listening
                else settings.stream_poll_seconds
            )
            # Woken by a NOTIFY, or the interval passed: read either way.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=interval)
            woken.clear()
            try:
                events = await asyncio.to_thread(_tell_and_read, engine, self._last_id)
            except Exception:  # the database is away for a moment: try again at the next poll
                log.exception("reading new notifications failed")
                continue
            for event in events:
                self._last_id = event.id
                for queue in self._streams.get(event.user_id, ()):
                    queue.put_nowait(event)


broadcaster = Broadcaster()


@dataclass(frozen=True)
class Message:
    """One SSE event: its id (None for `ready`), type and JSON data."""

    id: int | None
    event: str
    data: dict[str, Any]


def _message(event: Event) -> Message:
    data = {"incident_id": str(event.incident_id) if event.incident_id else None, **event.data}
    return Message(event.id, event.kind, data)


async def messages(
    user_id: uuid.UUID,
    queue: asyncio.Queue[Event],
    expires_at: datetime,
    last_event_id: int | None,
) -> AsyncIterator[Message]:
    """`ready`, then what was missed since `last_event_id` (or `reset` if more than the
    backlog limit), then each new notification, until the access token expires."""
    engine = get_engine()
    try:
        yield Message(None, "ready", {"expires_at": expires_at.isoformat()})
        sent = 0
        if last_event_id is not None:
            sent = last_event_id
            limit = get_settings().stream_backlog_limit
            missed = await asyncio.to_thread(_rows_after, engine, last_event_id, user_id, limit + 1)
            if len(missed) > limit:
                sent = await asyncio.to_thread(_newest_id, engine, user_id)
                yield Message(sent, "reset", {"missed_more_than": limit})
            else:
                for event in missed:
                    yield _message(event)
                    sent = event.id
        while True:
            left = (expires_at - clock.now()).total_seconds()
            if left <= 0:
                return
            try:
                event = await asyncio.wait_for(queue.get(), timeout=left)
            except TimeoutError:
                return
            if event.id > sent:
                yield _message(event)
                sent = event.id
    finally:
        broadcaster.unsubscribe(user_id, queue)
