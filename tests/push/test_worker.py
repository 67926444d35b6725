"""The push worker under crashes and concurrency: a dead sender's lease runs out and its late
result is dropped; two workers at once push every notification once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlmodel import Session, select

from app.core import leases
from app.core.config import get_settings
from app.push import delivery
from app.push.models import PushDelivery
from tests.fixtures.push_service import PushService

pytestmark = pytest.mark.usefixtures("local_push")


def test_a_crashed_senders_lease_expires_and_its_late_result_is_dropped(
    engine, flow, notify, subscribe, push_service: PushService, service_clock
) -> None:
    incident = flow.create()
    subscribe("camat.ciledug", push_service.browser())
    notify("camat.ciledug", incident["id"], "task.assigned")
    assert delivery.fan_out(engine) == (1, 1)
    settings = get_settings()
    # A sender claims the delivery, then dies before sending anything.
    crashed = delivery._claim(engine, settings, leases.Seen())
    assert isinstance(crashed, delivery._Claim)
    assert crashed.number == 1

    assert delivery.run_once(engine).delivered == 0  # leased: nobody else sends it
    service_clock.advance(settings.push_timeout_seconds * 2 + 31)
    assert delivery.run_once(engine).delivered == 1  # the lease ran out: attempt 2
    assert len(push_service.wait_for(1)) == 1

    late = delivery._Outcome(attempted_at=service_clock.advance(0), status_code=500)
    assert delivery._record(engine, crashed, late) == "skipped"
    with Session(engine) as session:
        [row] = session.exec(select(PushDelivery)).all()
    assert (row.status, row.attempts, row.recorded_attempts) == ("delivered", 2, 1)


@pytest.mark.slow
def test_two_workers_push_every_notification_once(
    engine, flow_for, notify, subscribe, push_service: PushService
) -> None:
    incident = flow_for("ciledug").create()
    phones = {name: push_service.browser() for name in ("camat", "kasi", "danru")}
    for name, browser in phones.items():
        subscribe(f"{name}.ciledug", browser)
    expected: list[int] = []
    for _ in range(10):
        for name in phones:
            expected.append(notify(f"{name}.ciledug", incident["id"], "task.assigned"))

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(3):
                delivery.run_once(engine)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    received: Counter[Any] = Counter(p.payload["id"] for p in push_service.wait_for(30))
    assert sorted(received) == sorted(expected)
    assert set(received.values()) == {1}


def test_housekeeping_removes_finished_pushes_once_expired(
    engine, flow, notify, subscribe, push_service: PushService, service_clock, local_push
) -> None:
    from app import housekeeping

    local_push(ttl_min_seconds=60, ttl_max_seconds=600)
    incident = flow.create()
    subscribe("camat.ciledug", push_service.browser())
    notify("camat.ciledug", incident["id"], "incident.archived")
    assert delivery.run_once(engine).delivered == 1
    assert housekeeping.run_once(engine=engine).removed["finished pushes"] == 0
    service_clock.advance(601)
    assert housekeeping.run_once(engine=engine).removed["finished pushes"] == 1
    with Session(engine) as session:
        assert session.exec(select(PushDelivery)).all() == []
