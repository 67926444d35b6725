"""Delivery from the outbox to a real receiver on 127.0.0.1: signatures checked with the
`standardwebhooks` package, retries, dead letters, replay, redirects, address checks."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, select
from standardwebhooks import Webhook

from app.core.errors import TYPE_BASE
from app.outbox.models import OutboxEvent
from app.webhooks import delivery
from tests.webhooks.conftest import SUBSCRIPTIONS, Clock, Receiver

DELIVERIES = "/api/v1/webhooks/deliveries"

pytestmark = pytest.mark.usefixtures("local_receivers")


def deliveries(client, admin, subscription_id: str, **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = client.get(
        f"{SUBSCRIPTIONS}/{subscription_id}/deliveries", params=params, headers=admin
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def detail(client, admin, delivery_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(f"{DELIVERIES}/{delivery_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def only(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


def test_step_actions_arrive_signed(client, admin, subscribe, receiver: Receiver, flow) -> None:
    subscription = subscribe(receiver.url, ["incident.created", "step.completed"])
    flow.run_to(2)

    report = delivery.run_once()

    assert (report.deliveries_created, report.delivered) == (2, 2)
    assert len(receiver.received) == 2
    webhook = Webhook(subscription["secret"])
    messages = {}
    for request in receiver.received:
        assert request.path == "/hooks/trantib"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["webhook-signature"].startswith("v1,")
        payload = webhook.verify(request.body, request.headers)
        assert payload["id"] == request.headers["webhook-id"]
        messages[payload["type"]] = payload
    created, completed = messages["incident.created"], messages["step.completed"]
    assert created["data"]["incident_id"] == flow.incident_id
    assert completed["data"]["incident_id"] == flow.incident_id
    assert completed["data"]["step"] == 1
    assert completed["data"]["next_step"] == 2
    assert completed["data"]["unit_id"] == 6

    items = deliveries(client, admin, subscription["id"])
    assert {d["status"] for d in items} == {"delivered"}
    assert {d["event_id"] for d in items} == set(receiver.ids())
    one = detail(client, admin, items[0]["id"])
    assert one["attempts"] == 1
    assert one["next_attempt_at"] is None
    assert one["payload"]["id"] == one["event_id"]
    [attempt] = one["attempt_log"]
    assert attempt["number"] == 1
    assert attempt["status_code"] == 204
    assert attempt["error"] is None
    assert attempt["duration_ms"] >= 0


def test_a_tampered_message_fails_verification(subscribe, receiver: Receiver, flow) -> None:
    subscription = subscribe(receiver.url, ["incident.created"])
    flow.create()
    delivery.run_once()
    [request] = receiver.received
    tampered = request.body.replace(b"incident.created", b"incident.cancelled")
    with pytest.raises(Exception, match="signature"):
        Webhook(subscription["secret"]).verify(tampered, request.headers)


def test_each_event_is_fanned_out_once(engine, subscribe, receiver: Receiver, flow) -> None:
    subscribe(receiver.url, ["incident.created", "step.completed"])
    flow.run_to(3)

    first = delivery.run_once()
    second = delivery.run_once()

    assert first.events == 3 and first.deliveries_created == 3
    assert (second.events, second.deliveries_created, second.delivered) == (0, 0, 0)
    assert sorted(receiver.ids().values()) == [1, 1, 1]
    with Session(engine) as session:
        unpublished = session.exec(
            select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None))
        ).all()
    assert unpublished == []


def test_events_before_any_subscription_are_not_sent(subscribe, receiver: Receiver, flow) -> None:
    flow.create()
    assert delivery.run_once().events == 1
    subscribe(receiver.url, ["incident.created"])
    assert delivery.run_once().events == 0
    assert receiver.received == []


def test_retry_with_backoff_then_success(
    client, admin, subscribe, make_receiver, flow, service_clock: Clock
) -> None:
    receiver = make_receiver(fail_first=2, fail_body=b"x" * 5000)
    subscription = subscribe(receiver.url, ["step.completed"])
    flow.run_to(2)

    first = delivery.run_once()
    assert (first.failed, first.delivered) == (1, 0)
    [pending] = deliveries(client, admin, subscription["id"], status="pending")
    assert pending["attempts"] == 1
    assert pending["last_status_code"] == 500
    assert pending["next_attempt_at"] > pending["last_attempt_at"]
    # Not due yet: nothing is sent before the backoff has passed.
    assert delivery.run_once().failed == 0
    assert len(receiver.received) == 1

    service_clock.advance(2)
    assert delivery.run_once().failed == 1
    service_clock.advance(2)
    assert delivery.run_once().delivered == 1

    assert len(receiver.received) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {pending["event_id"]}
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert stamps == sorted(stamps) and stamps[0] < stamps[-1]
    webhook = Webhook(subscription["secret"])
    for request in receiver.received:
        webhook.verify(request.body, request.headers)

    done = detail(client, admin, pending["id"])
    assert done["status"] == "delivered"
    assert done["attempts"] == 3
    assert [a["status_code"] for a in done["attempt_log"]] == [500, 500, 204]
    assert [a["number"] for a in done["attempt_log"]] == [1, 2, 3]
    excerpt = done["attempt_log"][0]["response_excerpt"]
    assert excerpt == "x" * 1024
    assert done["attempt_log"][2]["response_excerpt"] is None


def test_backoff_is_exponential_with_full_jitter_and_capped(webhook_settings) -> None:
    import random

    webhook_settings(backoff_base_seconds=10, backoff_cap_seconds=3600)
    from app.core.config import get_settings

    settings = get_settings()
    rng = random.Random(7)
    for failures, ceiling in [(1, 10), (2, 20), (3, 40), (6, 320), (9, 2560), (10, 3600)]:
        draws = [delivery.backoff_seconds(failures, settings, rng) for _ in range(300)]
        assert all(delivery.MIN_DELAY_SECONDS <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.9
        assert min(draws) < max(ceiling * 0.1, delivery.MIN_DELAY_SECONDS + 1)
    assert delivery.backoff_seconds(500, settings, rng) <= 3600


def test_dead_after_max_attempts_then_replay(
    client, admin, subscribe, make_receiver, flow, service_clock: Clock, webhook_settings
) -> None:
    webhook_settings(max_attempts=3)
    receiver = make_receiver(fail_first=3, fail_status=503)
    subscription = subscribe(receiver.url, ["step.completed"])
    flow.run_to(2)

    outcomes = []
    for _ in range(4):
        report = delivery.run_once()
        outcomes.append((report.failed, report.dead))
        service_clock.advance(2)
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert len(receiver.received) == 3
    dead = only(deliveries(client, admin, subscription["id"], status="dead"))
    assert dead["attempts"] == 3
    assert dead["next_attempt_at"] is None
    assert dead["last_status_code"] == 503
    assert deliveries(client, admin, subscription["id"], status="pending") == []

    response = client.post(f"{DELIVERIES}/{dead['id']}/replay", headers=admin)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "pending"
    assert queued["replays"] == 1
    assert queued["attempts"] == 3
    again = client.post(f"{DELIVERIES}/{dead['id']}/replay", headers=admin)
    assert again.status_code == 409
    assert again.json()["type"] == TYPE_BASE + "delivery-pending"

    assert delivery.run_once().delivered == 1
    done = detail(client, admin, dead["id"])
    assert done["status"] == "delivered"
    assert [a["number"] for a in done["attempt_log"]] == [1, 2, 3, 4]
    assert [a["status_code"] for a in done["attempt_log"]] == [503, 503, 503, 204]
    assert len(set(receiver.ids())) == 1
    Webhook(subscription["secret"]).verify(
        receiver.received[-1].body, receiver.received[-1].headers
    )

    # A delivered message may be replayed too; it arrives again with the same webhook-id.
    assert client.post(f"{DELIVERIES}/{dead['id']}/replay", headers=admin).status_code == 202
    assert delivery.run_once().delivered == 1
    assert list(receiver.ids().values()) == [5]


def test_replay_gives_a_fresh_retry_budget(
    client, admin, subscribe, make_receiver, flow, service_clock: Clock, webhook_settings
) -> None:
    webhook_settings(max_attempts=2)
    receiver = make_receiver(fail_first=100)
    subscription = subscribe(receiver.url, ["step.completed"])
    flow.run_to(2)
    for _ in range(2):
        delivery.run_once()
        service_clock.advance(2)
    dead = only(deliveries(client, admin, subscription["id"], status="dead"))
    client.post(f"{DELIVERIES}/{dead['id']}/replay", headers=admin)
    reports = []
    for _ in range(3):
        report = delivery.run_once()
        reports.append((report.failed, report.dead))
        service_clock.advance(2)
    assert reports == [(1, 0), (0, 1), (0, 0)]
    assert detail(client, admin, dead["id"])["attempts"] == 4


def test_redirects_are_not_followed(client, admin, subscribe, make_receiver, flow) -> None:
    target = make_receiver()
    redirecting = make_receiver(
        fail_first=100, fail_status=307, extra_headers={"Location": target.url}
    )
    subscription = subscribe(redirecting.url, ["step.completed"])
    flow.run_to(2)

    assert delivery.run_once().failed == 1
    assert target.received == []
    pending = only(deliveries(client, admin, subscription["id"]))
    assert pending["status"] == "pending"
    assert pending["last_status_code"] == 307
    assert pending["last_error"] == "redirect_not_followed"


def test_addresses_are_checked_again_at_delivery(
    client, admin, subscribe, receiver: Receiver, flow, webhook_settings
) -> None:
    subscription = subscribe(receiver.url, ["step.completed"])
    flow.run_to(2)
    # What the URL reaches is decided when sending, not only when subscribing.
    webhook_settings(allow_private=False)

    assert delivery.run_once().failed == 1
    assert receiver.received == []
    attempt = only(
        detail(client, admin, only(deliveries(client, admin, subscription["id"]))["id"])[
            "attempt_log"
        ]
    )
    assert attempt["error"] == "url_not_allowed:address"
    assert attempt["status_code"] is None


def test_a_name_resolving_to_loopback_is_checked_at_delivery(
    client, admin, subscribe, receiver: Receiver, flow, webhook_settings
) -> None:
    url = f"http://localhost:{receiver.port}/hooks/trantib"
    subscription = subscribe(url, ["step.completed"])
    flow.run_to(2)
    webhook_settings(allow_private=False)
    assert delivery.run_once().failed == 1
    webhook_settings(allow_private=True)
    assert delivery.run_once().failed == 0  # not due yet: the refusal counted as an attempt
    pending = only(deliveries(client, admin, subscription["id"]))
    assert pending["last_error"] == "url_not_allowed:address"
    assert receiver.received == []


def test_connection_errors_are_recorded_by_class(client, admin, subscribe, flow) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    subscription = subscribe(f"http://127.0.0.1:{closed_port}/", ["step.completed"])
    flow.run_to(2)
    assert delivery.run_once().failed == 1
    pending = only(deliveries(client, admin, subscription["id"]))
    assert pending["last_error"] == "ConnectError"
    assert pending["last_status_code"] is None


def test_slow_receivers_time_out(
    client, admin, subscribe, make_receiver, flow, webhook_settings
) -> None:
    webhook_settings(timeout_seconds=0.3)
    receiver = make_receiver(delay=1.0)
    subscription = subscribe(receiver.url, ["step.completed"])
    flow.run_to(2)
    assert delivery.run_once().failed == 1
    pending = only(deliveries(client, admin, subscription["id"]))
    assert pending["last_error"] == "ReadTimeout"


def test_unit_and_event_type_filters(
    client, admin, subscribe, make_receiver, flow_for: Callable[..., Any]
) -> None:
    everything = make_receiver()
    ciledug_steps = make_receiver()
    subscribe(everything.url, ["incident.created", "step.completed"])
    subscribe(ciledug_steps.url, ["step.completed"], unit_id=6)
    flow_for("ciledug").run_to(2)
    flow_for("larangan").run_to(2)

    delivery.run_once()

    assert len(everything.received) == 4
    [only_one] = ciledug_steps.received
    assert only_one.json["type"] == "step.completed"
    assert only_one.json["data"]["unit_id"] == 6


def test_inactive_subscriptions_get_nothing_and_pending_waits(
    client, admin, subscribe, make_receiver, flow
) -> None:
    receiver = make_receiver()
    subscription = subscribe(receiver.url, ["incident.created", "step.completed"])
    path = f"{SUBSCRIPTIONS}/{subscription['id']}"
    flow.create()
    # Fanned out while active, then paused before it is sent.
    delivery.fan_out(__import__("app.core.db", fromlist=["get_engine"]).get_engine())
    client.patch(path, json={"active": False}, headers=admin)
    flow.step1()
    report = delivery.run_once()
    assert (report.events, report.deliveries_created, report.delivered) == (1, 0, 0)
    assert receiver.received == []
    client.patch(path, json={"active": True}, headers=admin)
    assert delivery.run_once().delivered == 1
    assert [r.json["type"] for r in receiver.received] == ["incident.created"]


def test_after_rotation_both_secrets_sign_during_the_grace_period(
    client, admin, subscribe, receiver: Receiver, flow, webhook_settings
) -> None:
    subscription = subscribe(receiver.url, ["incident.created", "step.completed"])
    path = f"{SUBSCRIPTIONS}/{subscription['id']}/rotate-secret"
    rotated = client.post(path, headers=admin).json()
    flow.create()
    delivery.run_once()
    [request] = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(rotated["secret"]).verify(request.body, request.headers)
    Webhook(subscription["secret"]).verify(request.body, request.headers)

    webhook_settings(rotation_grace_hours=0)
    newest = client.post(path, headers=admin).json()
    flow.step1()
    delivery.run_once()
    last = receiver.received[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    Webhook(newest["secret"]).verify(last.body, last.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(rotated["secret"]).verify(last.body, last.headers)


def test_deleting_a_subscription_drops_its_deliveries(
    client, admin, subscribe, make_receiver, flow
) -> None:
    receiver = make_receiver(fail_first=100)
    subscription = subscribe(receiver.url, ["step.completed"])
    flow.run_to(2)
    delivery.run_once()
    [pending] = deliveries(client, admin, subscription["id"])
    assert client.delete(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=admin).status_code == 204
    response = client.get(f"{DELIVERIES}/{pending['id']}", headers=admin)
    assert response.status_code == 404
    assert delivery.run_once().failed == 0


def test_replay_of_unknown_delivery_is_404(client, admin) -> None:
    response = client.post(
        f"{DELIVERIES}/00000000-0000-0000-0000-000000000000/replay", headers=admin
    )
    assert response.status_code == 404
    assert response.json()["type"] == TYPE_BASE + "not-found"


def test_delivery_list_is_paginated_and_filtered(
    client, admin, subscribe, receiver: Receiver, flow_for: Callable[..., Any]
) -> None:
    subscription = subscribe(receiver.url, ["incident.created"])
    for slug in ("ciledug", "larangan", "pinang"):
        flow_for(slug).create()
    delivery.run_once()
    path = f"{SUBSCRIPTIONS}/{subscription['id']}/deliveries"
    page = client.get(path, params={"limit": 2}, headers=admin).json()
    assert (page["total"], len(page["items"]), page["limit"]) == (3, 2, 2)
    rest = client.get(path, params={"limit": 2, "offset": 2}, headers=admin).json()
    assert len(rest["items"]) == 1
    seen = {d["id"] for d in page["items"]} | {d["id"] for d in rest["items"]}
    assert len(seen) == 3
    assert client.get(path, params={"status": "pending"}, headers=admin).json()["total"] == 0
