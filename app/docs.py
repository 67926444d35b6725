"""Swagger UI and ReDoc served from this process, and the finishing of the OpenAPI document.

City networks may be cut off from the internet, so the documentation pages load Swagger UI 5
and ReDoc 2 from the files the `fastapi-offline` package ships instead of a CDN.

The OpenAPI document is FastAPI's, finished in one place so that every route gets the same
contract without repeating it: every error is problem+json (422 with the field errors), the
400 for a body that is not JSON, 408 for one too slow, 413 for one too large, 401/403 where a
token or scopes are needed, 429 with Retry-After for the per-token rate limit, the
Idempotency-Key header on authenticated POSTs, and a login for city systems (the
client-credentials flow) beside the officers' one (the password flow).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from functools import cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse

from app.auth.deps import STAFF_SCHEME, SYSTEM_SCHEME
from app.core.config import DEFAULT_DEMO_PASSWORD
from app.core.errors import PROBLEM_JSON, TYPE_BASE, AppError, Problem
from app.core.schemas import NAMED_ENUMS
from app.idempotency.middleware import MAX_KEY_LENGTH

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

SCHEMAS = "#/components/schemas/"
PROBLEM_REF = SCHEMAS + "Problem"
VALIDATION_PROBLEM_REF = SCHEMAS + "ValidationProblem"
# FastAPI's own 422 body; the handler in app.core.errors never sends it.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

# The info summary names the SOP; the description starts where it ends.
DESCRIPTION = """\
Each incident moves through the steps of the SOP version it started under
(`GET /api/v1/sop/versions`), each action by the role, the kecamatan and at the step the SOP
names, measured against the step's time standard.

**Authentication**: OAuth2 bearer tokens from `POST /api/v1/auth/token` (form encoded):
`grant_type=password` for staff; `grant_type=client_credentials` for city systems. Each
operation lists the scopes it needs.

**Errors** are RFC 9457 `application/problem+json` documents with a stable `type`; the
`Problem` schema lists every type. Their `title` and `detail` come in Bahasa Indonesia with
`Accept-Language: id` (English by default). A wrong role or scope is 403, another kecamatan's
resource 404, the wrong step 409, a stale `If-Match` 412, a body that is not JSON 400 and an
invalid one 422.

**Retries**: send an `Idempotency-Key` header with a POST; a retry with the same key and body
replays the first answer (`Idempotent-Replayed: true`) instead of acting twice.

**Concurrency**: incidents and drafts carry an `ETag`; send it back as `If-Match` with an
action and a stale one is refused with 412 instead of overwriting a newer change.
"""

# Only where demo users may exist (development with TRANTIB_SEED_DEMO): production never
# names accounts or a password. The password is the default one, not the server's setting,
# so the document stays the same on every machine and a chosen password is not shown.
DEMO_USERS_DESCRIPTION = f"""
**Demo users** (development): `camat.<kecamatan>`, `sekcam.<kecamatan>`, `kasi.<kecamatan>`,
`danru.<kecamatan>` and `anggota1.<kecamatan>` to `anggota3.<kecamatan>` for every kecamatan
slug (e.g. `kasi.ciledug`), and the city-wide `pimpinan` and `admin`. Their password is
`{DEFAULT_DEMO_PASSWORD}` unless `TRANTIB_DEMO_PASSWORD` sets another.
"""


SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    # Keeps the token across reloads of /docs; it lives in the browser's localStorage.
    "persistAuthorization": True,
    "displayRequestDuration": True,
    "displayOperationId": True,
    "filter": True,
    "tryItOutEnabled": False,
    # The spec validator badge would call an outside service.
    "validatorUrl": None,
}

# The pages may load nothing from another host (ReDoc would fetch its vendor's logo); inline
# scripts and styles are how Swagger UI starts and how ReDoc styles itself, and ReDoc runs
# its search in a blob: worker.
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ]
)

SWAGGER_UI_INIT_OAUTH: dict[str, Any] = {
    "appName": "Trantib SOP service",
    "scopeSeparator": " ",
}

STAFF_DESCRIPTION = """\
**Akun petugas (username dan password)**: isi username dan password, lalu **Authorize**.
Scope tidak perlu dicentang: tanpa centang, token membawa semua scope peran Anda.

