"""The worker hears an action at once (PostgreSQL): its webhook and push loops wake on the
NOTIFY of the action's commit. Every interval of the worker is set far apart here, so that
only a NOTIFY can explain a quick arrival; the incident is registered through the suite's own
app, with no stream open anywhere, as when the Camat's phone is in a pocket. A LISTEN
connection that drops is made again, and what was committed meanwhile arrives."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.outbox.listener import WORKER_LISTENER_NAME
from tests import processes
from tests.conftest import PG_URL, ROOT
from tests.fixtures.push_service import PushService
from tests.processes import wait_for
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.skipif(not PG_URL, reason="LISTEN/NOTIFY is PostgreSQL's")

# Every pass of the worker runs only when woken, or after this long.
SAFETY_NET_SECONDS = 60
# A webhook and a push arrive well within this when a NOTIFY woke the worker.
AT_ONCE_SECONDS = 5.0


@pytest.fixture
def worker(database_url: str, tmp_path: Path, engine: Engine) -> Iterator[Path]:
    """`trantib worker` in a process of its own on the suite's database, listening; its log."""
    interval = str(SAFETY_NET_SECONDS)
    env = processes.process_environment(
        database_url,
        tmp_path,
        TRANTIB_PUSH_ENABLED="true",
        TRANTIB_PUSH_VAPID_PRIVATE_KEY=os.environ["TRANTIB_PUSH_VAPID_PRIVATE_KEY"],
        TRANTIB_PUSH_ALLOW_HTTP="true",
        TRANTIB_PUSH_ALLOW_PRIVATE="true",
        TRANTIB_PUSH_INTERVAL_SECONDS=interval,
        TRANTIB_WEBHOOKS_ALLOW_HTTP="true",
        TRANTIB_WEBHOOKS_ALLOW_PRIVATE="true",
        TRANTIB_WEBHOOKS_INTERVAL_SECONDS=interval,
        TRANTIB_NOTIFICATIONS_INTERVAL_SECONDS=interval,
    )
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--interval", interval],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: listeners(engine), seconds=20)
        yield log
    finally:
        process.terminate()
        process.wait(timeout=20)


def listeners(engine: Engine) -> set[int]:
    """The backends of the worker's LISTEN connections on the suite's database."""
    return processes.listeners(engine, WORKER_LISTENER_NAME)


@pytest.fixture
def phones_and_receiver(  # type: ignore[no-untyped-def]
    client, auth, subscribe, push_service: PushService, receiver: Receiver, local_receivers
):
    """The Camat's phone subscribed at the local push service, and a city system subscribed
    to incident.created; each told nothing yet."""
    phone = push_service.browser()
    subscribe("camat.ciledug", phone)
    answer = client.post(
        "/api/v1/webhooks/subscriptions",
        json={"url": receiver.url, "event_types": ["incident.created"]},
        headers=auth("admin"),
    )
    assert answer.status_code == 201, answer.text
    return phone


def test_an_action_reaches_the_phone_and_the_city_system_at_once(
    worker, phones_and_receiver, flow, push_service: PushService, receiver: Receiver
):
    started = time.monotonic()
    incident = flow.create()
    [pushed] = push_service.wait_for(1, timeout=SAFETY_NET_SECONDS / 3)
    phoned = pushed.at - started
    [received] = wait_for(lambda: receiver.received, seconds=SAFETY_NET_SECONDS / 3)
    heard = time.monotonic() - started

    assert pushed.token == phones_and_receiver.token
    assert (pushed.payload["kind"], pushed.payload["incident_id"]) == (
        "task.assigned",
        incident["id"],
    )
    assert (received.json["type"], received.json["data"]["incident_id"]) == (
        "incident.created",
        incident["id"],
    )
    assert phoned < AT_ONCE_SECONDS
    assert heard < AT_ONCE_SECONDS


def test_a_dropped_listen_connection_is_made_again_and_misses_nothing(
    worker, phones_and_receiver, flow, push_service: PushService, engine
):
    [first] = listeners(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    # Registered while the worker may not be listening: pushed once it listens again.
    started = time.monotonic()
    flow.create()
    push_service.wait_for(1, timeout=SAFETY_NET_SECONDS / 2)
    took = time.monotonic() - started
    [second] = wait_for(lambda: listeners(engine) - {first})
    # Listening again, on a new connection: the next action is heard at once.
    again = flow.__class__(flow.client, flow.auth, flow.user_id)
    started_again = time.monotonic()
    again.create()
    push_service.wait_for(2, timeout=SAFETY_NET_SECONDS / 2)
    took_again = time.monotonic() - started_again

    assert second != first
    assert took < SAFETY_NET_SECONDS / 3
    assert took_again < AT_ONCE_SECONDS
