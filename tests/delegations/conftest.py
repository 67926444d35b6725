"""Delegations over HTTP: a second Danru to stand in, and a helper that records one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import clock
from app.core.config import get_settings

LETTER = {"number": "800.1.11.1/012/Kec/2026", "date": "2026-12-01"}


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def make_user(client: TestClient, auth: Callable[[str], dict[str, str]]) -> Callable[..., str]:
    """Create a user of a kecamatan through the admin API; returns the id."""

    def make(username: str, role: str, unit: str = "ciledug", **extra: Any) -> str:
        body = {
            "username": username,
            "full_name": extra.pop("full_name", f"{username} (test)"),
            "role": role,
            "unit": unit,
            "password": "rahasia-yang-panjang-1",
            **extra,
        }
        response = client.post("/api/v1/users", json=body, headers=auth("admin"))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return make


@pytest.fixture
def danru2(make_user: Callable[..., str]) -> str:
    """A second Danru of Ciledug: drafts nothing, reviews nothing, so may stand in."""
    return make_user("danru2.ciledug", "danru", nip="198001012006041002", full_name="Rudi Hartono")


@pytest.fixture
def delegate(client: TestClient, auth: Callable[[str], dict[str, str]]) -> Callable[..., Any]:
    """Record a delegation as `by`; returns the response (the caller asserts)."""

    def record(
        delegate_id: str,
        *,
        position: str = "camat",
        kind: str = "plh",
        by: str = "admin",
        unit: str = "ciledug",
        starts_at: datetime | None = None,
        ends_at: datetime | None | bool = True,
        **extra: Any,
    ) -> Any:
        body: dict[str, Any] = {
            "position": position,
            "unit": unit,
            "delegate_id": delegate_id,
            "kind": kind,
            "basis": LETTER,
            **extra,
        }
        if starts_at is not None:
            body["starts_at"] = iso(starts_at)
        if ends_at is True:
            body["ends_at"] = iso((starts_at or clock.now()) + timedelta(days=5))
        elif isinstance(ends_at, datetime):
            body["ends_at"] = iso(ends_at)
        return client.post("/api/v1/delegations", json=body, headers=auth(by))

    return record


@pytest.fixture
def at() -> Iterator[Callable[[datetime], None]]:
    """Stop the service clock at a moment (near real time: tokens are checked by it too)."""

    def move(moment: datetime) -> None:
        clock.set_now(lambda: moment)

    yield move
    clock.set_now(None)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def self_plh(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], None]]:
    def apply(allowed: bool) -> None:
        monkeypatch.setenv("TRANTIB_DELEGATION_SELF_PLH", "true" if allowed else "false")
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
