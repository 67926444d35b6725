"""Idempotency-Key for POST (as the IETF httpapi draft and Stripe do it).

The same key from the same caller with the same body replays the first response (status, body
and the headers a client relies on) and does nothing more; with another body it is refused with
422; while the first request is still running a retry gets 409. Keys are kept 24 hours. Only
answers below 500 are stored: after a server error the client may retry the work.

The caller is authenticated, revocation included, before anything is claimed or replayed: a
logged-out token gets the endpoint's 401, never the answer stored under its key. The body
was read in full before the request was let in (app.core.limits); the fingerprint covers all
of it, and an upload's fingerprint is made of its parts (name, file name, content type and the
SHA-256 of the content) rather than its raw bytes, so a retry that a client library sends
with a new multipart boundary is the same request.

The record is claimed in its own short transaction before the action runs, so two requests
with one key can never both run the action. A request that dies between its action's commit
and storing its answer leaves a stale claim; it is taken over after STALE_AFTER, and the step
guards then refuse to repeat a step that already happened.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.deps import PRINCIPAL, Principal, authenticate
from app.core import clock
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.errors import PROBLEM_JSON, InvalidToken, language_headers, problem_document
from app.core.limits import RECEIVED_BODY, VERIFIED_CLAIMS, ReceivedBody, is_upload
from app.core.security import AccessClaims, decode_access_token
from app.idempotency.models import IdempotencyRecord

HEADER = b"idempotency-key"
TTL = timedelta(hours=24)
STALE_AFTER = timedelta(minutes=5)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("content-type", "location", "etag")


def _problem(
    scope: Scope, status: int, kind: str, title: str, detail: str
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    accept = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1")
    body, lang = problem_document(
        accept_language=accept,
        status=status,
        kind=kind,
        title=title,
        detail=detail,
        instance=scope.get("path"),
    )
    headers = [(b"content-type", PROBLEM_JSON.encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in language_headers(lang).items()]
    return status, json.dumps(body).encode(), headers


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key_raw = headers.get(HEADER)
        verified = _claims(scope, headers.get(b"authorization")) if key_raw is not None else None
        if key_raw is None or verified is None:
            await self.app(scope, receive, send)
            return
        token, claims = verified
        caller = ("client:" if claims.client else "user:") + claims.sub
        key = key_raw.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await _send(
                send,
                *_problem(
                    scope,
                    400,
                    "bad-idempotency-key",
                    "Invalid Idempotency-Key",
                    f"The key must be 1 to {MAX_KEY_LENGTH} characters",
                ),
            )
            return
        body: ReceivedBody = scope["state"][RECEIVED_BODY]
        fingerprint = await run_in_threadpool(_fingerprint, scope, body)
        principal, decision = await run_in_threadpool(_claim, claims, caller, key, fingerprint)
        if principal is None:
            # The endpoint refuses the token itself, with its 401; nothing is claimed.
            await self.app(scope, receive, send)
            return
        # Looked up a moment ago with the claim: the endpoint takes it as its caller.
        scope.setdefault("state", {})[PRINCIPAL] = (token, principal)
        if isinstance(decision, IdempotencyRecord):
            if decision.fingerprint != fingerprint:
                await _send(
                    send,
                    *_problem(
                        scope,
                        422,
                        "idempotency-key-reused",
                        "Idempotency-Key reused",
                        "This key was used with another request; use a new key for a new request",
                    ),
                )
            elif decision.state != "done":
                await _send(
                    send,
                    *_problem(
                        scope,
                        409,
                        "idempotency-in-flight",
                        "Request in flight",
                        "A request with this key is still being processed; retry later",
                    ),
                )
            else:
                replay = [
                    (k.encode(), str(v).encode()) for k, v in (decision.headers or {}).items()
                ]
                replay.append((b"idempotent-replayed", b"true"))
                await _send(
                    send, decision.status_code or 200, (decision.body or "").encode(), replay
                )
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"].extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture_send)
        finally:
            await run_in_threadpool(_finish, caller, key, captured)


def _claims(scope: Scope, authorization: bytes | None) -> tuple[str, AccessClaims] | None:
    """The bearer token and its verified claims, or None: the endpoint then refuses the token
    itself. Only an invalid token is None; anything else failing here is a bug, and a 500."""
    if not authorization or not authorization.lower().startswith(b"bearer "):
        return None
    token = authorization[7:].decode("latin-1").strip()
    verified = scope.get("state", {}).get(VERIFIED_CLAIMS)
    if verified is not None and verified[0] == token:
        claims: AccessClaims = verified[1]
        return token, claims
    try:
        return token, decode_access_token(get_settings(), token)
    except InvalidToken:
        return None


def _fingerprint(scope: Scope, body: ReceivedBody) -> str:
    digest = hashlib.sha256(
        scope["method"].encode()
        + b" "
        + scope["path"].encode()
        + b"?"
        + scope.get("query_string", b"")
        + b"\n"
    )
    headers = Headers(scope=scope)
    parts = _multipart_parts(headers, body) if is_upload(dict(scope["headers"])) else None
    if parts is None:
        for chunk in body.chunks():
            digest.update(chunk)
    else:
        digest.update(b"multipart\n" + json.dumps(parts, sort_keys=True).encode())
    return digest.hexdigest()


def _multipart_parts(headers: Headers, body: ReceivedBody) -> list[dict[str, Any]] | None:
    """Each part's name, file name, content type and SHA-256, in order; None when the body
    is not well-formed multipart (the endpoint refuses it; its raw bytes are the print)."""
    _, params = parse_options_header(headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        return None
    parts: list[dict[str, Any]] = []
    part_headers: dict[bytes, bytes] = {}
    field, value = bytearray(), bytearray()
    digest = hashlib.sha256()

    def on_part_begin() -> None:
        nonlocal digest
        part_headers.clear()
        digest = hashlib.sha256()

    def on_header_end() -> None:
        part_headers[bytes(field).strip().lower()] = bytes(value).strip()
        field.clear()
        value.clear()

    def on_part_end() -> None:
        _, options = parse_options_header(part_headers.get(b"content-disposition", b""))
        parts.append(
            {
                "name": _text(options.get(b"name")),
                "filename": _text(options.get(b"filename")),
                "content_type": _text(part_headers.get(b"content-type")),
                "sha256": digest.hexdigest(),
            }
        )

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": lambda data, start, end: field.extend(data[start:end]),
        "on_header_value": lambda data, start, end: value.extend(data[start:end]),
        "on_header_end": on_header_end,
        "on_part_data": lambda data, start, end: digest.update(data[start:end]),
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        for chunk in body.chunks():
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        return None
    return parts


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


_RECORDS = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_THIS_KEY = (_RECORDS.c.caller == bindparam("of_caller"), _RECORDS.c.key == bindparam("of_key"))
# Built once: every POST with a key runs these.
_DROP_EXPIRED = delete(_RECORDS).where(*_THIS_KEY, _RECORDS.c.expires_at < bindparam("now"))
# The claim in one statement: the key's row when it was free, no row when it is held.
_ADD = {
    name: dialect.insert(_RECORDS)
    .on_conflict_do_nothing(index_elements=[_RECORDS.c.caller, _RECORDS.c.key])
    .returning(_RECORDS.c.key)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_HOLDER = select(IdempotencyRecord).where(
    IdempotencyRecord.caller == bindparam("of_caller"),  # type: ignore[arg-type]
    IdempotencyRecord.key == bindparam("of_key"),  # type: ignore[arg-type]
)
_DROP = delete(_RECORDS).where(*_THIS_KEY)
_DONE = (
    update(_RECORDS)
    .where(*_THIS_KEY)
    .values(
        state="done",
        status_code=bindparam("answer_status"),
        headers=bindparam("answer_headers", type_=_RECORDS.c.headers.type),
        body=bindparam("answer_body"),
    )
)


def _claim(
    claims: AccessClaims, caller: str, key: str, fingerprint: str
) -> tuple[Principal | None, IdempotencyRecord | None]:
    """The caller, and None once the key is claimed for this request or the record that
    already holds it; no caller, with nothing claimed, when the token no longer
    authenticates them (revoked, or the account disabled)."""
    now = clock.now()
    this = {"of_caller": caller, "of_key": key}
    with Session(get_engine()) as session:
        try:
            principal = authenticate(session, claims)
        except InvalidToken:
            return None, None
        db = session.connection()
        add = _ADD[db.dialect.name]
        row = {
            "caller": caller,
            "key": key,
            "fingerprint": fingerprint,
            "state": "in_flight",
            "created_at": now,
            "expires_at": now + TTL,
        }
        while True:
            if db.execute(add, row).first() is not None:
                session.commit()
                return principal, None
            existing = session.execute(_HOLDER, this).scalar_one_or_none()
            if existing is None:
                continue  # gone since the insert: claim it again
            if existing.expires_at >= now:
                break
            # Kept past its day: the key is free again.
            db.execute(_DROP_EXPIRED, {**this, "now": now})
            session.expunge(existing)
        stale = existing.state == "in_flight" and existing.created_at < now - STALE_AFTER
        if stale and existing.fingerprint == fingerprint:
            taken = session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.caller == caller,  # type: ignore[arg-type]
                    IdempotencyRecord.key == key,  # type: ignore[arg-type]
                    IdempotencyRecord.created_at == existing.created_at,
                )
                .values(created_at=now)
            )
            session.commit()
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return principal, None
        return principal, existing


def _finish(caller: str, key: str, captured: dict[str, Any]) -> None:
    this = {"of_caller": caller, "of_key": key}
    with Session(get_engine()) as session:
        db = session.connection()
        if captured["status"] >= 500:
            db.execute(_DROP, this)
        else:
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in captured["headers"]
                if k.decode("latin-1").lower() in REPLAYED_HEADERS
            }
            db.execute(
                _DONE,
                {
                    **this,
                    "answer_status": captured["status"],
                    "answer_headers": headers,
                    "answer_body": bytes(captured["body"]).decode("utf-8", "replace"),
                },
            )
        session.commit()


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    if headers is None:
        headers = [(b"content-type", PROBLEM_JSON.encode())]
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
