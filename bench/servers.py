"""Processes and databases for the benchmark and the crash test.

Each run gets a PostgreSQL database of its own (created, migrated, seeded with the demo
users, dropped at the end). The API (uvicorn) and the worker run as subprocesses, each in a
process group of its own so that a kill -9 reaches uvicorn's worker processes too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEMO_PASSWORD = os.environ.get("TRANTIB_DEMO_PASSWORD", "trantib-demo")


def create_database(base_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server of `base_url` (created through the database that
    URL names), and the function that drops it."""
    url = make_url(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of the service's processes: this database, development settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANTIB_")}
    env.update(
        TRANTIB_DATABASE_URL=database_url,
        TRANTIB_ENVIRONMENT="development",
        TRANTIB_DEMO_PASSWORD=DEMO_PASSWORD,
        TRANTIB_ACCESS_TOKEN_MINUTES="120",
        # The load clients act as a few demo users far faster than any person would. The
        # limiter still runs (its cost is part of every request measured) but never refuses.
        TRANTIB_RATE_LIMIT_PER_MINUTE="1000000",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"TRANTIB_{k.upper()}": v for k, v in settings.items()})
    return env


def cli(env: dict[str, str], *args: str) -> None:
    """`python -m app.cli ...` in the service's environment; raises when it fails."""
    subprocess.run(
        [PYTHON, "-m", "app.cli", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


@dataclass
class Process:
    """A subprocess in its own process group, with its output in a log file."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill(self, sig: int = signal.SIGKILL, wait: float = 10.0) -> None:
        """Signal the whole group (uvicorn's master and its workers) and reap the leader."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(wait)
        # Give group members a moment to go, so a restart can bind the port again.
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(self.popen.pid):
            time.sleep(0.05)
        self.popen = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int, marker: str = "") -> list[int]:
    """The direct children of a process whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and marker in (entry / "cmdline").read_text(errors="replace"):
            found.append(int(entry.name))
    return sorted(found)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    except OSError:
        pass
    return values


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+), so a later peak excludes what came
    before; False when the kernel or the permissions do not allow it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Api:
    """uvicorn serving an ASGI app on a free local port."""

    env: dict[str, str]
    log_path: Path
    app: str = "app.main:app"
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        argv = [
            PYTHON,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--no-server-header",
            "--log-level",
            "warning",
        ]
        self.process = Process(argv, self.env, self.log_path)
        self.process.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        ready = 0
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.popen is not None
            if self.process.popen.poll() is not None:
                raise RuntimeError(f"uvicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as answer:
                    ready = ready + 1 if answer.status == 200 else 0
            except OSError:
                ready = 0
            # Several answers in a row: both workers are likely up, not just the first.
            if ready >= 3 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"uvicorn not ready after {timeout} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        if self.process is None or self.process.popen is None:
            return []
        if self.workers == 1:
            return [self.process.pid]
        # Not multiprocessing's resource tracker, also a child of the master.
        return children(self.process.pid, "spawn_main")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
