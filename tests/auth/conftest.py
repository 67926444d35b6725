from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.core import clock
from app.core.config import get_settings

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def login(client) -> Callable[..., httpx.Response]:  # type: ignore[no-untyped-def]
    """POST the password grant form; the password defaults to the demo one."""

    def post(username: str, password: str | None = None, **fields: str) -> httpx.Response:
        form = {
            "grant_type": "password",
            "username": username,
            "password": get_settings().demo_password if password is None else password,
            **fields,
        }
        return client.post(TOKEN_URL, data=form)

    return post


@pytest.fixture
def login_from(app) -> Iterator[Callable[..., httpx.Response]]:  # type: ignore[no-untyped-def]
    """POST the password grant form from a client address of the test's choosing."""
    from fastapi.testclient import TestClient

    clients: dict[str, TestClient] = {}

    def post(address: str, username: str, password: str | None = None) -> httpx.Response:
        if address not in clients:
            clients[address] = TestClient(
                app, raise_server_exceptions=False, client=(address, 5000)
            )
            clients[address].__enter__()
        form = {
            "grant_type": "password",
            "username": username,
            "password": get_settings().demo_password if password is None else password,
        }
        return clients[address].post(TOKEN_URL, data=form)

    yield post
    for test_client in clients.values():
        test_client.__exit__(None, None, None)


@pytest.fixture
def move_clock() -> Iterator[Callable[[timedelta], datetime]]:
    """Move the service clock forward from the real now; restored after the test."""

    def move(delta: timedelta) -> datetime:
        clock.set_now(lambda: datetime.now(UTC) + delta)
        return clock.now()

    yield move
    clock.set_now(None)
