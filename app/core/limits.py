"""Request limits enforced before a route runs: body size and a per-token request rate.

Both are plain ASGI middleware so that a refusal costs nothing: an oversized body is refused
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
import math
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.errors import (
    PROBLEM_JSON,
    AppError,
    InvalidToken,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
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


class _BodyTooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so a route reading its body renders it as the
    413 problem (FastAPI turns any other exception from body parsing into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")
        self.limit = limit


def body_limit(headers: Headers) -> int:
    settings = get_settings()
    if is_upload(headers):
        return settings.attachment_max_bytes + MULTIPART_OVERHEAD
    return settings.max_body_bytes


class BodyLimitMiddleware:
    """413 problem+json for a body over the limit: by Content-Length before reading, else
    while it streams, as soon as the limit is passed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = body_limit(headers)
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _BodyTooLarge:
            # Read outside a route (e.g. by the Idempotency-Key middleware): answer here.
            if started:
                raise
            await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
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


class RateLimitMiddleware:
    """429 problem+json with Retry-After once a token subject passes its rate."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets | None = None) -> None:
        self.app = app
        self.buckets = buckets or TokenBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        per_minute = get_settings().rate_limit_per_minute
        if scope["type"] != "http" or per_minute <= 0 or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        key = _subject(scope, Headers(scope=scope).get("authorization"))
        if key is not None:
            wait = self.buckets.take(key, per_minute)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                await send_problem(
                    scope,
                    send,
                    TooManyRequests,
                    f"More than {per_minute} requests a minute with this token's subject; "
                    f"retry in {retry_after} seconds",
                    headers={"Retry-After": str(retry_after)},
                    limit_per_minute=per_minute,
                )
                return
        await self.app(scope, receive, send)


def _subject(scope: Scope, authorization: str | None) -> str | None:
    """`user:<id>` or `client:<id>` from a valid bearer token, else None.

    The verified claims are kept in the request's state with their token, so the endpoint's
    authentication does not verify the same signature a second time.
    """
    if not authorization or authorization[:7].lower() != "bearer ":
        return None
    token = authorization[7:].strip()
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


def is_upload(headers: Headers) -> bool:
    """A file in the body: a multipart form, or a PDF sent to be checked (/v/{code})."""
    content_type = headers.get("content-type", "").lower()
    return content_type.startswith(("multipart/form-data", "application/pdf"))


class ReceivedBody:
    """A request body read in full before its request is let in. In memory up to the JSON
    limit; an upload rolls over to a temporary file, so it costs disk, not memory."""

    def __init__(self) -> None:
        # Closed by close(), when the request is done with.
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=get_settings().max_body_bytes
        )
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)

    def chunks(self) -> Iterator[bytes]:
        """The body from its start, in chunks; each reader keeps its own place."""
        offset = 0
        while True:
            self._file.seek(offset)
            chunk = self._file.read(REPLAY_CHUNK)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()


class _ClientGone(Exception):
    """The client disconnected before its body was complete."""


async def _receive_body(receive: Receive, body: ReceivedBody, seconds: float) -> None:
    """Read the whole body into `body` within `seconds`; TimeoutError when it takes longer."""
    async with asyncio.timeout(seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            body.write(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _replaying(body: ReceivedBody, receive: Receive) -> Receive:
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


class ConcurrencyLimitMiddleware:
    """At most `max_requests_in_progress` requests inside the application per process; the
    others wait their turn here, on the event loop, and get 503 with Retry-After when their
    turn does not come within `queue_timeout_seconds`.

    The routes are synchronous: each request takes a thread for each of its steps and holds a
    pooled database connection across them. Let in without a bound, a burst of requests took
    every thread while waiting for a connection, and the requests holding the connections
    then waited for a thread: nothing moved until the pool's 30 s timeout failed them all.
    With no more requests inside than connections, every request let in finds one.

    A request waits for its turn only once its whole body has arrived, and the body must
    arrive within `body_read_timeout_seconds` (uploads: `upload_read_timeout_seconds`), else
    408 and the connection is closed. Admitted first, eight clients sending a few bytes of
    body and then nothing held every turn, and everyone else got 503.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # One semaphore per event loop: a semaphore belongs to the loop it first waited on,
        # and one application object may be served by several loops in turn (test clients).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._slots = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNQUEUED_PATHS:
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        upload = is_upload(Headers(scope=scope))
        body = ReceivedBody()
        try:
            try:
                await _receive_body(
                    receive,
                    body,
                    settings.upload_read_timeout_seconds
                    if upload
                    else settings.body_read_timeout_seconds,
                )
            except TimeoutError:
                await send_problem(
                    scope,
                    send,
                    RequestTimeout,
                    "The request body did not arrive in time; send it again",
                    headers={"Connection": "close"},
                )
                return
            except _ClientGone:
                return
            scope.setdefault("state", {})[RECEIVED_BODY] = body
            await self._admitted(scope, _replaying(body, receive), send)
        finally:
            body.close()

    async def _admitted(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = get_settings()
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(settings.max_requests_in_progress)
        try:
            await asyncio.wait_for(slots.acquire(), settings.queue_timeout_seconds)
        except TimeoutError:
            await send_problem(
                scope,
                send,
                ServiceUnavailable,
                "The service is at capacity; retry shortly",
                headers={"Retry-After": "5"},
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()
