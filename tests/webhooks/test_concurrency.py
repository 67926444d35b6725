"""Two workers passing at the same moment deliver every event exactly once.

On PostgreSQL this exercises FOR UPDATE SKIP LOCKED in fan-out and in the send claim; on
SQLite the write transactions (BEGIN IMMEDIATE) take turns. The receiver counts webhook-ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.webhooks import delivery
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.webhooks.conftest import Receiver

WORKERS = 2
INCIDENTS = 12


def test_two_workers_deliver_each_event_once(
    engine, subscribe, make_receiver, flow_for: Callable[..., Any], local_receivers
) -> None:
    receiver: Receiver = make_receiver(delay=0.01)
    other: Receiver = make_receiver(delay=0.01)
    subscribe(receiver.url, ["incident.created", "step.completed"])
    subscribe(other.url, ["incident.created"])
    slugs = ["ciledug", "larangan", "pinang", "cipondoh"]
    for i in range(INCIDENTS):
        flow = flow_for(slugs[i % len(slugs)])
        flow.create()
        if i % 2 == 0:
            flow.step1()
    events = INCIDENTS + INCIDENTS // 2

    start = threading.Barrier(WORKERS)
    reports: list[delivery.DeliveryReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(3):
                reports.append(delivery.run_once())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    assert len(receiver.ids()) == events
    assert set(receiver.ids().values()) == {1}
    assert len(other.ids()) == INCIDENTS
    assert set(other.ids().values()) == {1}
    assert sum(r.events for r in reports) == events
    assert sum(r.deliveries_created for r in reports) == events + INCIDENTS
    assert sum(r.delivered for r in reports) == events + INCIDENTS
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(WebhookDelivery)).one() == (
            events + INCIDENTS
        )
        assert session.exec(select(func.count()).select_from(WebhookAttempt)).one() == (
            events + INCIDENTS
        )
