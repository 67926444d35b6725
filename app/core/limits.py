"""Request limits enforced before a route runs (by app.core.gate): body size, a per-token
request rate, and the body read in full before a request is let in.

A refusal costs nothing: an oversized body is refused
from its Content-Length before a byte is read, or as soon as the streamed bytes pass the
limit; a caller over its rate is refused before the body is read or the database touched.
Multipart uploads get the attachment limit (their route checks the file itself as it
streams); every other body, JSON or form, gets `max_body_bytes`.

The rate limit is a token bucket per token subject (a user id or a client id), kept in the
memory of each process: with N API processes a caller may make up to N times the rate.
It is there to stop one runaway client or stolen token from taking the service for itself,
not to meter use; requests without a valid bearer token are not counted here (logins have
their own limit in the database).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.errors import (
    PROBLEM_JSON,
    AppError,
    InvalidToken,
    PayloadTooLarge,
    language_headers,
    problem_document,
)
from app.core.security import decode_access_token

# Boundaries, part headers and the small text fields around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024


async def send_problem(
    scope: Scope,
    send: Send,
    error: type[AppError],
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> None:
    accept = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
    body, lang = problem_document(
        accept_language=accept,
        status=error.status,
        kind=error.kind,
        title=error.title,
        detail=detail,
        instance=scope.get("path"),
        extra=dict(extra),
    )
    payload = json.dumps(body).encode()
    headers = {**(headers or {}), **language_headers(lang)}
    raw = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


# -- body size ---------------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so a route reading its body renders it as the
    413 problem (FastAPI turns any other exception from body parsing into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")
        self.limit = limit


def body_limit(headers: dict[bytes, bytes]) -> int:
    settings = get_settings()
    if is_upload(headers):
        return settings.attachment_max_bytes + MULTIPART_OVERHEAD
    return settings.max_body_bytes


async def refuse_too_large(scope: Scope, send: Send, limit: int) -> None:
    await send_problem(
        scope,
        send,
        PayloadTooLarge,
        f"The request body is larger than {limit} bytes",
        headers={"Connection": "close"},
        max_bytes=limit,
    )


# -- rate ----------------------------------------------------------------------------------------

# The health probes: never counted against a token's rate nor made to wait for a turn. A probe
# that sends the bearer token of a busy caller must still learn whether the process is up.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One bucket per key: `per_minute` requests of burst, refilled at per_minute/60 a second."""

    # Buckets of callers gone quiet are dropped once there are this many.
    PRUNE_AT = 10_000

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: int) -> float:
        """Take one request; 0.0 when allowed, else the seconds until one is available."""
        rate = per_minute / 60.0
        now = self._monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.PRUNE_AT:
                    self._prune(now, per_minute, rate)
                bucket = self._buckets[key] = _Bucket(float(per_minute), now)
            else:
                bucket.tokens = min(per_minute, bucket.tokens + (now - bucket.updated) * rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def _prune(self, now: float, per_minute: int, rate: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * rate >= per_minute
        ]
        for key in full:
            del self._buckets[key]

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


# Key of the request state entry holding (token, AccessClaims) once a middleware verified them.
VERIFIED_CLAIMS = "verified_access_claims"


def subject(scope: Scope, authorization: bytes | None) -> str | None:
    """`user:<id>` or `client:<id>` from a valid bearer token, else None.

    The verified claims are kept in the request's state with their token, so the endpoint's
    authentication does not verify the same signature a second time.
    """
    if not authorization or authorization[:7].lower() != b"bearer ":
        return None
    token = authorization[7:].decode("latin-1").strip()
    try:
        claims = decode_access_token(get_settings(), token)
    except InvalidToken:
        # Refused by the endpoint's own authentication; anything else is a bug, and a 500.
        return None
    scope.setdefault("state", {})[VERIFIED_CLAIMS] = (token, claims)
    return ("client:" if claims.client else "user:") + claims.sub


# -- requests in progress ----------------------------------------------------------------------

# Requests that never wait for a turn: the liveness probe, and the readiness probe, which reads
# outside the pool (a container health check must not time out because the service is busy).
# The live stream stays open for hours without a database connection: it is capped per user
# (TRANTIB_STREAM_PER_USER_CAP) instead of taking a turn.
UNQUEUED_PATHS = frozenset({*PROBE_PATHS, "/api/v1/stream"})
# Key of the request state entry holding the ReceivedBody of a request let in.
RECEIVED_BODY = "received_body"
REPLAY_CHUNK = 64 * 1024


def is_upload(headers: dict[bytes, bytes]) -> bool:
    """A file in the body: a multipart form, or a PDF sent to be checked (/v/{code})."""
    content_type = headers.get(b"content-type", b"").lower()
    return content_type.startswith((b"multipart/form-data", b"application/pdf"))


class ReceivedBody:
    """A request body read in full before its request is let in. In memory up to the JSON
    limit; an upload rolls over to a temporary file, so it costs disk, not memory."""

    def __init__(self) -> None:
        # Made for the first byte (most requests have no body); closed by close().
        self._file: tempfile.SpooledTemporaryFile[bytes] | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self._file is None:
            self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=get_settings().max_body_bytes
            )
        self._file.write(data)
        self.size += len(data)

    def chunks(self) -> Iterator[bytes]:
        """The body from its start, in chunks; each reader keeps its own place."""
        if self._file is None:
            return
        offset = 0
        while True:
            self._file.seek(offset)
            chunk = self._file.read(REPLAY_CHUNK)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


async def receive_body(
    receive: Receive, body: ReceivedBody, headers: dict[bytes, bytes], limit: int
) -> None:
    """Read the whole body into `body` within its time (`body_read_timeout_seconds`, uploads
    `upload_read_timeout_seconds`): TimeoutError when it takes longer, BodyTooLarge as soon
    as it passes `limit` bytes, ClientGone when the client goes away first."""
    settings = get_settings()
    seconds = (
        settings.upload_read_timeout_seconds
        if is_upload(headers)
        else settings.body_read_timeout_seconds
    )
    async with asyncio.timeout(seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            body.write(message.get("body", b""))
            if body.size > limit:
                raise BodyTooLarge(limit)
            if not message.get("more_body", False):
                return


def replaying(body: ReceivedBody, receive: Receive) -> Receive:
    """A receive that hands out the body read before, then waits for the disconnect."""
    chunks = body.chunks()
    pending = next(chunks, None)
    done = False

    async def replayed() -> Message:
        nonlocal pending, done
        if done:
            return await receive()
        chunk, pending = pending, next(chunks, None)
        done = pending is None
        return {"type": "http.request", "body": chunk or b"", "more_body": not done}

    return replayed
