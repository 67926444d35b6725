"""Service clients: registration, secrets and the client-credentials grant.

Flushes, never commits. A failed client authentication is recorded in the login rate limit
(by client id and by address, like a failed password login); the token endpoint commits that
record before it re-raises.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import uuid
from collections.abc import Sequence
from urllib.parse import unquote_plus

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.auth import throttle
from app.auth.roles import ROLE_SCOPES, Role
from app.auth.service import InvalidScope, IssuedTokens, parse_scope
from app.clients.models import CLIENT_ID_MAX, ServiceClient
from app.clients.schemas import (
    ClientCreate,
    ClientCreated,
    ClientPublic,
    ClientSecret,
    ClientUpdate,
)
from app.core import clock
from app.core.config import Settings
from app.core.errors import BadRequest, NotFound, Unauthorized
from app.core.security import create_access_token, hash_opaque_token
from app.units.models import Unit, UnitPublic
from app.users.service import UnknownUnit, find_unit

CLIENT_ID_PREFIX = "cli_"
SECRET_PREFIX = "cs_"
SECRET_MAX = 256
# Failed client logins share the login_failures table with usernames; the prefix keeps a
# client id from ever counting against a user of the same name.
RATE_KEY_PREFIX = "client:"
# Compared against when the client is unknown, so that case costs what a wrong secret costs.
_DUMMY_HASH = hash_opaque_token(secrets.token_urlsafe(32))


class InvalidClient(Unauthorized):
    kind, title = "invalid-client", "Client authentication failed"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail, error="invalid_client", **extra)
        # RFC 6749 section 5.2: name the scheme the client may authenticate with.
        self.headers["WWW-Authenticate"] = 'Basic realm="trantib"'


class InvalidTokenRequest(BadRequest):
    kind, title = "invalid-request", "The token request is not valid"


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# --- administration ---------------------------------------------------------------------------


def to_public(session: Session, client: ServiceClient) -> ClientPublic:
    unit = session.get(Unit, client.unit_id) if client.unit_id is not None else None
    return _public(client, unit)


def _public(client: ServiceClient, unit: Unit | None) -> ClientPublic:
    return ClientPublic(
        client_id=client.client_id,
        name=client.name,
        description=client.description,
        scopes=list(client.scopes),
        unit=UnitPublic.model_validate(unit, from_attributes=True) if unit else None,
        active=client.active,
        secret_rotated_at=client.secret_rotated_at,
        last_token_at=client.last_token_at,
        created_by=client.created_by,
        created_at=client.created_at,
        updated_at=client.updated_at,
    )


def get_client(session: Session, client_id: str) -> ServiceClient:
    client = None
    if len(client_id) <= CLIENT_ID_MAX:
        client = session.exec(
            select(ServiceClient).where(col(ServiceClient.client_id) == client_id)
        ).first()
    if client is None:
        raise NotFound("No such service client")
    return client


def _unit_of(session: Session, data: ClientCreate) -> int | None:
    if data.unit is not None:
        unit = find_unit(session, data.unit)
        if unit is None:
            raise UnknownUnit(f"No kecamatan has the code or slug {data.unit!r}", field="unit")
        return unit.id
    if data.unit_id is not None and session.get(Unit, data.unit_id) is None:
        raise UnknownUnit(f"No kecamatan has id {data.unit_id}", field="unit_id")
    return data.unit_id


def create_client(
    session: Session, data: ClientCreate, actor_id: uuid.UUID | None
) -> ClientCreated:
    """Register a client; its secret is in this answer and, hashed, in the database only."""
    unit_id = _unit_of(session, data)
    secret = new_secret()
    now = clock.now()
    client = ServiceClient(
        client_id=new_client_id(),
        name=data.name,
        description=data.description,
        scopes=list(data.scopes),
        unit_id=unit_id,
        secret_hash=hash_opaque_token(secret),
        secret_rotated_at=now,
        created_by=actor_id,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.flush()
    return ClientCreated(**to_public(session, client).model_dump(), client_secret=secret)


def list_clients(
    session: Session, *, active: bool | None, limit: int, offset: int
) -> tuple[list[ClientPublic], int]:
    query = select(ServiceClient)
    if active is not None:
        query = query.where(col(ServiceClient.active) == active)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows: Sequence[ServiceClient] = session.exec(
        query.order_by(col(ServiceClient.created_at), col(ServiceClient.client_id))
        .limit(limit)
        .offset(offset)
    ).all()
    units = {u.id: u for u in session.exec(select(Unit))}
    items = [_public(c, units.get(c.unit_id) if c.unit_id else None) for c in rows]
    return items, total


def update_client(session: Session, client: ServiceClient, data: ClientUpdate) -> ServiceClient:
    """Change what was sent. Deactivation ends the client's live tokens at once; narrower
    scopes apply to live tokens at once too (a token never carries more than its client)."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("active") is False and client.active:
        client.token_version += 1
    for name, value in changes.items():
        setattr(client, name, list(value) if name == "scopes" else value)
    client.updated_at = clock.now()
    session.add(client)
    session.flush()
    return client


