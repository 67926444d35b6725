"""API10:2023 Unsafe Consumption of APIs: what a webhook receiver answers.

The only third-party answers the service reads are its webhook receivers'. Hostile ones, on
127.0.0.1 and written byte by byte: a body of 64 MB, a gzip bomb, NUL bytes and invalid
UTF-8, a body that drips, oversized headers, a status line that is not HTTP, a connection
closed without an answer. Delivery survives all of them in one pass; what is kept of a body is
at most EXCERPT_BYTES, read raw (never decompressed) and cut short as soon as it is reached;
and the other receivers still get their messages.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.webhooks import delivery
from tests.lifecycle.flow import Flow
from tests.security.conftest import API
from tests.webhooks.conftest import Receiver

SUBSCRIPTIONS = f"{API}/webhooks/subscriptions"
MB = 1024 * 1024


@dataclass
class Hostile:
    """A TCP server on 127.0.0.1 that reads one request and answers with `script`."""

    script: Callable[[socket.socket], None]
    sent: int = 0
    requests: int = 0
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Hostile:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                self._read_request(conn)
                self.requests += 1
                # The sender hanging up mid-answer is what it does on purpose.
                with contextlib.suppress(OSError):
                    self.script(conn)

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk

    def write(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.getsockname()[1]}/hooks"


def huge_body(status: int) -> Callable[[Hostile, socket.socket], None]:
    def script(server: Hostile, conn: socket.socket) -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {64 * MB}\r\n\r\n".encode()
        server.write(conn, head)
        block = b"A" * 65536
        for _ in range(64 * MB // len(block)):
            server.write(conn, block)

    return script


def chunked_endless(server: Hostile, conn: socket.socket) -> None:
    server.write(conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    block = b"B" * 32768
    for _ in range(2048):  # 64 MB, never ended
        server.write(conn, b"%x\r\n%s\r\n" % (len(block), block))


def gzip_bomb(server: Hostile, conn: socket.socket) -> None:
    bomb = gzip.compress(bytes(32 * MB), compresslevel=9)
    head = (
        "HTTP/1.1 500 Oops\r\nContent-Encoding: gzip\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(bomb)}\r\n\r\n"
    ).encode()
    server.write(conn, head + bomb)


def nul_and_invalid_utf8(server: Hostile, conn: socket.socket) -> None:
    body = b"\x00\x00ok\x00\xff\xfe\xc3\x28<script>alert(1)</script>\x00" * 20
    head = f"HTTP/1.1 503 Busy\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    server.write(conn, head + body)


def dripping(server: Hostile, conn: socket.socket) -> None:
    server.write(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(200):
        server.write(conn, b"d")
        time.sleep(0.05)


def huge_headers(server: Hostile, conn: socket.socket) -> None:
    server.write(conn, b"HTTP/1.1 200 OK\r\n")
    for i in range(2000):
        server.write(conn, f"X-Filler-{i}: {'h' * 100}\r\n".encode())
    server.write(conn, b"Content-Length: 0\r\n\r\n")


def not_http(server: Hostile, conn: socket.socket) -> None:
    server.write(conn, b"SSH-2.0-OpenSSH_9.6\r\n\r\n\x00\x01\x02")


def hang_up(server: Hostile, conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def bad_status(server: Hostile, conn: socket.socket) -> None:
    server.write(conn, b"HTTP/1.1 999999 Whatever\r\nContent-Length: 2\r\n\r\nok")


SCRIPTS: dict[str, Callable[..., None]] = {
    "huge-200": huge_body(200),
    "huge-500": huge_body(500),
    "chunked-endless": chunked_endless,
    "gzip-bomb": gzip_bomb,
    "nul-bytes": nul_and_invalid_utf8,
    "dripping": dripping,
    "huge-headers": huge_headers,
    "not-http": not_http,
    "hang-up": hang_up,
    "bad-status": bad_status,
}


@pytest.fixture
def hostile() -> Iterator[dict[str, Hostile]]:
    servers: dict[str, Hostile] = {}
    for name, script in SCRIPTS.items():
        servers[name] = Hostile(lambda conn, s=script, n=name: s(servers[n], conn)).start()
    yield servers
    for server in servers.values():
        server.stop()


def test_hostile_receivers_do_not_break_delivery(
    client, auth, settings_env, hostile: dict[str, Hostile], flow: Flow
) -> None:
    settings_env(webhooks_allow_http=True, webhooks_allow_private=True, webhooks_timeout_seconds=2)
    good = Receiver().start()
    try:
        ids = {}
        for name, server in {**hostile, "good": good}.items():
            created = client.post(
                SUBSCRIPTIONS,
                json={"url": server.url, "event_types": ["step.completed"]},
                headers=auth("admin"),
            )
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
        flow.run_to(2)
        started = time.monotonic()
        report = delivery.run_once()
        elapsed = time.monotonic() - started
    finally:
        good.stop()

    assert report.delivered + report.failed == len(ids), report
    assert len(good.received) == 1
    # Four senders, a 2 s budget per answer: nobody waited for 64 MB or for the drip.
    assert elapsed < 15, elapsed
    outcomes = {name: only_attempt(client, auth("admin"), ids[name]) for name in ids}
    for name, attempt in outcomes.items():
        excerpt = attempt["response_excerpt"]
        assert excerpt is None or len(excerpt) <= delivery.EXCERPT_BYTES, name
        assert excerpt is None or "\x00" not in excerpt, name
    for name in ("huge-200", "huge-500", "chunked-endless"):
        assert hostile[name].requests == 1
        # Reading stopped at the excerpt: most of the 64 MB was never taken.
        assert hostile[name].sent < 32 * MB, (name, hostile[name].sent)
    assert outcomes["huge-200"]["status_code"] == 200
    assert outcomes["huge-500"]["status_code"] == 500
    assert outcomes["gzip-bomb"]["status_code"] == 500
    # Kept as the raw compressed bytes, never inflated.
    assert outcomes["gzip-bomb"]["response_excerpt"].startswith("\x1f")
    assert outcomes["nul-bytes"]["status_code"] == 503
    assert "<script>" in outcomes["nul-bytes"]["response_excerpt"]
    for name in ("huge-headers", "not-http", "hang-up"):
        assert outcomes[name]["status_code"] is None, (name, outcomes[name])
        assert outcomes[name]["error"], name
    assert outcomes["good"]["status_code"] == 204
    statuses = deliveries_status(client, auth("admin"), ids)
    assert statuses["good"] == "delivered"
    assert statuses["huge-500"] == "pending" and statuses["not-http"] == "pending"


def only_attempt(client: Any, admin: dict[str, str], subscription_id: str) -> dict[str, Any]:
    listed = client.get(f"{SUBSCRIPTIONS}/{subscription_id}/deliveries", headers=admin)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 1, items
    detail = client.get(f"{API}/webhooks/deliveries/{items[0]['id']}", headers=admin)
    assert detail.status_code == 200, detail.text
    attempts = detail.json()["attempt_log"]
    assert len(attempts) == 1, attempts
    attempt: dict[str, Any] = attempts[0]
    return attempt


def deliveries_status(client: Any, admin: dict[str, str], ids: dict[str, str]) -> dict[str, str]:
    found = {}
    for name, subscription_id in ids.items():
        items = client.get(f"{SUBSCRIPTIONS}/{subscription_id}/deliveries", headers=admin).json()[
            "items"
        ]
        found[name] = items[0]["status"]
    return found
