"""`make run` stops quietly: SIGTERM or Ctrl-C end the server without make reporting it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.servers import free_port
from tests.conftest import ROOT, service_environment

pytestmark = pytest.mark.slow

VENV = Path(sys.executable).parents[1]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_stopping_make_run_is_quiet(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    env = service_environment(
        TRANTIB_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        TRANTIB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
        TRANTIB_JWT_SIGNING_KEY=os.environ["TRANTIB_JWT_SIGNING_KEY"],
    )
    # -o: the test's own virtualenv counts as installed; nothing is installed into it.
    argv = ["make", "--no-print-directory", "-o", f"{VENV}/.runtime", "run"]
    process = subprocess.Popen(
        [*argv, f"VENV={VENV}", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "make run did not serve within 90 s"
            time.sleep(0.3)
        # As a terminal or a process manager does: to make and the server together.
        os.killpg(process.pid, stop)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "Finished server process" in stderr
    assert "make: ***" not in stderr, stderr
    assert "Traceback" not in stderr
