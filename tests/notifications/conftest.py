"""Shared pieces of the notification tests: a fan-out pass as the worker runs it, and each demo
user's notifications read over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

# A second Danru to stand in, a delegation recorder and a stopped clock, for deputies' notices.
from tests.delegations.conftest import at, danru2, delegate, make_user  # noqa: F401


@pytest.fixture
def fan_out(engine: Engine) -> Callable[[], Any]:
    """Run one fan-out pass, as `trantib worker` does."""
    from app.notifications.fanout import run_pass

    return lambda: run_pass(engine)


@pytest.fixture
def told(client, auth) -> Callable[..., list[dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """A user's notifications, oldest first: told("camat.ciledug")."""

    def read(username: str, **params: Any) -> list[dict[str, Any]]:
        response = client.get(
            "/api/v1/notifications", params={"limit": 100, **params}, headers=auth(username)
        )
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["items"]))

    return read
