"""Client addresses behind a proxy: X-Forwarded-For is believed from FORWARDED_ALLOW_IPS only,
and that is empty wherever the project starts uvicorn. Uvicorn's own default trusts
127.0.0.1, so anything on the host could dodge the per-address login throttle."""

from __future__ import annotations

import os
import shlex
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
PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"


def _make_run_uvicorn_arguments() -> list[str]:
    """The arguments `make run` gives uvicorn (a dry run of the target)."""
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    line = next(line for line in dry.splitlines() if "uvicorn app.main:app" in line)
    words = shlex.split(line)
    return words[words.index("app.main:app") :]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served_as_make_runs_it(database_url: str) -> Iterator[str]:
    port = _free_port()
    arguments = _make_run_uvicorn_arguments()
    arguments[arguments.index("--port") + 1] = str(port)
    env = {k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *arguments],
        cwd=ROOT,
        env={**env, "TRANTIB_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("uvicorn did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_make_run_believes_no_forwarded_address(served_as_make_runs_it: str) -> None:
    wrong = {"grant_type": "password", "username": "kasi.benda", "password": "wrong-password!"}
    statuses = []
    for n in range(6):
        # A new address each time: believed, each would be a pair of its own.
        response = httpx.post(
            f"{served_as_make_runs_it}/api/v1/auth/token",
            data=wrong,
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    assert response.json()["type"] == PROBLEMS + "rate-limited"
    assert int(response.headers["retry-after"]) > 0


def test_the_image_believes_no_proxy_by_default() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'FORWARDED_ALLOW_IPS=""' in dockerfile
    assert "--forwarded-allow-ips" not in dockerfile


def test_compose_passes_an_empty_default() -> None:
    api = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["api"]
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-}"
