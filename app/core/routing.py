"""Routes whose synchronous work takes one thread hop.

FastAPI runs each synchronous dependency in the threadpool, then a synchronous endpoint, then
validates its answer in the threadpool again, and the request's session commits in one more
hop: each hop costs about 0.16 ms of CPU and a GIL handover. `OneHopRoute` runs the blocking
dependencies (the caller's lookup, the load-or-404 of the incident), the endpoint, its commit
and the session's close in one threadpool call, and validates the answer on the event loop
(it is CPU work either way). The session is closed before the answer is serialised, so an
answer that would load more from the database after the commit fails loudly in the tests
instead of reading on the event loop.

A blocking dependency marked `in_hop` answers FastAPI with a `Deferred`, its call and
arguments, while such a route solves its dependencies; the hop resolves them in the order
FastAPI asked for them, so the refusals come in the same order as before (401 or 403 from
the caller's lookup before the 404 of the incident). A request whose parameters do not
validate resolves them first as well: a caller without a valid token gets 401, not 422.
Outside a one-hop route (an async endpoint) the dependency takes its own hop as usual.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.core.db import settle

P = ParamSpec("P")
T = TypeVar("T")


class Deferred:
    """A blocking dependency's call, made in the request's one hop."""

    __slots__ = ("call", "values", "done", "result")

    def __init__(self, call: Callable[..., Any], values: dict[str, Any]) -> None:
        self.call = call
        self.values = values
        self.done = False
        self.result: Any = None

    def resolve(self) -> Any:
        if not self.done:
            self.result = self.call(**_resolved(self.values))
            self.done = True
        return self.result


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.resolve() if isinstance(value, Deferred) else value
        for name, value in values.items()
    }


# The deferred dependencies of the one-hop request being solved; None outside one.
_pending: ContextVar[list[Deferred] | None] = ContextVar("trantib_deferred", default=None)


def defer(call: Callable[..., T], **values: Any) -> Deferred | None:
    """`call(**values)` as a Deferred of the one-hop request being solved, or None outside
    one (the caller then makes the call itself)."""
    pending = _pending.get()
    if pending is None:
        return None
    deferred = Deferred(call, values)
    pending.append(deferred)
    return deferred


def in_hop(dependency: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """A blocking dependency made in the one hop of a one-hop route (see the module)."""

    # The wrapper keeps the dependency's signature (inspect follows __wrapped__), so FastAPI
    # solves the same parameters and sub-dependencies, and caches it as the same call.
    @functools.wraps(dependency)
    async def deferred(*args: P.args, **values: P.kwargs) -> T:
        later = defer(dependency, **values)
        if later is not None:
            # Typed as the dependency's answer: only the one hop's code sees a Deferred.
            return later  # type: ignore[return-value]
        return await run_in_threadpool(dependency, *args, **values)

    return deferred


def _sessions(values: dict[str, Any], pending: list[Deferred]) -> set[Session]:
    found = {value for value in values.values() if isinstance(value, Session)}
    for deferred in pending:
        found.update(value for value in deferred.values.values() if isinstance(value, Session))
    return found


def _in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    def call_and_settle(values: dict[str, Any], pending: list[Deferred]) -> Any:
        # In the order FastAPI solved them, those of the route's `dependencies` too, which
        # the endpoint never sees.
        _resolve_all(pending)
        answer = endpoint(**_resolved(values))
        for session in _sessions(values, pending):
            settle(session)
        return answer

    # The wrapper keeps the endpoint's signature and annotations (inspect follows
    # __wrapped__), so parameters, the response model and the OpenAPI entry are the same.
    @functools.wraps(endpoint)
    async def endpoint_in_one_hop(**values: Any) -> Any:
        return await run_in_threadpool(call_and_settle, values, _pending.get() or [])

    return endpoint_in_one_hop


def _resolve_all(pending: list[Deferred]) -> None:
    for deferred in pending:
        deferred.resolve()


class OneHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.in_one_hop = not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        )
        super().__init__(path, _in_one_hop(endpoint) if self.in_one_hop else endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.in_one_hop:
            return handler

        async def solve_in_one_hop(request: Request) -> Response:
            pending: list[Deferred] = []
            token = _pending.set(pending)
            try:
                return await handler(request)
            except RequestValidationError:
                # The dependencies solved before the invalid parameter refuse first, as
                # they would have had they taken their own hops.
                if pending:
                    await run_in_threadpool(_resolve_all, pending)
                raise
            finally:
                _pending.reset(token)

        return solve_in_one_hop