Officers: fill in username and password only; no scope needs ticking (without any, the token
carries every scope of your role)."""

SYSTEM_DESCRIPTION = """\
**Sistem Pemkot (client_id dan client_secret)**: city systems registered by the admin
(`POST /api/v1/clients`). The token carries the client's granted scopes; ticking some narrows
it."""

# Swagger UI has no option to leave out of the password flow the client fields, which an
# officer's login does not use (the token endpoint ignores them for grant_type=password),
# nor the scope boxes, which it need not tick: the page hides them in the officers' login.
SWAGGER_UI_STYLE = """<style>
.auth-container .wrapper:has(> label[for="client_id_password"]),
.auth-container .wrapper:has(> label[for="client_secret_password"]),
.auth-container .wrapper:has(> label[for="password_type"]),
.auth-container:has(#oauth_username) .scope-def,
.auth-container:has(#oauth_username) .scopes { display: none; }
</style>"""

_ERROR_DESCRIPTIONS = {
    400: "Malformed request: the body is not valid JSON (`malformed-json`)",
    401: "No valid bearer token",
    403: "The token lacks a scope this operation needs (`insufficient-scope`)",
    408: "The body did not arrive within the read deadline (`request-timeout`); send it again",
    409: "A request with the same Idempotency-Key is still being processed",
    413: "The request body is larger than the service accepts (`payload-too-large`)",
    422: "The request body or parameters are not valid",
    429: "Too many requests with this token (`rate-limited`); retry after `Retry-After`",
    503: "The service is at capacity (`service-unavailable`); retry after `Retry-After`",
}

RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}
HEADERS = "#/components/headers/"
# The response headers a client reads, declared once and referred to where they are sent.
RESPONSE_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": 'The version of the resource, e.g. "7" (an incident or a draft), or a '
        "file's SHA-256 in quotes. Send it back unchanged as If-Match: a step action on a "
        "version that moved on is 412 with current_version.",
        "schema": {"type": "string"},
    },
    "Location": {"description": "Where the created resource is read", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key (nothing was done again)",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": RETRY_AFTER,
    "WWW-Authenticate": {
        "description": "RFC 6750: the scheme, and on a refused token its error",
        "schema": {"type": "string"},
    },
}
# Operations whose successful answer carries an ETag (the resource's version, or a file's
# hash); tests/contract checks each against a live answer.
ETAG_OPERATIONS = frozenset(
    {
        "incidents_create",
        "incidents_get",
        "incidents_cancel",
        "drafts_create",
        "drafts_get",
        "drafts_update",
        "drafts_submit",
        "attachments_content",
        "orders_document",
        "drafts_version_document",
        "incidents_report_document",
        "field_reports_document",
        "archive_records_document",
        "archive_records_bundle",
    }
)


class FieldError(BaseModel):
    """One invalid field of a request."""

    loc: list[str] = Field(
        description="Where: body, query, path or header, then the field path (a refusal made "
        "after the request validated gives the field path only)"
    )
    field: str = Field(description="The dotted field path without the location")
    message: str
    type: str = Field(description="Pydantic's error type, e.g. missing or string_too_short")


class ValidationProblem(Problem):
    """A problem document for 422: `errors` lists the invalid fields, always at least one
    (`type` is pydantic's error type, or the problem's own kind for a refusal made after the
    request validated, whose field is also named at the top as `field`)."""

    errors: list[FieldError] = Field(min_length=1)


def install_docs(app: FastAPI, *, demo_users: bool = False) -> None:
    """Serve /docs and /redoc from local assets and finish the OpenAPI document; `demo_users`:
    the description names the demo accounts."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
            init_oauth=SWAGGER_UI_INIT_OAUTH,
        )
        styled = bytes(page.body).replace(b"</head>", SWAGGER_UI_STYLE.encode() + b"</head>", 1)
        return _local_only(HTMLResponse(styled))

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return _local_only(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        return _local_only(page)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_openapi(FastAPI.openapi(app), demo_users=demo_users)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def finish_openapi(document: dict[str, Any], *, demo_users: bool = False) -> dict[str, Any]:
    """Apply the conventions every operation shares to FastAPI's document (in place)."""
    info = document.setdefault("info", {})
    info.setdefault("description", DESCRIPTION + (DEMO_USERS_DESCRIPTION if demo_users else ""))
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_problem_schemas())
    schemas.update({name: dict(schema) for name, schema in NAMED_ENUMS.items()})
    _add_system_login(components.get("securitySchemes", {}))
    components["headers"] = RESPONSE_HEADERS
    # Paths are absolute on the host that serves the document; generators want it said.
    document["servers"] = [{"url": "/"}]
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}:
                _either_login(operation)
                _finish_operation(method, operation)
                if path != "/healthz":
                    # Any request may wait for its turn and not get one (app.core.limits).
                    _ensure(operation["responses"], 503)
                    _retry_after(operation["responses"], "503")
    _name_union_bodies(document)
    _name_pages(document)
    _drop_unused(document, FASTAPI_VALIDATION_SCHEMAS)
    return document


