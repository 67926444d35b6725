"""Everything done to a request before its route, in one plain ASGI layer.

In order: the security headers are put on whatever is answered; a token over its rate is
refused (429); a body over its limit is refused (413) by its Content-Length, or as soon as
its streamed bytes pass the limit; the whole body is read within its time (408), then the
request waits for its turn among those in progress (503 when none comes); a POST with an
Idempotency-Key goes through its record (app.idempotency.middleware). Each of these was a
middleware of its own, and every request paid for six layers of wrappers around `receive`
and `send`; here one `send` and one `receive` wrapper serve them all, and a request with no
body reads none.

The rules of each stage are in app.core.limits and app.core.headers.

Admission control: at most `max_requests_in_progress` requests are inside the application
per process; the others wait their turn on the event loop. The routes do their database
work in threads and hold a pooled connection across it. Let in without a bound, a burst of
requests took every thread while waiting for a connection, and the requests holding the
connections then waited for a thread: nothing moved until the pool's 30 s timeout failed
them all. With no more requests inside than connections, every request let in finds one.
A request waits for its turn only once its whole body has arrived: admitted first, eight
clients sending a few bytes of body and then nothing held every turn, and everyone else
got 503.
"""

from __future__ import annotations

import asyncio
import math
import sys
import weakref

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.errors import RequestTimeout, ServiceUnavailable, TooManyRequests
from app.core.headers import secure_headers
from app.core.limits import (
    PROBE_PATHS,
    RECEIVED_BODY,
    UNQUEUED_PATHS,
    BodyTooLarge,
    ClientGone,
    ReceivedBody,
    TokenBuckets,
    body_limit,
    receive_body,
    refuse_too_large,
    replaying,
    send_problem,
    subject,
)
from app.idempotency.middleware import HEADER as IDEMPOTENCY_KEY
from app.idempotency.middleware import IdempotencyMiddleware


class StartupRefused(RuntimeError):
    """The settings or the database are unfit to serve; the message is one line."""


class RequestGate:
    def __init__(self, app: ASGIApp, buckets: TokenBuckets | None = None) -> None:
        self.app = app
        self.idempotent = IdempotencyMiddleware(app)
        self.buckets = buckets or TokenBuckets()
        # One semaphore per event loop: a semaphore belongs to the loop it first waited on,
        # and one application object may be served by several loops in turn (test clients).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._slots = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, secure_headers(scope, send))
        elif scope["type"] == "lifespan":
            await self.app(scope, receive, _refusal_as_one_line(send))
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = get_settings()
        path = scope["path"]
        headers = dict(scope["headers"])
        per_minute = settings.rate_limit_per_minute
        if (
            per_minute > 0
            and path not in PROBE_PATHS
            and await self._over_rate(scope, send, headers, per_minute)
        ):
            return
        limit = body_limit(headers)
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            await refuse_too_large(scope, send, limit)
            return
        if path in UNQUEUED_PATHS:
            await self._guarded(scope, _counted(receive, limit), send, limit)
            return
        body = ReceivedBody()
        try:
            try:
                await receive_body(receive, body, headers, limit)
            except TimeoutError:
                await send_problem(
                    scope,
                    send,
                    RequestTimeout,
                    "The request body did not arrive in time; send it again",
                    headers={"Connection": "close"},
                )
                return
            except ClientGone:
                return
            except BodyTooLarge:
                await refuse_too_large(scope, send, limit)
                return
            scope.setdefault("state", {})[RECEIVED_BODY] = body
            await self._admitted(scope, replaying(body, receive), send, headers)
        finally:
            body.close()

    async def _over_rate(
        self, scope: Scope, send: Send, headers: dict[bytes, bytes], per_minute: int
    ) -> bool:
        key = subject(scope, headers.get(b"authorization"))
        if key is None:
            return False
        wait = self.buckets.take(key, per_minute)
        if wait <= 0:
            return False
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
        return True

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> None:
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
            if scope["method"] == "POST" and IDEMPOTENCY_KEY in headers:
                await self.idempotent(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            slots.release()

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """A request let in without a turn, whose body (if any) is read by its route."""
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await refuse_too_large(scope, send, limit)


def _counted(receive: Receive, limit: int) -> Receive:
    """A receive that raises once more than `limit` bytes of body have arrived."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited_receive


def _refusal_as_one_line(send: Send) -> Send:
    """Uvicorn reports a failed start with the whole traceback; a refusal is about settings,
    not code, so the operator gets its one line instead (uvicorn still exits non-zero)."""

    async def send_refusal_as_line(message: Message) -> None:
        if message["type"] == "lifespan.startup.failed":
            # Starlette sends this from inside its `except` block, so the cause is at hand.
            exc = sys.exc_info()[1]
            if isinstance(exc, StartupRefused):
                message = {**message, "message": str(exc)}
        await send(message)

    return send_refusal_as_line
