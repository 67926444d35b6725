"""The service in a uvicorn process of its own, on the suite's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT, service_environment
from tests.test_sqlite_concurrency import Server, _wait_until_ready


@contextmanager
def service_process(database_url: str, tmp_path: Path, **settings: str) -> Iterator[str]:
    """uvicorn (one worker) serving the suite's database with the suite's signing key and
    SOP definitions, and `settings` (TRANTIB_* variables) besides; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = service_environment(
        TRANTIB_DATABASE_URL=database_url,
        TRANTIB_ENVIRONMENT="development",
        TRANTIB_JWT_SIGNING_KEY=os.environ["TRANTIB_JWT_SIGNING_KEY"],
        TRANTIB_SOP_DEFINITIONS_DIR=os.environ["TRANTIB_SOP_DEFINITIONS_DIR"],
        TRANTIB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
        **settings,
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
