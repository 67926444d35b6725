"""The probes, and what they and every answer tell an anonymous caller."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_ready_and_names_no_revision(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    # The migration revision told anyone which release runs; operators have the CLI for it.
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_on_a_database_behind_the_code(client, engine):
    from sqlalchemy import text

    with engine.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0019'"))
    try:
        response = client.get("/readyz")
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/service-unavailable")
    assert client.get("/readyz").status_code == 200


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")


def _dockerfile_command(port: int) -> list[str]:
    """The image's uvicorn command line, on a local port with one worker."""
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd
    words: list[str] = yaml.safe_load(cmd.group(1))
    words[words.index("--host") + 1] = "127.0.0.1"
    words[words.index("--port") + 1] = str(port)
    words[words.index("--workers") + 1] = "1"
    assert words[0] == "uvicorn"
    return [sys.executable, "-m", *words]


@pytest.fixture
def served_as_in_the_image(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "uvicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            _dockerfile_command(port), cwd=ROOT, env=dict(os.environ), stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not start:\n{log.read_text()}")
            try:
                httpx.get(base + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.slow
def test_no_answer_names_the_server_software(served_as_in_the_image: str) -> None:
    for path in ("/readyz", "/healthz", "/api/v1/units", "/api/v1/nothing-here"):
        response = httpx.get(served_as_in_the_image + path, timeout=10)
        assert response.status_code in (200, 401, 404), (path, response.text)
        assert "server" not in response.headers, (path, response.headers["server"])
    assert httpx.get(served_as_in_the_image + "/readyz").json() == {"status": "ready"}


def test_every_way_of_serving_drops_the_server_header() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = [line for line in makefile.splitlines() if "uvicorn app.main:app" in line]
    assert run and all("--no-server-header" in line for line in run)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "--no-server-header" in compose["services"]["api"]["command"]
