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