def _name_union_bodies(document: dict[str, Any]) -> None:
    """A oneOf request body is written inline by FastAPI, titled by its parameter: generators
    named two of them Body and Body1. Each becomes a component under its title (the route's
    `Body(title=...)`), referred to from its operation."""
    schemas = document["components"]["schemas"]
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            schema = (media or {}).get("schema", {})
            name = schema.get("title")
            if "oneOf" in schema and name and name != "Body":
                if schemas.setdefault(name, schema) is not schema:
                    raise AssertionError(f"two request bodies are named {name}")
                media["schema"] = {"$ref": SCHEMAS + name}


# Pydantic names a page of Page[UserPublic] "Page_UserPublic_"; the pages written by hand are
# IncidentPage, BreachPage, ArchiveRecordPage.
_GENERIC_PAGE = re.compile(r"^Page_(?P<item>[A-Za-z0-9]+)_$")


def _name_pages(document: dict[str, Any]) -> None:
    """Every page envelope is named <Item>Page (UserPage, ClientPage…), one scheme for all."""
    schemas = document["components"]["schemas"]
    renamed: dict[str, str] = {}
    for name in list(schemas):
        found = _GENERIC_PAGE.match(name)
        if found:
            new = found["item"].removesuffix("Public") + "Page"
            if new in schemas:
                raise AssertionError(f"two page envelopes are named {new}")
            schemas[new] = {**schemas.pop(name), "title": new}
            renamed[SCHEMAS + name] = SCHEMAS + new
    if renamed:
        _rewrite_refs(document, renamed)


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renamed:
            node["$ref"] = renamed[ref]
        for value in node.values():
            _rewrite_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renamed)


def _finish_operation(method: str, operation: dict[str, Any]) -> None:
    # One tag per operation (generators export one module per tag, and a second tag made
    # duplicate exports): a route's own tag names its room, its router's is the default.
    if operation.get("tags"):
        operation["tags"] = operation["tags"][-1:]
    _plain_header_parameters(operation)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    security = operation.get("security") or []
    scopes = [s for requirement in security for names in requirement.values() for s in names]
    scopes += operation.get("x-required-scopes", [])
    body_types = set(operation.get("requestBody", {}).get("content", {}))

    if method == "post" and security:
        _add_idempotency_key(operation)
        # Another request with this key may be running, or the key be reused for another body.
        _ensure(responses, 409)
        _ensure(responses, 400, "Invalid Idempotency-Key, or the body is not valid JSON")
    if "application/json" in body_types:
        _ensure(responses, 400)
    if body_types:
        # Bodies are read under a deadline before the request waits for its turn.
        _ensure(responses, 408)
        _ensure(responses, 413)
    if operation.get("parameters") or body_types:
        _ensure(responses, 422)
    if security:
        _ensure(responses, 401)
        # The per-token rate limit (app.core.limits) counts every authenticated request.
        _ensure(responses, 429)
    if scopes:
        _ensure(responses, 403)

    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400:
            response["content"] = _problem_content(int(code), response.get("content", {}))
    _retry_after(responses, "429")
    _declare_headers(method, operation, responses, replayable=method == "post" and bool(security))


