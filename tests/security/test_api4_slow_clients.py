"""API4:2023, slow clients, over a real uvicorn: a body that dawdles neither holds a turn to
enter nor is waited for without end.

Each slow socket sends its headers and a few bytes of a body it declares much longer, then
nothing. The request waits for its turn only once its body is complete, so the slow ones
never take a turn from others; a body that is not complete within its deadline gets 408
and the connection is closed.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from tests.lifecycle.flow import INCIDENT
from tests.security.conftest import API, PROBLEMS, problem

TOKEN_URL = f"{API}/auth/token"
SLOW_SOCKETS = 50


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _slow_request(
    port: int, path: str, content_type: str, declared: int, sent: bytes
) -> socket.socket:
    """A POST whose headers are complete and whose body stops after `sent`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


def _slow_login(port: int) -> socket.socket:
    return _slow_request(
        port, TOKEN_URL, "application/x-www-form-urlencoded", 1000, b"grant_type=pass"
    )


def _slow_upload(port: int) -> socket.socket:
    # The attachment route of a report that does not exist: its body never gets that far.
    start = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n\xff\xd8'
    path = f"{API}/field-reports/00000000-0000-4000-8000-000000000000/attachments"
    return _slow_request(port, path, "multipart/form-data; boundary=b", 5_000_000, start)


@contextmanager
def _held_open(sockets: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _unanswered(sock: socket.socket) -> bool:
    """Open, and nothing answered yet."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read until the server closes the connection (a socket timeout fails the test)."""
    sock.settimeout(15)
    data = bytearray()
    while chunk := sock.recv(65536):
        data.extend(chunk)
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_fifty_slow_bodies_leave_the_service_to_everyone_else(live_url, auth, settings_env) -> None:
    # Two turns only, and a long body deadline: the slow sockets stay open throughout.
    settings_env(max_requests_in_progress=2, queue_timeout_seconds=2, body_read_timeout_seconds=120)
    port = _port(live_url)
    slow = [_slow_login(port) for _ in range(SLOW_SOCKETS - 10)]
    slow += [_slow_upload(port) for _ in range(10)]
    with _held_open(slow), httpx.Client(base_url=live_url, timeout=30) as client:
        kasi = auth("kasi.ciledug")
        answers: list[httpx.Response] = []
        latencies: list[float] = []
        calls = [("get", f"{API}/units", {})] * 20 + [("post", f"{API}/incidents", INCIDENT)] * 3
        for method, path, body in calls:
            started = time.perf_counter()
            if method == "get":
                answers.append(client.get(path, headers=kasi))
            else:
                answers.append(client.post(path, json=body, headers=kasi))
            latencies.append(time.perf_counter() - started)
        login = client.post(
            TOKEN_URL,
            data={"grant_type": "password", "username": "camat.ciledug", "password": "wrong!"},
        )
        assert [a.status_code for a in answers] == [200] * 20 + [201] * 3, [
            a.text for a in answers if a.status_code >= 300
        ]
        # A login is read and judged too (a wrong password), not queued behind the slow ones.
        problem(login, 401, "invalid-credentials")
        assert client.get("/readyz").status_code == 200
        # The slow ones were all still waiting for their bodies.
        assert all(_unanswered(sock) for sock in slow)
    print(f"served {len(answers)} requests, slowest {max(latencies) * 1000:.0f} ms")


def test_a_slow_body_gets_408_and_its_connection_closed(live_url, settings_env) -> None:
    settings_env(body_read_timeout_seconds=0.5)
    with _held_open([_slow_login(_port(live_url))]) as (sock,):
        status, headers, body = _answer(sock)
    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    found = json.loads(body)
    assert found["type"] == PROBLEMS + "request-timeout"
    assert found["status"] == 408


def test_a_slow_upload_has_its_own_deadline(live_url, settings_env) -> None:
    settings_env(body_read_timeout_seconds=0.2, upload_read_timeout_seconds=0.6)
    with _held_open([_slow_upload(_port(live_url))]) as (sock,):
        started = time.monotonic()
        status, _, body = _answer(sock)
        waited = time.monotonic() - started
    assert status == 408
    assert json.loads(body)["type"] == PROBLEMS + "request-timeout"
    # Held to the upload deadline, not to the shorter one of other bodies.
    assert waited >= 0.5
