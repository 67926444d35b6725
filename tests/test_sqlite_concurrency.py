"""The embedded SQLite database under concurrent writers from several server processes.

A real uvicorn (two worker processes, each with its thread pool) serves a migrated SQLite file;
simultaneous logins and refreshes, which all write, must queue on the write lock (WAL,
busy_timeout, BEGIN IMMEDIATE) and never fail with "database is locked".
"""

from __future__ import annotations

import os
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

from tests.conftest import PG_URL, ROOT, alembic_config

pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="SQLite's single-writer lock only; PostgreSQL locks rows"
)

PASSWORD = "concurrency-demo-pw"
WRITERS = 40
UNITS = ("ciledug", "karawaci", "pinang", "benda", "larangan")
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANTIB_")}
    env.update(
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


def _all_at_once(calls: list[tuple[str, dict[str, object]]]) -> list[httpx.Response]:
    def send(call: tuple[str, dict[str, object]]) -> httpx.Response:
        url, options = call
        return httpx.post(url, timeout=60, **options)  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def _assert_no_server_errors(responses: list[httpx.Response], server: Server) -> None:
    failures = [f"{r.status_code} {r.text[:200]}" for r in responses if r.status_code >= 500]
    assert failures == [], "\n".join(failures) + "\n" + server.log_text()
    assert "database is locked" not in server.log_text()
    assert all("database is locked" not in r.text for r in responses)


def test_concurrent_logins_and_refreshes(server: Server) -> None:
    token_url = f"{server.base_url}/api/v1/auth/token"
    users = [f"{role}.{unit}" for unit in UNITS for role in ROLES][:WRITERS]
    # A few wrong passwords: a failed login writes too (the rate limit's record).
    wrong = set(users[::10])
    logins = _all_at_once(
        [
            (
                token_url,
                {
                    "data": {
                        "grant_type": "password",
                        "username": user,
                        "password": "wrong-password" if user in wrong else PASSWORD,
                    }
                },
            )
            for user in users
        ]
    )
    _assert_no_server_errors(logins, server)
    statuses = {user: r.status_code for user, r in zip(users, logins, strict=True)}
    assert {u: s for u, s in statuses.items() if u in wrong} == dict.fromkeys(wrong, 401)
    assert {u: s for u, s in statuses.items() if u not in wrong} == {
        u: 200 for u in users if u not in wrong
    }

    refresh_tokens = [r.json()["refresh_token"] for r in logins if r.status_code == 200]
    refreshes = _all_at_once(
        [
            (f"{server.base_url}/api/v1/auth/refresh", {"json": {"refresh_token": token}})
            for token in refresh_tokens
        ]
    )
    _assert_no_server_errors(refreshes, server)
    assert [r.status_code for r in refreshes] == [200] * len(refresh_tokens)
    assert len({r.json()["refresh_token"] for r in refreshes}) == len(refresh_tokens)
