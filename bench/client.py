"""A small HTTP/1.1 keep-alive client on asyncio streams, for load that costs little to make.

httpx spends milliseconds of CPU per request on this machine, which is as much as the service
under test; this client parses only what the benchmark needs (status, headers, a body sized by
Content-Length or chunked encoding) and keeps one connection open per virtual user.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


class ConnectionLost(Exception):
    """The connection failed before a whole response arrived: the request may or may not
    have been processed."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem_type(self) -> str | None:
        if not self.headers.get("content-type", "").startswith("application/problem+json"):
            return None
        kind = self.json().get("type", "")
        return str(kind).rsplit("/", 1)[-1]


@dataclass
class Connection:
    """One keep-alive connection; reconnects on the next request after a failure."""

    host: str
    port: int
    timeout: float = 60.0
    _reader: asyncio.StreamReader | None = field(default=None, repr=False)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        body = b""
        head = {"host": f"{self.host}:{self.port}", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            head["content-type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            head["content-type"] = "application/x-www-form-urlencoded"
        if body or method in ("POST", "PUT", "PATCH"):
            head["content-length"] = str(len(body))
        lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items())]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(self._exchange(raw), self.timeout)
        except (TimeoutError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
            self.close()
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # a malformed answer: treat the connection as unusable
            self.close()
            raise ConnectionLost(f"bad response: {exc}") from exc
        response.elapsed = time.perf_counter() - started
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    async def _exchange(self, raw: bytes) -> Response:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        self._writer.write(raw)
        await self._writer.drain()
        reader = self._reader
        status_line = await reader.readuntil(b"\r\n")
        if not status_line.startswith(b"HTTP/1."):
            raise ValueError(status_line[:40])
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.extend(await reader.readexactly(size))
                await reader.readexactly(2)
            body = bytes(chunks)
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Response(status, headers, body)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of the values; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Event:
    """One Server-Sent Event as it arrived: its id (None when it had none), type, data and
    the perf_counter() time its last byte was read."""

    id: int | None
    event: str
    data: str
    at: float

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class EventStream:
    """One GET of a Server-Sent Events stream on a connection of its own: the answer's
    status, then its events one at a time. Reads whole chunks and splits them on blank lines,
    so thousands of idle streams cost the client next to nothing."""

    host: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0
    body: bytes = b""
    _reader: asyncio.StreamReader | None = field(default=None, repr=False)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)
    _buffer: bytes = field(default=b"", repr=False)

    async def open(self, timeout: float = 30.0) -> int:
        """Send the request and read the answer's head: its status (the body too when it is
        not 200). ConnectionLost when the server cannot be reached or hangs up."""
        head = {"host": f"{self.host}:{self.port}", "accept": "text/event-stream", **self.headers}
        lines = [f"GET {self.path} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items())]
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), timeout
            )
            self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await asyncio.wait_for(self._head(), timeout)
        except (TimeoutError, OSError, EOFError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        return self.status

    async def _head(self) -> None:
        assert self._reader is not None
        status_line = await self._reader.readuntil(b"\r\n")
        if not status_line.startswith(b"HTTP/1."):
            raise ValueError(status_line[:40])
        self.status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self._reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if self.status != 200:
            self.body = await self._reader.readexactly(length)
            self.close()

    async def next(self) -> Event:
        """The next event (comments skipped); ConnectionLost when the stream ends."""
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                block, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
                event = _parse_event(block)
                if event is not None:
                    return event
                continue
            try:
                self._buffer += await self._chunk()
            except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as exc:
                self.close()
                raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc

    async def _chunk(self) -> bytes:
        if self._reader is None:
            raise EOFError("not open")
        size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            raise EOFError("the stream ended")
        data = await self._reader.readexactly(size + 2)
        return data[:-2]

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _parse_event(block: bytes) -> Event | None:
    ident: int | None = None
    kind = "message"
    data: list[str] = []
    for line in block.decode().split("\r\n"):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            ident = int(value) if value else None
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)
    if not data and ident is None and kind == "message":
        return None  # a comment: the keep-alive ping
    return Event(ident, kind, "\n".join(data), time.perf_counter())