def _declare_headers(
    method: str, operation: dict[str, Any], responses: dict[str, Any], *, replayable: bool
) -> None:
    def add(code: str, name: str) -> None:
        responses[code].setdefault("headers", {})[name] = {"$ref": HEADERS + name}

    for code in responses:
        if not code.isdigit():
            continue
        if code.startswith("2"):
            if operation.get("operationId") in ETAG_OPERATIONS:
                add(code, "ETag")
            if code == "201":
                add(code, "Location")
            if replayable:
                add(code, "Idempotent-Replayed")
        if code == "401" or (code == "403" and operation.get("security")):
            add(code, "WWW-Authenticate")


def _plain_header_parameters(operation: dict[str, Any]) -> None:
    """An optional header is one a client leaves out, never sends as null: its schema is the
    plain type (a generated client then takes a string, not None it cannot send). Accept is
    not a parameter in OpenAPI (tools ignore it): the routes that negotiate it say so in
    their description and offer ?format= as well."""
    parameters = []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter["name"].lower() == "accept":
            continue
        schema = parameter.get("schema", {})
        variants = schema.get("anyOf", [])
        if parameter.get("in") == "header" and {"type": "null"} in variants:
            plain = [v for v in variants if v != {"type": "null"}]
            if len(plain) == 1:
                rest = {k: v for k, v in schema.items() if k != "anyOf"}
                parameter["schema"] = {**plain[0], **rest}
        parameters.append(parameter)
    if "parameters" in operation:
        operation["parameters"] = parameters


def _retry_after(responses: dict[str, Any], code: str) -> None:
    if code in responses:
        response = responses[code]
        response["content"] = _problem_content(int(code), response.get("content", {}))
        response.setdefault("headers", {})["Retry-After"] = {"$ref": HEADERS + "Retry-After"}


def _ensure(responses: dict[str, Any], status: int, description: str | None = None) -> None:
    responses.setdefault(str(status), {"description": description or _ERROR_DESCRIPTIONS[status]})


def _problem_content(status: int, content: dict[str, Any]) -> dict[str, Any]:
    """Errors are only ever problem+json; FastAPI's application/json twin is dropped."""
    media = dict(content.get(PROBLEM_JSON, {}))
    ref = media.get("schema", {}).get("$ref")
    if ref is None or ref == PROBLEM_REF or ref.endswith("/HTTPValidationError"):
        media["schema"] = {"$ref": VALIDATION_PROBLEM_REF if status == 422 else PROBLEM_REF}
    return {PROBLEM_JSON: media}


def _add_idempotency_key(operation: dict[str, Any]) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    if any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
        return
    parameters.append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": (
                "A unique key (e.g. a UUID) per intended action. A retry with the same key and "
                "body returns the first answer with `Idempotent-Replayed: true` and does the "
                "work once; the same key with another body is 422; while the first request "
                "runs a retry gets 409. Keys are kept for 24 hours per caller."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        }
    )


def _add_system_login(schemes: dict[str, Any]) -> None:
    """Beside the officers' password flow, city systems' client-credentials flow: same token
    endpoint, same scopes, a scheme of its own so each login is named for whom it serves."""
    staff = schemes.get(STAFF_SCHEME)
    if staff is None:
        return
    password = staff["flows"]["password"]
    staff["description"] = STAFF_DESCRIPTION
    schemes[SYSTEM_SCHEME] = {
        "type": "oauth2",
        "description": SYSTEM_DESCRIPTION,
        "flows": {
            "clientCredentials": {
                "tokenUrl": password["tokenUrl"],
                "scopes": dict(password.get("scopes", {})),
            }
        },
    }


def _either_login(operation: dict[str, Any]) -> None:
    """An operation open to officers is open, with the same scopes, to city systems."""
    security = operation.get("security")
    if security:
        operation["security"] = [
            *security,
            *({SYSTEM_SCHEME: r[STAFF_SCHEME]} for r in security if STAFF_SCHEME in r),
        ]


