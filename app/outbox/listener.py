"""Hearing at once that the outbox or the notifications changed (PostgreSQL LISTEN).

Every insert into outbox_events NOTIFYs OUTBOX_CHANNEL (a trigger, migration 0020) and every
notification pass NOTIFICATIONS_CHANNEL (app.notifications.fanout), both delivered when the
writing transaction commits. A process that wants to act on them at once (an API process
with open streams, the worker's webhook and push loops) keeps one connection of its own, not
the pool's, listening on both. A NOTIFY carries no row: it only says when to read, and the
tables stay the source of truth, read by a poll at the reader's own interval besides.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

from app.notifications.fanout import NOTIFICATIONS_CHANNEL
from app.outbox.service import OUTBOX_CHANNEL

log = logging.getLogger("app.outbox.listener")

# The worker's LISTEN connection in pg_stat_activity (the API's: app.notifications.stream).
WORKER_LISTENER_NAME = "trantib-worker-listener"
# Waits between reconnections, growing while it keeps failing.
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


def conninfo(engine: Engine) -> str:
    """psycopg's connection string of the engine's database."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """One LISTEN connection: calls `wake` on every NOTIFY of the outbox or the
    notifications, and once each time it (re)connects, since what was committed while it was
    away was heard by nobody. A dropped connection shows as an error of the wait or of the
    check run after each quiet `heartbeat` seconds; it reconnects. `name` is the connection's
    application_name in pg_stat_activity."""

    def __init__(
        self, conninfo: str, wake: Callable[[], None], heartbeat: float, name: str
    ) -> None:
        self.conninfo = conninfo
        self.wake = wake
        self.heartbeat = heartbeat
        self.name = name
        self.listening = False

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                log.warning("%s: the LISTEN connection failed (%s); polling", self.name, exc)
            if self.listening:  # it had worked: try again soon
                failures = 0
            self.listening = False
            self.wake()
            await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
            failures += 1

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name=self.name, connect_timeout=5
        ) as connection:
            for channel in (OUTBOX_CHANNEL, NOTIFICATIONS_CHANNEL):
                await connection.execute(f"LISTEN {channel}")
            self.listening = True
            self.wake()
            while True:
                async for _ in connection.notifies(timeout=self.heartbeat):
                    self.wake()
                await connection.execute("SELECT 1")


def wake_on_notify(
    engine: Engine, events: list[threading.Event], heartbeat: float, name: str
) -> threading.Thread | None:
    """A daemon thread that sets each of `events` on every NOTIFY (see Listener), for
    threads that poll; None on a database without LISTEN (SQLite), where they only poll."""
    if engine.dialect.name != "postgresql":
        return None

    def wake() -> None:
        for event in events:
            event.set()

    listener = Listener(conninfo(engine), wake, heartbeat, name)
    thread = threading.Thread(target=asyncio.run, args=(listener.run(),), name=name, daemon=True)
    thread.start()
    return thread
