"""Routes whose synchronous work takes one thread hop.

FastAPI runs a synchronous endpoint in the threadpool, then validates its answer in the
threadpool again, and the request's session then commits in a third hop: each hop costs
about 0.16 ms of CPU and a GIL handover. `OneHopRoute` runs such an endpoint, its commit and
the session's close in one threadpool call, and validates the answer on the event loop (it
is CPU work either way). The session is closed before the answer is serialised, so an
answer that would load more from the database after the commit fails loudly in the tests
instead of reading on the event loop.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core.db import settle


def _in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    def call_and_settle(values: dict[str, Any]) -> Any:
        answer = endpoint(**values)
        for value in values.values():
            if isinstance(value, Session):
                settle(value)
        return answer

    # The wrapper keeps the endpoint's signature and annotations (inspect follows
    # __wrapped__), so parameters, the response model and the OpenAPI entry are the same.
    @functools.wraps(endpoint)
    async def endpoint_in_one_hop(**values: Any) -> Any:
        return await run_in_threadpool(call_and_settle, values)

    return endpoint_in_one_hop


class OneHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        blocking = not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        )
        super().__init__(path, _in_one_hop(endpoint) if blocking else endpoint, **kwargs)