# The members some problems add beside the standard ones, declared so a generated client has
# them typed (the document allows others: `additionalProperties` stays open).
_EXTENSION_MEMBERS: dict[str, Any] = {
    "current_step": {
        "type": ["integer", "null"],
        "description": "409 wrong-step: the step the incident is at",
    },
    "stage": {"type": ["string", "null"], "description": "409 wrong-step: the step's stage"},
    "waiting_on": {
        "anyOf": [{"$ref": SCHEMAS + "Role"}, {"type": "null"}],
        "description": "409 wrong-step: the role the incident waits on",
    },
    "step_name": {"type": ["string", "null"], "description": "409 wrong-step: the step's name"},
    "current_version": {
        "type": "integer",
        "description": "412 precondition-failed: the version to send in If-Match",
    },
    "required_scopes": {
        "type": "array",
        "items": {"type": "string"},
        "description": "403 insufficient-scope: the scopes the operation needs",
    },
    "allowed_roles": {
        "type": "array",
        "items": {"$ref": SCHEMAS + "Role"},
        "description": "403: the roles that take the action",
    },
    "role": {"$ref": SCHEMAS + "Role", "description": "403: the caller's own role"},
    "accepted": {
        "type": "array",
        "items": {"type": "string"},
        "description": "415: the media types accepted",
    },
    "field": {"type": "string", "description": "422: the field a refusal names"},
    "error": {"type": "string", "description": "Token endpoint: the RFC 6749 error code"},
    "error_description": {"type": "string", "description": "Token endpoint: why, in words"},
}


def _problem_schemas() -> dict[str, Any]:
    problem = Problem.model_json_schema(ref_template=SCHEMAS + "{model}")
    problem["description"] = _problem_catalog()
    # Clients switch on `type`: every one the service sends is listed.
    problem["properties"]["type"]["examples"] = [TYPE_BASE + k for k in _problem_kinds()]
    problem["properties"].update(_EXTENSION_MEMBERS)
    validation = ValidationProblem.model_json_schema(ref_template=SCHEMAS + "{model}")
    # The members are there on both, so a client reads them from any error answer it holds.
    validation["properties"].update(
        {k: v for k, v in _EXTENSION_MEMBERS.items() if k not in validation["properties"]}
    )
    definitions = validation.pop("$defs", {})
    return {"Problem": problem, "ValidationProblem": validation, **definitions}


# Problems sent by handlers and middleware rather than raised as AppError subclasses.
_HANDLER_PROBLEMS = [
    (400, "malformed-json", "Malformed JSON body"),
    (400, "bad-idempotency-key", "Invalid Idempotency-Key"),
    (405, "method-not-allowed", "Method not allowed"),
    (406, "not-acceptable", "Not acceptable"),
    (409, "idempotency-in-flight", "Request in flight"),
    (422, "idempotency-key-reused", "Idempotency-Key reused"),
    (500, "internal-error", "Internal server error"),
]


@cache
def _problem_kinds() -> list[str]:
    """Every problem kind the service can send, sorted."""
    return sorted({kind for _, kind in _problem_table()})


@cache
def _problem_catalog() -> str:
    """Every problem `type` the service can send, read from the AppError classes."""
    found = _problem_table()
    rows = "\n".join(
        f"| {status} | `{kind}` | {' / '.join(sorted(titles))} |"
        for (status, kind), titles in sorted(found.items())
    )
    return (
        "An RFC 9457 problem document. `type` is stable: "
        f"`{TYPE_BASE}<kind>` with one of these kinds; clients branch on it, not on `title` "
        "or `detail`. Some problems add members (e.g. `current_version` on 412, "
        "`required_scopes` on 403).\n\n"
        "| status | kind | title |\n|---|---|---|\n" + rows
    )


@cache
def _problem_table() -> dict[tuple[int, str], set[str]]:
    """(status, kind) of every problem, read from the AppError classes, with their titles."""
    _import_app_modules()
    found: dict[tuple[int, str], set[str]] = {}
    for status, kind, title in _HANDLER_PROBLEMS:
        found.setdefault((status, kind), set()).add(title)
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("app."):
            found.setdefault((cls.status, cls.kind), set()).add(cls.title)
    return found


def _import_app_modules() -> None:
    # Problem classes live beside the services that raise them; import them all so the
    # catalog does not depend on which modules happen to be loaded.
    import app

    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name != "app.__main__":
            importlib.import_module(module.name)


def _drop_unused(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    changed = True
    while changed:
        changed = False
        for name in names:
            if name in schemas:
                rest = {k: v for k, v in schemas.items() if k != name}
                others = json.dumps({**document, "components": {"schemas": rest}})
                if f'"{SCHEMAS}{name}"' not in others:
                    del schemas[name]
                    changed = True
