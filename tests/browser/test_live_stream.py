"""The web app's stream client (examples/live-stream/stream.js) in headless Chromium resumes
after a dropped connection. The page comes from an origin of its own, as the SPA does, and
reads GET /api/v1/stream with fetch (CORS, the page's origin in TRANTIB_CORS_ORIGINS) through
a TCP proxy; the proxy cuts the connection and refuses new ones while a notification is
committed, then lets the client in again; the client sends the last id it saw as
Last-Event-ID and gets the missed notification, once, after a second `ready`.

Skipped without Chromium, unless TRANTIB_REQUIRE_BROWSER=1 (as the Swagger UI test)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.test_swagger_ui import CHROMIUM_ARGS, TIMEOUT_MS, _chromium
from tests.browser.web_app import web_app
from tests.conftest import serving

pytestmark = pytest.mark.browser

CLIENT = Path(__file__).resolve().parents[2] / "examples" / "live-stream" / "stream.js"


class Proxy:
    """127.0.0.1:<port> forwarding to the live server, one thread per direction. `cut()`
    closes every connection through it; `refuse` closes new ones at once."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.refuse = False
        self.requests: list[bytes] = []  # the first bytes of each connection: its request
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        first = requests
        try:
            while chunk := source.recv(65536):
                if first:
                    with self._lock:
                        self.requests.append(chunk)
                    first = False
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


PAGE = (
    "<!doctype html><title>Trantib</title><p>Trantib</p><script type=module>"
    "import { openStream } from '/stream.js'; window.openStream = openStream;</script>"
)


@pytest.fixture
def spa_origin() -> Iterator[str]:
    """The web app's origin: its page, and the client the page imports."""
    with web_app(CLIENT.parent, PAGE) as origin:
        yield origin


@pytest.fixture
def proxy(spa_origin: str) -> Iterator[Proxy]:
    """The API allowing the web app's origin (CORS), behind the proxy."""
    from app.core.config import Settings, get_settings
    from app.main import create_app

    settings = Settings(**{**get_settings().model_dump(), "cors_origins": [spa_origin]})
    with serving(create_app(settings)) as api:
        parts = urlsplit(api)
        assert parts.hostname is not None and parts.port is not None
        through = Proxy((parts.hostname, parts.port))
        yield through
        through.close()


def wait_until(page: Any, expression: str) -> Any:
    return page.wait_for_function(expression, timeout=TIMEOUT_MS).json_value()


def test_the_stream_client_resumes_after_a_dropped_connection(
    spa_origin: str,
    proxy: Proxy,
    auth: Callable[[str], dict[str, str]],
    flow,
    fan_out,
    told,
    tmp_path: Path,
) -> None:
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    token = auth("camat.ciledug")["Authorization"].removeprefix("Bearer ")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(spa_origin + "/")
            wait_until(page, "() => typeof window.openStream === 'function'")
            page.evaluate(
                """([url, token]) => {
                    window.seen = { readies: 0, events: [], connects: [] };
                    window.stream = window.openStream({
                        url,
                        token: async () => token,
                        onReady: () => { window.seen.readies += 1; },
                        onEvent: (e) => window.seen.events.push({ id: e.id, event: e.event }),
                        onConnect: (c) => window.seen.connects.push(c.lastEventId),
                    });
                }""",
                [proxy.origin + "/api/v1/stream", token],
            )
            wait_until(page, "() => window.seen.readies === 1")

            flow.create()  # the Kasi registers an incident: a task for the Camat
            wait_until(page, "() => window.seen.events.length === 1")

            proxy.refuse = True
            proxy.cut()
            # While the page cannot connect, another incident is told to the Camat.
            again = flow.__class__(flow.client, flow.auth, flow.user_id)
            again.create()
            fan_out()
            time.sleep(1.0)  # the client has tried and been refused meanwhile
            missed_while_away = page.evaluate("() => window.seen.events.length")
            proxy.refuse = False

            wait_until(page, "() => window.seen.readies === 2 && window.seen.events.length === 2")
            page.wait_for_timeout(500)  # nothing more comes: no event twice
            seen = page.evaluate("() => window.seen")
            page.evaluate("() => window.stream.close()")
        finally:
            browser.close()

    ids = [str(n["id"]) for n in told("camat.ciledug")]
    assert len(ids) == 2
    assert missed_while_away == 1
    assert seen["events"] == [{"id": i, "event": "task.assigned"} for i in ids]
    assert seen["connects"] == [None, ids[0]]
    # Each connection's GET (the preflight OPTIONS of the cross-origin one aside).
    streams = [r for r in proxy.requests if r.startswith(b"GET /api/v1/stream ")]
    assert len(streams) == 2
    assert b"last-event-id: " + ids[0].encode() in streams[1].lower()
    assert b"last-event-id" not in streams[0].lower()
