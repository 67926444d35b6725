"""A real HTTP receiver on 127.0.0.1, webhook settings switched per test, a movable clock."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.core import clock
from app.core.config import get_settings
from app.units.data import KECAMATAN
from tests.lifecycle.flow import INCIDENT, Flow

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers `status` to every POST, after `fail_first` answers of `fail_status`."""

    host: str = "127.0.0.1"
    status: int = 204
    fail_first: int = 0
    fail_status: int = 500
    fail_body: bytes = b"temporarily unavailable"
    delay: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    failing = len(receiver.received) <= receiver.fail_first
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.fail_status if failing else receiver.status
                answer = receiver.fail_body if failing else b""
                try:
                    self.send_response(status)
                    for name, value in receiver.extra_headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (the timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/trantib"

    def ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.headers["webhook-id"] for r in self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        server = Receiver(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def webhook_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set TRANTIB_WEBHOOKS_* for this test: webhook_settings(allow_http=True, ...)."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            monkeypatch.setenv(f"TRANTIB_WEBHOOKS_{name.upper()}", text)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def local_receivers(webhook_settings: Callable[..., None]) -> Callable[..., None]:
    """Allow the 127.0.0.1 http receivers; retries one second apart (base = cap = 1 s)."""
    webhook_settings(
        allow_http=True, allow_private=True, backoff_base_seconds=1, backoff_cap_seconds=1
    )
    return webhook_settings


@dataclass
class Clock:
    """The service clock, real time plus an offset that tests move forward."""

    offset: timedelta = timedelta()

    def advance(self, seconds: float) -> datetime:
        self.offset += timedelta(seconds=seconds)
        return clock.now()


@pytest.fixture
def service_clock() -> Iterator[Clock]:
    moved = Clock()
    clock.set_now(lambda: datetime.now(UTC) + moved.offset)
    yield moved
    clock.set_now(None)


@pytest.fixture
def admin(auth: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return auth("admin")


@pytest.fixture
def subscribe(client, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Create a subscription over HTTP; returns the 201 body (with the secret)."""

    def create(url: str, event_types: list[str] | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "url": url,
            "event_types": event_types or ["incident.created", "step.completed"],
            "description": "Sistem Pemkot",
            **fields,
        }
        response = client.post(SUBSCRIPTIONS, json=body, headers=admin)
        assert response.status_code == 201, response.text
        return response.json()

    return create


class LocalFlow(Flow):
    """A Flow whose incident lies in a kelurahan of its own kecamatan."""

    def create(self, **overrides: Any) -> dict[str, Any]:
        if "location" not in overrides:
            kecamatan = next(k for k in KECAMATAN if k.slug == self.slug)
            overrides["location"] = {**INCIDENT["location"], "kelurahan": kecamatan.kelurahan[0]}
        return super().create(**overrides)


@pytest.fixture
def flow(client, auth, user_id) -> Flow:  # type: ignore[no-untyped-def]
    return LocalFlow(client, auth, user_id)


@pytest.fixture
def flow_for(client, auth, user_id) -> Callable[[str], Flow]:  # type: ignore[no-untyped-def]
    def make(slug: str) -> Flow:
        return LocalFlow(client, auth, user_id, slug=slug)

    return make
