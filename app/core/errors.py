"""RFC 9457 problem+json: typed errors and the handlers that render every failure."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import SQLModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.messages import language, localize

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://trantib.tangerangkota.go.id/problems/"

log = logging.getLogger("app.errors")


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\S+(?:, \S+)*)")


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint a write broke, on PostgreSQL and SQLite alike.

    PostgreSQL names it; SQLite names the columns, which are looked up in the tables' unique
    constraints. None for any other integrity error.
    """
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if name:
        return str(name)
    found = _SQLITE_UNIQUE.search(str(exc.orig))
    if found is None:
        return None
    qualified = [column.split(".", 1) for column in found.group(1).split(", ")]
    table = SQLModel.metadata.tables.get(qualified[0][0])
    columns = {column for _, column in qualified}
    for constraint in table.constraints if table is not None else ():
        if isinstance(constraint, UniqueConstraint) and set(constraint.columns.keys()) == columns:
            return str(constraint.name)
    return None


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class AppError(Exception):
    """Base of every refusal the service makes on purpose."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class BadRequest(AppError):
    status, kind, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, kind, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer realm="trantib"'


class InvalidToken(Unauthorized):
    kind, title = "invalid-token", "Invalid or expired token"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer realm="trantib", error="invalid_token"'


class InvalidCredentials(Unauthorized):
    kind, title = "invalid-credentials", "Invalid username or password"


class Forbidden(AppError):
    status, kind, title = 403, "forbidden", "Not allowed"


class InsufficientScope(Forbidden):
    kind, title = "insufficient-scope", "Missing scope"


class NotAssigned(Forbidden):
    kind, title = "not-assigned", "Not assigned to this incident for this step"


class OwnDraft(Forbidden):
    kind, title = "own-draft", "Nobody verifies a draft they wrote"


class NotFound(AppError):
    status, kind, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, kind, title = 409, "conflict", "Conflict"


class WrongStep(Conflict):
    kind, title = "wrong-step", "Action not allowed at the current step"


class ConcurrentUpdate(Conflict):
    kind, title = "concurrent-update", "The resource changed while the request ran"


class IncidentClosed(Conflict):
    kind, title = "incident-closed", "The incident takes no more actions"


class RequestTimeout(AppError):
    status, kind, title = 408, "request-timeout", "The request body arrived too slowly"


class PreconditionFailed(AppError):
    status, kind, title = 412, "precondition-failed", "The resource has changed"


class PayloadTooLarge(AppError):
    status, kind, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, kind, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(AppError):
    status, kind, title = 422, "validation-error", "The request is not valid"


class OccurredAtOutOfBounds(Unprocessable):
    kind, title = "occurred-at-out-of-bounds", "The claimed time is outside what the step allows"


class OccurredAtReasonRequired(Unprocessable):
    kind, title = "occurred-at-reason-required", "A claim this far back needs a reason"


class TooManyRequests(AppError):
    status, kind, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["Retry-After"] = str(retry_after)


class TooManyStreams(AppError):
    status, kind, title = 429, "too-many-streams", "Too many open live streams"


class ServiceUnavailable(AppError):
    status, kind, title = 503, "service-unavailable", "Service unavailable"


def problem_document(
    *,
    accept_language: str | None,
    status: int,
    kind: str,
    title: str,
    detail: str | None,
    instance: str | None,
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """A problem's body, its title and detail in the caller's language, and that language.

    An OAuth2 error (RFC 6749 section 5.2, the `error` member) also carries its reason as
    `error_description`, which OAuth2 clients such as Swagger UI show instead of `detail`.
    """
    extra = extra or {}
    if status == 422 and "errors" not in extra:
        # A refusal made after the request validated (an unknown kelurahan, a reused key)
        # names its field at the top; `errors` holds it too, so a 422 always has one shape.
        field = str(extra.get("field") or "")
        extra = {
            **extra,
            "errors": [
                {
                    "loc": field.split(".") if field else [],
                    "field": field,
                    "message": detail or title,
                    "type": kind,
                }
            ],
        }
    lang = language(accept_language)
    title, detail = localize(lang, kind, title, detail, extra)
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if "error" in extra:
        body["error_description"] = detail
    # Extension members never replace the standard ones.
    return {**extra, **body}, lang


def language_headers(lang: str) -> dict[str, str]:
    return {"Content-Language": lang, "Vary": "Accept-Language"}


def problem_response(
    request: Request,
    *,
    status: int,
    kind: str,
    title: str,
    detail: str | None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body, lang = problem_document(
        accept_language=request.headers.get("accept-language"),
        status=status,
        kind=kind,
        title=title,
        detail=detail,
        instance=request.url.path,
        extra=extra,
    )
    headers = {**(headers or {}), **language_headers(lang)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_HTTP_KINDS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """The `errors` member of a 422: where, which field, what is wrong."""
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        errors.append(
            {
                "loc": loc,
                "field": ".".join(loc[1:]),
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return errors


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """The detail of a 422: its first few field errors in one line."""
    return "; ".join(f"{e['field'] or e['loc'][0]}: {e['message']}" for e in errors[:5])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status,
            kind=exc.kind,
            title=exc.title,
            detail=exc.detail,
            headers=exc.headers or None,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        # A body that is not JSON at all is a 400, as FastAPI itself answers it.
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                request,
                status=400,
                kind="malformed-json",
                title="Malformed JSON body",
                detail="The request body is not valid JSON",
            )
        return problem_response(
            request,
            status=422,
            kind="validation-error",
            title="The request is not valid",
            detail=validation_detail(errors),
            extra={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind, title = _HTTP_KINDS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            request,
            status=exc.status_code,
            kind=kind,
            title=title,
            detail=detail,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        from app.core.headers import api_headers

        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # The server closed a connection that was in use (a restart, a failover): the
            # transaction is gone, nothing was written, and the pool now holds only new
            # connections, so the same request succeeds when sent again.
            log.warning("database connection lost on %s %s", request.method, request.url.path)
            return problem_response(
                request,
                status=ServiceUnavailable.status,
                kind=ServiceUnavailable.kind,
                title=ServiceUnavailable.title,
                detail="The connection to the database was lost; nothing was changed, retry",
                headers={**api_headers(), "Retry-After": "1"},
                extra={"reason": "database-connection-lost"},
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Sent by Starlette's outermost middleware, past the one that adds these headers.
        return problem_response(
            request,
            status=500,
            kind="internal-error",
            title="Internal server error",
            detail="The server could not complete the request; it has been logged.",
            headers=api_headers(),
        )
