"""A notification committed through one API process reaches a stream held by another, at
once: the other process LISTENs on one connection of its own, a NOTIFY wakes its read, and
its polls (the safety net) are set far apart here so that only a NOTIFY can explain a quick
arrival. A LISTEN connection that drops is made again, and what was committed meanwhile
arrives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.notifications.stream import LISTENER_NAME
from tests import processes
from tests.conftest import PG_URL
from tests.notifications.test_stream import Stream
from tests.processes import service_process, wait_for

pytestmark = pytest.mark.skipif(not PG_URL, reason="several processes share PostgreSQL only")

# The other process reads only when woken, or after this long.
SAFETY_NET_SECONDS = 30
# An event arrives well within this when a NOTIFY woke the read.
AT_ONCE_SECONDS = 2.0


@pytest.fixture
def other_process(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The service in a uvicorn process of its own, on the suite's database."""
    with service_process(
        database_url,
        tmp_path,
        TRANTIB_STREAM_SAFETY_POLL_SECONDS=str(SAFETY_NET_SECONDS),
        TRANTIB_STREAM_POLL_SECONDS=str(SAFETY_NET_SECONDS),
    ) as base_url:
        yield base_url


def listeners(engine: Engine) -> set[int]:
    """The backends of the live stream's LISTEN connections on the suite's database."""
    return processes.listeners(engine, LISTENER_NAME)


def test_an_action_through_this_process_reaches_a_stream_of_another_at_once(
    other_process, auth, flow, told
):
    headers = auth("camat.ciledug")
    with (
        httpx.Client(base_url=other_process, timeout=SAFETY_NET_SECONDS / 2) as http,
        http.stream("GET", "/api/v1/stream", headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        stream = Stream(response)
        assert stream.next_event()["event"] == "ready"
        # Through the suite's own app, not the other process; no fan-out pass by the test:
        # the outbox NOTIFY of the action's commit wakes the other process, which tells.
        started = time.monotonic()
        flow.create()
        event = stream.next_event()
        took = time.monotonic() - started
    assert (event["event"], int(event["id"])) == ("task.assigned", told("camat.ciledug")[0]["id"])
    assert took < AT_ONCE_SECONDS


def test_a_pass_elsewhere_wakes_the_stream_with_its_own_notify(
    other_process, auth, flow, fan_out, told, engine
):
    headers = auth("camat.ciledug")
    flow.create()  # before the stream: the outbox NOTIFY of it reaches nobody
    with (
        httpx.Client(base_url=other_process, timeout=SAFETY_NET_SECONDS / 2) as http,
        http.stream("GET", "/api/v1/stream", headers=headers) as response,
    ):
        stream = Stream(response)
        assert stream.next_event()["event"] == "ready"
        wait_for(lambda: listeners(engine))
        # The worker's pass, here the suite's: its NOTIFY at commit wakes the other process.
        started = time.monotonic()
        fan_out()
        event = stream.next_event()
        took = time.monotonic() - started
    assert (event["event"], int(event["id"])) == ("task.assigned", told("camat.ciledug")[0]["id"])
    assert took < AT_ONCE_SECONDS


def test_a_dropped_listen_connection_is_made_again_and_misses_nothing(
    other_process, auth, flow, told, engine
):
    headers = auth("camat.ciledug")
    with (
        httpx.Client(base_url=other_process, timeout=SAFETY_NET_SECONDS / 2) as http,
        http.stream("GET", "/api/v1/stream", headers=headers) as response,
    ):
        stream = Stream(response)
        assert stream.next_event()["event"] == "ready"
        [first] = wait_for(lambda: listeners(engine))
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # Committed while the other process is not listening: told when it is back.
        started = time.monotonic()
        flow.create()
        event = stream.next_event()
        took = time.monotonic() - started
        # It listens again, on a new connection, and hears the next action at once.
        [second] = wait_for(lambda: listeners(engine) - {first})
        flow_again = flow.__class__(flow.client, flow.auth, flow.user_id)
        started_again = time.monotonic()
        flow_again.create()
        again = stream.next_event()
        took_again = time.monotonic() - started_again
    ids = [n["id"] for n in told("camat.ciledug")]
    assert [int(event["id"]), int(again["id"])] == ids
    assert second != first
    assert took < SAFETY_NET_SECONDS / 3
    assert took_again < AT_ONCE_SECONDS
