"""HTTP conventions shared by the routers: documented problems, ETags and If-Match."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from app.core.config import get_settings
from app.core.errors import PROBLEM_JSON, Problem, Unprocessable
from app.core.types import check_line

_DESCRIPTIONS = {
    400: "Malformed request (e.g. the body is not JSON)",
    401: "No valid bearer token",
    403: "The caller's role or scopes do not allow this",
    404: "Not found, or not visible to the caller's kecamatan",
    409: "Wrong step, out of order, or a concurrent change won",
    412: "If-Match does not match the current version",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request body or parameters are not valid",
    429: "Too many requests",
}


async def refuse_control_characters(request: Request) -> None:
    """Path and query strings are one line of text: a control character in any of them is 422.

    Run for every operation before its own parameters and dependencies, so no NUL reaches a
    database query (PostgreSQL fails on it, SQLite compares it) whichever parameter holds it.
    Async: it does no blocking work, and a synchronous dependency costs a thread hop.
    """
    errors: list[dict[str, Any]] = []
    where = [("path", request.path_params.items()), ("query", request.query_params.multi_items())]
    for source, items in where:
        for name, value in items:
            for part in (name, value):
                try:
                    check_line(str(part))
                except ValueError as exc:
                    errors.append({"type": "value_error", "loc": (source, name), "msg": str(exc)})
                    break
    if errors:
        raise RequestValidationError(errors)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for problem+json errors."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


READ = problems(401, 403, 404, 422)
ACTION = problems(400, 401, 403, 404, 409, 412, 422)

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise Unprocessable('If-Match must be an ETag such as "3"', field="If-Match")
    return int(match.group(1))


IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="ETag of the version the client saw; 412 if stale"),
]


def page_limit(limit: int) -> int:
    return min(limit, get_settings().page_size_max)


Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (capped by the server)")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def check_if_match(if_match: str | None, current_version: int) -> None:
    """412 when the client's ETag is stale."""
    from app.core.errors import PreconditionFailed

    seen = parse_if_match(if_match)
    if seen is not None and seen != current_version:
        raise PreconditionFailed(
            f"The resource is at version {current_version}, not {seen}",
            current_version=current_version,
        )
