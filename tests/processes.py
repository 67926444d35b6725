"""The service in processes of its own (uvicorn, the worker), on the suite's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import ROOT, service_environment
from tests.test_sqlite_concurrency import Server, _wait_until_ready

T = TypeVar("T")


def process_environment(database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """A service process's environment: the suite's database, signing key and SOP
    definitions, and `settings` (TRANTIB_* variables) besides."""
    return service_environment(
        TRANTIB_DATABASE_URL=database_url,
        TRANTIB_ENVIRONMENT="development",
        TRANTIB_JWT_SIGNING_KEY=os.environ["TRANTIB_JWT_SIGNING_KEY"],
        TRANTIB_SOP_DEFINITIONS_DIR=os.environ["TRANTIB_SOP_DEFINITIONS_DIR"],
        TRANTIB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
        **settings,
    )


def listeners(engine: Engine, name: str) -> set[int]:
    """The backends of the LISTEN connections called `name` on the suite's database."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name"
            ),
            {"name": name},
        )
        return {row.pid for row in rows}


def wait_for(condition: Callable[[], T], seconds: float = 10.0) -> T:
    """`condition()` once it is truthy; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"not within {seconds} s")


@contextmanager
def service_process(database_url: str, tmp_path: Path, **settings: str) -> Iterator[str]:
    """uvicorn (one worker) serving the suite's database with the suite's signing key and
    SOP definitions, and `settings` (TRANTIB_* variables) besides; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = process_environment(database_url, tmp_path, **settings)
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
