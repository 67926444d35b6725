"""Housekeeping (`trantib worker`): expired rows leave, live ones and SOP records stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from app import housekeeping
from app.audit.models import AuditEvent
from app.auth.models import LoginThrottle, RefreshToken, RevokedToken
from app.cli import main as cli_main
from app.core import clock
from app.core.config import get_settings
from app.idempotency.models import IdempotencyRecord
from app.webhooks import delivery
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.lifecycle.flow import INCIDENT, Flow
from tests.webhooks.conftest import Receiver

TOKEN_URL = "/api/v1/auth/token"


def count(engine: Any, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        if where:
            query = query.where(*where)
        return int(session.execute(query).scalar_one())


def age(engine: Any, model: Any, where: Any, **values: Any) -> None:
    with Session(engine) as session:
        assert session.execute(update(model).where(where).values(**values)).rowcount == 1  # type: ignore[attr-defined]
        session.commit()


def log_in(client: Any, username: str) -> dict[str, Any]:
    form = {
        "grant_type": "password",
        "username": username,
        "password": get_settings().demo_password,
    }
    response = client.post(TOKEN_URL, data=form)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_expired_rows_go_and_the_rest_stays(
    client, engine, local_receivers, subscribe, receiver: Receiver, flow: Flow
) -> None:
    now = clock.now()
    long_ago = now - timedelta(days=400)

    # Idempotency-Key records: one past its 24 hours, one live.
    for key in ("yesterday", "today"):
        headers = {**flow.as_("kasi"), "Idempotency-Key": key}
        assert client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 201
    age(engine, IdempotencyRecord, IdempotencyRecord.key == "yesterday", expires_at=long_ago)

    # Refresh tokens: one expired, one live. A revoked access token id: expired.
    old, live = log_in(client, "camat.ciledug"), log_in(client, "sekcam.ciledug")
    with Session(engine) as session:
        old_id = session.execute(
            select(RefreshToken.id).where(
                RefreshToken.expires_at
                == select(func.min(RefreshToken.expires_at)).scalar_subquery()
            )  # type: ignore[arg-type]
        ).scalar_one()
    age(engine, RefreshToken, RefreshToken.id == old_id, expires_at=long_ago)
    bearer = {"Authorization": f"Bearer {old['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    revoked = count(engine, RevokedToken)
    assert revoked >= 1
    with Session(engine) as session:
        session.execute(update(RevokedToken).values(expires_at=long_ago))
        session.commit()

    # Webhook deliveries: one delivered long ago, one delivered now, one dead long ago.
    subscribe(receiver.url, ["incident.created", "step.completed"])
    flow.run_to(2)
    assert delivery.run_once().delivered >= 3
    with Session(engine) as session:
        ids = list(session.execute(select(WebhookDelivery.id)).scalars())
    assert len(ids) >= 3
    gone_delivery, dead_delivery = ids[0], ids[1]
    age(engine, WebhookDelivery, WebhookDelivery.id == gone_delivery, delivered_at=long_ago)
    age(
        engine,
        WebhookDelivery,
        WebhookDelivery.id == dead_delivery,
        status="dead",
        delivered_at=None,
        last_attempt_at=long_ago,
    )
    # Login throttle streaks, all quiet for long: the pairs that logged in are still
    # trusted and stay; the others (the accounts, the address, a failed guess) go.
    form = {"grant_type": "password", "username": "ghost", "password": "wrong-password!"}
    assert client.post(TOKEN_URL, data=form).status_code == 401
    with Session(engine) as session:
        session.execute(update(LoginThrottle).values(last_attempt_at=long_ago))
        session.commit()
    trusted = LoginThrottle.trusted_until.is_not(None)  # type: ignore[union-attr]
    streaks, trusted_streaks = count(engine, LoginThrottle), count(engine, LoginThrottle, trusted)
    assert trusted_streaks == 2 and streaks > trusted_streaks

    deliveries, attempts = count(engine, WebhookDelivery), count(engine, WebhookAttempt)
    audit = count(engine, AuditEvent)
    refresh_tokens = count(engine, RefreshToken)

    report = housekeeping.run_once()

    assert report.removed == {
        "idempotency records": 1,
        "revoked token ids": revoked,
        "refresh tokens": 1,
        "login throttle streaks": streaks - trusted_streaks,
        "delivered webhooks": 1,
        "finished pushes": 0,
    }
    assert count(engine, LoginThrottle) == count(engine, LoginThrottle, trusted) == 2
    assert count(engine, IdempotencyRecord) == 1
    assert count(engine, RevokedToken) == 0
    assert count(engine, RefreshToken) == refresh_tokens - 1
    assert count(engine, RefreshToken, RefreshToken.id == old_id) == 0
    assert count(engine, WebhookDelivery) == deliveries - 1
    assert count(engine, WebhookDelivery, WebhookDelivery.id == dead_delivery) == 1
    assert count(engine, WebhookAttempt, WebhookAttempt.delivery_id == gone_delivery) == 0
    assert count(engine, WebhookAttempt) == attempts - 1
    assert count(engine, AuditEvent) == audit
    # The live refresh token still works; a second pass finds nothing more.
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": live["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert housekeeping.run_once().total == 0


def test_worker_once_reports_housekeeping(capsys) -> None:
    assert cli_main(["worker", "--once"]) == 0
    assert "housekeeping: removed 0 idempotency records" in capsys.readouterr().out


def test_large_backlogs_go_in_batches(engine, flow: Flow, monkeypatch) -> None:
    monkeypatch.setattr(housekeeping, "BATCH", 2)
    for key in ("a", "b", "c", "d", "e"):
        headers = {**flow.as_("kasi"), "Idempotency-Key": key}
        assert (
            flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 201
        )
    with Session(engine) as session:
        session.execute(
            update(IdempotencyRecord).values(expires_at=clock.now() - timedelta(days=2))
        )
        session.commit()
    assert housekeeping.run_once().removed["idempotency records"] == 5
    assert count(engine, IdempotencyRecord) == 0


def test_a_live_familys_used_tokens_stay_so_reuse_is_still_caught(client, engine) -> None:
    first = log_in(client, "kasi.ciledug")
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    # The spent token has expired; its family lives on in the newer token.
    with Session(engine) as session:
        spent = session.execute(
            select(RefreshToken.id).where(RefreshToken.used_at.is_not(None))  # type: ignore[union-attr]
        ).scalar_one()
    age(engine, RefreshToken, RefreshToken.id == spent, expires_at=clock.now() - timedelta(days=1))

    assert housekeeping.run_once().removed["refresh tokens"] == 0

    replayed = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replayed.status_code == 401
    assert replayed.json()["type"].endswith("/invalid-refresh-token")
    newer = rotated.json()["refresh_token"]
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": newer}).status_code == 401
