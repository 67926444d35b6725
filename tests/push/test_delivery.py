"""The push worker against the local push service: what arrives, and each answer's outcome."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.notifications.models import NotificationSettings
from app.push import delivery
from app.push.models import PushDelivery, PushSubscription
from tests.fixtures.push_service import Answer, PushService
from tests.lifecycle.flow import INCIDENT

# The seed's time standard of step 1 (Waktu, column 9): 1 Jam.
STEP_1_SECONDS = 3600
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

pytestmark = pytest.mark.usefixtures("local_push")


@pytest.fixture
def incident(flow) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An incident just registered: it waits at step 1 on the Camat."""
    return flow.create()


def deliveries(engine: Engine) -> list[PushDelivery]:
    with Session(engine) as session:
        return list(session.exec(select(PushDelivery)).all())


def subscriptions(engine: Engine) -> list[PushSubscription]:
    with Session(engine) as session:
        return list(session.exec(select(PushSubscription)).all())


def run(engine: Engine) -> delivery.PushReport:
    return delivery.run_once(engine)


class TestWhatArrives:
    def test_task_assigned_reaches_the_phone_encrypted_signed_and_lock_screen_safe(
        self, engine, incident, notify, subscribe, push_service: PushService, local_push
    ) -> None:
        local_push(ttl_min_seconds=60)
        browser = push_service.browser()
        subscribe("camat.ciledug", browser)
        note = notify("camat.ciledug", incident["id"], "task.assigned")
        report = run(engine)
        assert (report.events, report.deliveries_created, report.delivered) == (1, 1, 1)
        [pushed] = push_service.wait_for(1)
        assert push_service.refused == []
        payload = pushed.payload
        assert payload["id"] == note
        assert payload["kind"] == "task.assigned"
        assert payload["incident_id"] == incident["id"]
        assert payload["register_number"] == incident["register_number"]
        assert payload["step"] == 1
        assert payload["title"]
        assert incident["register_number"] in payload["body"]
        assert "WIB" in payload["body"]
        # Nothing a passer-by should read off a lock screen.
        text = json.dumps(payload)
        for secret in (INCIDENT["title"], INCIDENT["location"]["kelurahan"]):
            assert secret not in text
        assert pushed.size < 4096
        assert pushed.headers["urgency"] == "high"
        assert TOPIC.match(pushed.headers["topic"])
        ttl = int(pushed.headers["ttl"])
        assert STEP_1_SECONDS - 120 < ttl <= STEP_1_SECONDS
        assert pushed.claims["sub"].startswith(("mailto:", "https://"))

    def test_each_push_service_gets_its_own_audience(
        self, engine, incident, notify, subscribe, push_service: PushService
    ) -> None:
        other = PushService().start()
        try:
            subscribe("camat.ciledug", push_service.browser())
            subscribe("camat.ciledug", other.browser())
            notify("camat.ciledug", incident["id"], "task.assigned")
            assert run(engine).delivered == 2
            assert push_service.wait_for(1)[0].claims["aud"] == push_service.origin
            assert other.wait_for(1)[0].claims["aud"] == other.origin
            assert push_service.refused == other.refused == []
        finally:
            other.stop()

    def test_a_breach_shares_the_at_risk_warnings_topic_and_a_cancellation_is_normal(
        self, engine, incident, notify, subscribe, push_service: PushService
    ) -> None:
        subscribe("camat.ciledug", push_service.browser())
        notify("camat.ciledug", incident["id"], "sla.at_risk")
        notify("camat.ciledug", incident["id"], "sla.breached")
        notify("camat.ciledug", incident["id"], "incident.archived")
        assert run(engine).delivered == 3
        at_risk, breached, archived = sorted(
            push_service.wait_for(3), key=lambda p: p.payload["id"]
        )
        assert at_risk.headers["topic"] == breached.headers["topic"]
        assert breached.headers["urgency"] == "high"
        assert archived.headers["urgency"] == "normal"

    def test_a_muted_kind_is_not_pushed(
        self, engine, incident, notify, subscribe, user_id, push_service: PushService
    ) -> None:
        subscribe("camat.ciledug", push_service.browser())
        with Session(engine) as session:
            session.add(
                NotificationSettings(
                    user_id=uuid.UUID(user_id("camat.ciledug")), push_muted=["sla.at_risk"]
                )
            )
            session.commit()
        notify("camat.ciledug", incident["id"], "sla.at_risk")
        notify("camat.ciledug", incident["id"], "sla.breached")
        assert run(engine).deliveries_created == 1
        [pushed] = push_service.wait_for(1)
        assert pushed.payload["kind"] == "sla.breached"

    def test_only_the_recipients_phones_and_each_once(
        self, engine, incident, notify, subscribe, push_service: PushService
    ) -> None:
        camat, sekcam = push_service.browser(), push_service.browser()
        subscribe("camat.ciledug", camat)
        subscribe("sekcam.ciledug", sekcam)
        notify("camat.ciledug", incident["id"], "task.assigned")
        run(engine)
        run(engine)
        assert len(push_service.for_browser(camat)) == 1
        assert push_service.for_browser(sekcam) == []

    def test_switched_off_nothing_is_sent(
        self, engine, incident, notify, subscribe, push_service: PushService, push_settings
    ) -> None:
        subscribe("camat.ciledug", push_service.browser())
        notify("camat.ciledug", incident["id"], "task.assigned")
        push_settings(enabled=False)
        assert run(engine).events == 0
        assert push_service.received == []


