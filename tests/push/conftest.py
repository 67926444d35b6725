"""Web Push switched on against the local push service, and a movable clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core import clock
from app.core.config import get_settings
from app.incidents.models import Incident
from app.outbox.models import OutboxEvent
from tests.fixtures.push_service import Browser, PushService, push_service  # noqa: F401
from tests.webhooks.conftest import (  # noqa: F401
    flow,
    local_receivers,
    receiver,
    service_clock,
    webhook_settings,
)

SUBSCRIPTIONS = "/api/v1/push-subscriptions"


@pytest.fixture
def push_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set TRANTIB_PUSH_* for this test: push_settings(timeout_seconds=1, ...)."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            monkeypatch.setenv(f"TRANTIB_PUSH_{name.upper()}", text)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def local_push(push_settings: Callable[..., None]) -> Callable[..., None]:
    """Push on, the local push service (http on 127.0.0.1) allowed."""
    push_settings(enabled=True, allow_http=True, allow_private=True)
    return push_settings


@pytest.fixture
def subscribe(client, auth, local_push, engine) -> Callable[[str, Browser], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """PUT a browser's subscription for a demo user; returns the answer's body.

    What happened before (the incident a test starts from) is told first, to no phone yet:
    the phone hears only of what the test does after subscribing."""
    from app.notifications import fanout
    from app.push import delivery

    def put(username: str, browser: Browser) -> dict[str, Any]:
        fanout.run_pass(engine)
        while delivery.fan_out(engine)[0] == delivery.FAN_OUT_BATCH:
            pass
        response = client.put(SUBSCRIPTIONS, json=browser.subscription(), headers=auth(username))
        assert response.status_code in (200, 201), response.text
        return response.json()

    return put


@pytest.fixture
def notify(engine: Engine, user_id: Callable[[str], str]) -> Callable[..., int]:
    """Stand-in for the notifications fan-out: one row for `username` about the incident;
    returns its id."""
    import uuid

    from app.notifications.models import Notification

    def add(username: str, incident_id: str, kind: str, **data: Any) -> int:
        recipient = uuid.UUID(user_id(username))
        with Session(engine) as session:
            incident = session.get(Incident, uuid.UUID(incident_id))
            assert incident is not None
            # An event of its own (one notification per recipient and event), already
            # published and told, so no other worker takes it up.
            event = OutboxEvent(
                event_type=kind,
                incident_id=incident.id,
                unit_id=incident.unit_id,
                payload={},
                published_at=clock.now(),
                notified_at=clock.now(),
            )
            session.add(event)
            session.flush()
            row = Notification(
                user_id=recipient,
                source_event_id=event.id,
                kind=kind,
                incident_id=event.incident_id,
                unit_id=event.unit_id,
                data=data,
            )
            session.add(row)
            session.commit()
            assert row.id is not None
            return row.id

    return add
