"""The embedded SQLite database under concurrent writers from several server processes.

A real uvicorn (two worker processes, each with its thread pool) serves a migrated SQLite
file; simultaneous refresh-token rotations and logins, which all write, must queue on the
write lock (WAL, busy_timeout, BEGIN IMMEDIATE) and never fail with "database is locked".
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlmodel import Session

from tests.conftest import PG_URL, ROOT, alembic_config, service_environment

pytestmark = [
    pytest.mark.skipif(
        bool(PG_URL), reason="SQLite's single-writer lock only; PostgreSQL locks rows"
    ),
    pytest.mark.slow,
]

PASSWORD = "concurrency-demo-pw"
WRITERS = 40
UNITS = ("ciledug", "karawaci", "pinang", "benda", "larangan", "cibodas")
ROLES = ("camat", "sekcam", "kasi", "danru", "anggota1", "anggota2", "anggota3")


@dataclass
class Server:
    base_url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_database(url: str) -> None:
    from app.core.config import Settings
    from app.core.db import make_engine
    from app.users.demo import seed_demo

    command.upgrade(alembic_config(url), "head")
    engine = make_engine(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    with Session(engine) as session:
        seed_demo(session, PASSWORD)
        session.commit()
    engine.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'concurrency.db'}"
    _prepare_database(url)
    port = _free_port()
    env = service_environment(
        TRANTIB_DATABASE_URL=url,
        TRANTIB_DEMO_PASSWORD=PASSWORD,
        TRANTIB_ENVIRONMENT="development",
        TRANTIB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
    )
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "2", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    running = Server(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_ready(process, running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.log_text()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server was not ready in 60 s:\n{server.log_text()}")


def _send_all(calls: list[tuple[str, dict[str, object]]], at_once: int) -> list[httpx.Response]:
    def send(call: tuple[str, dict[str, object]]) -> httpx.Response:
        url, options = call
        return httpx.post(url, timeout=60, **options)  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(send, calls))


def _login(
    server: Server, username: str, password: str = PASSWORD
) -> tuple[str, dict[str, object]]:
    form = {"grant_type": "password", "username": username, "password": password}
    return f"{server.base_url}/api/v1/auth/token", {"data": form}


def _assert_no_server_errors(responses: list[httpx.Response], server: Server) -> None:
    failures = [f"{r.status_code} {r.text[:200]}" for r in responses if r.status_code >= 500]
    assert failures == [], "\n".join(failures) + "\n" + server.log_text()
    assert "database is locked" not in server.log_text()
    assert all("database is locked" not in r.text for r in responses)


def test_forty_simultaneous_writers(server: Server) -> None:
    """30 refresh-token rotations, 8 logins and 2 failed logins, all sent at once.

    Logins stay few: each holds the write lock while it verifies an argon2 hash, so a crowd
    of them measures the hash cost (and the machine's load), not the locking.
    """
    users = [f"{role}.{unit}" for unit in UNITS for role in ROLES]
    holders, others = users[:30], users[30:40]
    first = _send_all([_login(server, user) for user in holders], at_once=4)
    _assert_no_server_errors(first, server)
    assert [r.status_code for r in first] == [200] * len(holders)

    wrong = set(others[:2])
    calls = [
        (
            f"{server.base_url}/api/v1/auth/refresh",
            {"json": {"refresh_token": r.json()["refresh_token"]}},
        )
        for r in first
    ] + [_login(server, user, "wrong-password" if user in wrong else PASSWORD) for user in others]
    assert len(calls) == WRITERS
    responses = _send_all(calls, at_once=WRITERS)

    _assert_no_server_errors(responses, server)
    refreshes, logins = responses[: len(holders)], responses[len(holders) :]
    assert [r.status_code for r in refreshes] == [200] * len(holders)
    assert len({r.json()["refresh_token"] for r in refreshes}) == len(holders)
    assert {u: r.status_code for u, r in zip(others, logins, strict=True)} == {
        u: 401 if u in wrong else 200 for u in others
    }