def rotate_secret(session: Session, client: ServiceClient) -> ClientSecret:
    """A new secret; the old one and every token issued with it stop working at once."""
    secret = new_secret()
    now = clock.now()
    client.secret_hash = hash_opaque_token(secret)
    client.token_version += 1
    client.secret_rotated_at = now
    client.updated_at = now
    session.add(client)
    session.flush()
    return ClientSecret(client_id=client.client_id, client_secret=secret, secret_rotated_at=now)


# --- the client-credentials grant ---------------------------------------------------------------


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, secret) from an HTTP Basic header, decoded as RFC 6749 section 2.3.1 says
    (form-urlencoded, then base64); None when the header is absent or another scheme."""
    if not authorization:
        return None
    scheme, _, param = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("Malformed HTTP Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def presented_credentials(
    form_client_id: str | None, form_secret: str | None, authorization: str | None
) -> tuple[str, str]:
    """The client's credentials, from HTTP Basic or from the form body, never from both."""
    basic = _basic_credentials(authorization)
    if basic is not None:
        if form_secret is not None or (form_client_id and form_client_id != basic[0]):
            raise InvalidTokenRequest(
                "Authenticate the client one way: HTTP Basic or client_id and client_secret "
                "in the body, not both",
                error="invalid_request",
            )
        return basic
    if not form_client_id or form_secret is None:
        raise InvalidClient(
            "grant_type=client_credentials needs client_id and client_secret, in the body or "
            "as HTTP Basic credentials"
        )
    return form_client_id, form_secret


def authenticate_client(session: Session, client_id: str, secret: str) -> ServiceClient:
    """The active client with this secret, or InvalidClient.

    An unknown client, a disabled one and a wrong secret answer the same and each compare a
    hash in constant time.
    """
    client = None
    if len(client_id) <= CLIENT_ID_MAX:
        client = session.exec(
            select(ServiceClient).where(col(ServiceClient.client_id) == client_id)
        ).first()
    presented = hash_opaque_token(secret[:SECRET_MAX])
    expected = client.secret_hash if client is not None else _DUMMY_HASH
    matches = hmac.compare_digest(presented, expected)
    if client is None or not matches or not client.active or len(secret) > SECRET_MAX:
        raise InvalidClient("Unknown client, wrong secret or disabled client")
    return client


def _granted_scopes(client: ServiceClient, requested: list[str] | None) -> list[str]:
    ceiling = {str(s) for s in ROLE_SCOPES[Role.service]}
    held = sorted(s for s in client.scopes if s in ceiling)
    if requested is None:
        return held
    beyond = [s for s in requested if s not in held]
    if beyond:
        raise InvalidScope(f"Not granted to this client: {' '.join(beyond)}", error="invalid_scope")
    return requested


def client_credentials_login(
    session: Session,
    settings: Settings,
    *,
    client_id: str,
    secret: str,
    scope: str | None,
    address: str,
) -> IssuedTokens:
    """An access token for the client (no refresh token: the client can always ask again)."""
    requested = parse_scope(scope)
    attempt = throttle.claim_attempt(RATE_KEY_PREFIX + client_id, address)
    client = authenticate_client(session, client_id, secret)
    throttle.succeeded(session, attempt)
    scopes = _granted_scopes(client, requested)
    unit = session.get(Unit, client.unit_id) if client.unit_id is not None else None
    access_token, _ = create_access_token(
        settings,
        subject=client.client_id,
        role=str(Role.service),
        unit=unit.code if unit else None,
        scopes=scopes,
        token_version=client.token_version,
        client=True,
    )
    client.last_token_at = clock.now()
    session.add(client)
    session.flush()
    return IssuedTokens(
        access_token=access_token,
        refresh_token=None,
        expires_in=settings.access_token_minutes * 60,
        scope=" ".join(scopes),
    )
