"""A notification committed through one API process reaches a stream held by another."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL, ROOT, service_environment
from tests.notifications.test_stream import Stream
from tests.test_sqlite_concurrency import Server, _wait_until_ready

pytestmark = pytest.mark.skipif(not PG_URL, reason="several processes share PostgreSQL only")


@pytest.fixture
def other_process(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The service in a uvicorn process of its own, on the suite's database."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = service_environment(
        TRANTIB_DATABASE_URL=database_url,
        TRANTIB_ENVIRONMENT="development",
        TRANTIB_JWT_SIGNING_KEY=os.environ["TRANTIB_JWT_SIGNING_KEY"],
        TRANTIB_SOP_DEFINITIONS_DIR=os.environ["TRANTIB_SOP_DEFINITIONS_DIR"],
        TRANTIB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
    )
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Server(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_ready(process, running)
        yield running.base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


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