class TestAnswers:
    @pytest.fixture
    def one(
        self, engine, incident, notify, subscribe, push_service: PushService
    ) -> Callable[..., PushDelivery]:
        """One message to the Camat's phone, answered as scripted; its delivery after."""

        def send(*answers: Answer) -> PushDelivery:
            browser = push_service.browser()
            subscribe("camat.ciledug", browser)
            push_service.answer(browser, *answers)
            notify("camat.ciledug", incident["id"], "task.assigned")
            run(engine)
            [row] = deliveries(engine) or [None]
            return row  # type: ignore[return-value]

        return send

    @pytest.mark.parametrize("status", [404, 410])
    def test_gone_drops_the_subscription(self, engine, one, status: int) -> None:
        assert one(Answer(status)) is None
        assert subscriptions(engine) == []

    def test_forbidden_is_dead_and_the_subscription_is_kept(self, engine, one) -> None:
        row = one(Answer(403))
        assert (row.status, row.last_status_code) == ("dead", 403)
        assert len(subscriptions(engine)) == 1

    @pytest.mark.parametrize("status", [400, 401, 413])
    def test_a_refusal_no_retry_mends_is_dead(self, engine, one, status: int) -> None:
        row = one(Answer(status))
        assert (row.status, row.last_status_code) == ("dead", status)
        assert len(subscriptions(engine)) == 1

    def test_a_redirect_is_not_followed(self, engine, one, push_service: PushService) -> None:
        elsewhere = push_service.browser()
        row = one(Answer(307, {"Location": elsewhere.endpoint}))
        assert push_service.for_browser(elsewhere) == []
        status = 307
        assert (row.status, row.last_status_code) == ("dead", status)
        assert len(subscriptions(engine)) == 1

    def test_too_many_requests_waits_for_retry_after(
        self, engine, one, service_clock, push_service: PushService
    ) -> None:
        row = one(Answer(429, {"Retry-After": "120"}))
        assert (row.status, row.last_status_code) == ("pending", 429)
        wait = row.next_attempt_at - row.last_attempt_at  # type: ignore[operator]
        assert timedelta(seconds=119) <= wait <= timedelta(seconds=121)
        service_clock.advance(60)
        run(engine)
        assert push_service.received == []
        service_clock.advance(61)
        run(engine)
        [row] = deliveries(engine)
        assert row.status == "delivered"
        assert len(push_service.wait_for(1)) == 1

    def test_a_server_error_is_retried_with_backoff(
        self, engine, one, service_clock, push_service: PushService
    ) -> None:
        row = one(Answer(500), Answer(503))
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at > row.last_attempt_at  # type: ignore[operator]
        for _ in range(2):
            service_clock.advance(delivery.BACKOFF_CAP_SECONDS)
            run(engine)
        [row] = deliveries(engine)
        assert (row.status, row.attempts) == ("delivered", 3)

    def test_a_slow_push_service_times_out_and_is_retried(self, engine, one, local_push) -> None:
        local_push(timeout_seconds=0.5)
        row = one(Answer(201, delay=2.0))
        assert row.status == "pending"
        assert row.last_status_code is None
        assert "Timeout" in (row.last_error or "")

    def test_retries_stop_when_the_message_expires(
        self, engine, one, service_clock, local_push
    ) -> None:
        local_push(ttl_min_seconds=60, ttl_max_seconds=600)
        row = one(*[Answer(500)] * 50)
        assert row.status == "pending"
        for _ in range(10):
            service_clock.advance(delivery.BACKOFF_CAP_SECONDS)
            run(engine)
        [row] = deliveries(engine)
        assert row.status == "dead"
        assert row.delivered_at is None


def test_https_connects_to_the_checked_address_and_verifies_the_name() -> None:
    import requests

    session = delivery.NoRedirectSession()
    prepared = requests.Request(
        "POST", "https://93.184.215.14:443/wpush/v2/abc", headers={"Host": "push.example.net"}
    ).prepare()
    adapter = session.get_adapter(prepared.url or "")
    host, pool = adapter.build_connection_pool_key_attributes(prepared, True)  # type: ignore[attr-defined]
    assert host["host"] == "93.184.215.14"
    assert pool["server_hostname"] == pool["assert_hostname"] == "push.example.net"
    assert session.trust_env is False


def test_a_subject_the_signer_refuses_is_retried_not_a_crash(
    engine, flow, notify, subscribe, push_service: PushService, local_push
) -> None:
    incident = flow.create()
    subscribe("camat.ciledug", push_service.browser())
    notify("camat.ciledug", incident["id"], "task.assigned")
    local_push(vapid_subject="mailto:a@b")
    report = run(engine)
    assert (report.delivered, report.failed) == (0, 1)
    [row] = deliveries(engine)
    assert (row.status, row.last_error) == ("pending", "vapid_misconfigured")
    assert push_service.received == []


def test_an_incident_registered_at_night_reaches_the_camats_phone_and_not_the_kasis(
    engine, flow, client, auth, subscribe, push_service: PushService
) -> None:
    camat, kasi = push_service.browser(), push_service.browser()
    subscribe("camat.ciledug", camat)
    subscribe("kasi.ciledug", kasi)
    created = flow.create()  # by the Kasi Trantib; step 1 waits on the Camat
    report = run(engine)
    assert report.delivered == 1
    [pushed] = push_service.wait_for(1)
    assert pushed.token == camat.token
    assert push_service.for_browser(kasi) == []
    assert pushed.payload["kind"] == "task.assigned"
    assert pushed.payload["incident_id"] == created["id"]
    assert pushed.payload["step"] == 1
    # What the phone says waits on the Camat is what their task list says.
    tasks = client.get("/api/v1/tasks", headers=auth("camat.ciledug")).json()["items"]
    assert [(t["incident_id"], t["step"]) for t in tasks] == [(created["id"], 1)]
    # Nobody is told of their own action.
    assert run(engine).delivered == 0
    assert len(push_service.received) == 1
