"""The worker runs delivery: `trantib worker --once`, the loop, and a crashed sender's lease."""

from __future__ import annotations

import threading
import time

import pytest

from app.core import leases
from app.core.config import get_settings
from app.webhooks import delivery
from tests.webhooks.conftest import SUBSCRIPTIONS, Clock, Receiver

pytestmark = pytest.mark.usefixtures("local_receivers")


def test_worker_once_delivers(subscribe, receiver: Receiver, flow, capsys) -> None:
    from app.cli import main

    subscribe(receiver.url, ["incident.created"])
    flow.create()
    assert main(["worker", "--once"]) == 0
    out = capsys.readouterr().out
    assert "webhooks: 1 events fanned out into 1 deliveries; 1 delivered, 0 to retry" in out
    assert len(receiver.received) == 1


def test_the_loop_delivers_until_stopped(subscribe, receiver: Receiver, flow) -> None:
    subscribe(receiver.url, ["incident.created"])
    stop = threading.Event()
    loop = threading.Thread(target=delivery.run_forever, args=(0.05, stop))
    loop.start()
    try:
        flow.create()
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
    assert len(receiver.received) == 1


def test_a_crashed_senders_lease_expires_and_its_late_result_is_dropped(
    client, admin, engine, subscribe, receiver: Receiver, flow, service_clock: Clock
) -> None:
    subscription = subscribe(receiver.url, ["incident.created"])
    flow.create()
    delivery.fan_out(engine)
    settings = get_settings()
    # A sender claims the delivery, then dies before recording anything.
    crashed = delivery._claim(engine, settings, leases.Seen())
    assert isinstance(crashed, delivery._Claim)
    assert crashed.number == 1

    assert delivery.run_once().delivered == 0  # leased: nobody else sends it
    service_clock.advance(settings.webhooks_timeout_seconds * 2 + 31)
    assert delivery.run_once().delivered == 1  # the lease ran out: attempt 2
    assert len(receiver.received) == 1

    # The dead sender's result, arriving late, changes nothing.
    late = delivery._Outcome(attempted_at=service_clock.advance(0), duration_ms=1, status_code=500)
    assert delivery._record(engine, crashed, late, settings) == "skipped"
    [done] = client.get(f"{SUBSCRIPTIONS}/{subscription['id']}/deliveries", headers=admin).json()[
        "items"
    ]
    assert done["status"] == "delivered"
    assert done["attempts"] == 2
