"""A notification committed through one API process reaches a stream held by another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL
from tests.notifications.test_stream import Stream
from tests.processes import service_process

pytestmark = pytest.mark.skipif(not PG_URL, reason="several processes share PostgreSQL only")


@pytest.fixture
def other_process(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The service in a uvicorn process of its own, on the suite's database."""
    with service_process(database_url, tmp_path) as base_url:
        yield base_url


def test_an_action_through_this_process_reaches_a_stream_of_another(
    other_process, auth, flow, fan_out, told
):
    headers = auth("camat.ciledug")
    with (
        httpx.Client(base_url=other_process, timeout=10) as http,
        http.stream("GET", "/api/v1/stream", headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        stream = Stream(response)
        assert stream.next_event()["event"] == "ready"
        flow.create()  # through the suite's own app, not the other process
        fan_out()
        event = stream.next_event()
    assert (event["event"], int(event["id"])) == ("task.assigned", told("camat.ciledug")[0]["id"])
