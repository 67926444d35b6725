"""Pooled PostgreSQL connections the server closed: replaced before use when found idle, and
a clear, retryable 503 for a request whose connection died under it."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import PG_URL
from tests.processes import service_process

pytestmark = pytest.mark.skipif(not PG_URL, reason="connections to a PostgreSQL server")

# The other process's pool checks a connection idle longer than this before use.
IDLE_SECONDS = 0.5


@pytest.fixture
def close_server_side(engine: Engine) -> Callable[[], int]:
    """Close, from the server's side, every other connection to the suite's database, as a
    restart or a failover does; the number closed."""

    def close() -> int:
        with engine.connect() as conn:
            closed = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM"
                    " pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
            ).scalar_one()
        # The suite's own pool held some of them: it finds out on its next checkout.
        engine.dispose()
        return int(closed)

    return close


def _me(base_url: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{base_url}/api/v1/users/me", headers=headers, timeout=10)


def test_a_connection_closed_while_idle_is_replaced_before_a_request_uses_it(
    database_url, tmp_path, auth, close_server_side
):
    headers = auth("camat.ciledug")
    with service_process(
        database_url, tmp_path, TRANTIB_DB_PING_IDLE_SECONDS=str(IDLE_SECONDS)
    ) as base_url:
        assert _me(base_url, headers).status_code == 200  # the pool now holds a connection
        assert close_server_side() >= 1
        time.sleep(IDLE_SECONDS * 2)
        answers = [_me(base_url, headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text


def test_a_request_whose_connection_was_closed_is_answered_503_and_its_retry_succeeds(
    database_url, tmp_path, auth, close_server_side
):
    headers = {**auth("camat.ciledug"), "Accept-Language": "id"}
    # Checked only after an hour idle: the closed connection is used as it is.
    with service_process(database_url, tmp_path, TRANTIB_DB_PING_IDLE_SECONDS="3600") as base_url:
        assert _me(base_url, headers).status_code == 200
        assert close_server_side() >= 1
        lost = _me(base_url, headers)
        retried = _me(base_url, headers)
    assert lost.status_code == 503, lost.text
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.headers["retry-after"] == "1"
    problem = lost.json()
    assert problem["type"].endswith("/service-unavailable")
    assert problem["reason"] == "database-connection-lost"
    assert "basis data" in problem["detail"]
    assert retried.status_code == 200, retried.text
