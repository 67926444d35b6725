"""The current principal: who calls, in which role and unit, with which scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy import and_, bindparam, exists, select
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool

from app.auth.models import RefreshToken, RevokedToken
from app.auth.roles import ROLE_SCOPES, Role, role_name, staff_roles_with
from app.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from app.clients.models import ServiceClient
from app.core import clock
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import InsufficientScope, InvalidToken, Unauthorized
from app.core.limits import VERIFIED_CLAIMS
from app.core.routing import defer
from app.core.security import (
    LEEWAY_SECONDS,
    SESSION_EXPIRED,
    AccessClaims,
    decode_access_token,
)
from app.core.types import UTCDateTime
from app.delegations.models import Delegation
from app.delegations.posts import in_force_at
from app.users.models import User

# The names Swagger UI heads the Authorize dialog's two logins with (OpenAPI keys: no spaces).
STAFF_SCHEME = "Akun_petugas"
SYSTEM_SCHEME = "Sistem_Pemkot"

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scheme_name=STAFF_SCHEME,
    scopes={str(k): v for k, v in SCOPE_DESCRIPTIONS.items()},
    auto_error=False,
)


@dataclass(frozen=True)
class Acting:
    """A post the caller takes for now as a deputy (Plh or Plt), by a recorded delegation."""

    position: Role
    kind: str
    delegation_id: uuid.UUID


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user, or a service client (`is_client`, role `service`,
    `username` its client id). `unit_id` is None for city-level callers."""

    id: uuid.UUID
    username: str
    role: Role
    unit_id: int | None
    scopes: frozenset[str]
    jti: str
    is_client: bool = False
    # The posts of the caller's kecamatan they act in now, beside their own role.
    acting: tuple[Acting, ...] = ()
    # A user's name as people read it; empty for a service client.
    full_name: str = ""

    @property
    def city_wide(self) -> bool:
        return self.unit_id is None

    @property
    def client_id(self) -> str | None:
        return self.username if self.is_client else None

    def has(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes

    def holds(self, role: Role | str) -> bool:
        """Whether the caller takes the actions of `role`: their own, or a post they act in."""
        return role == self.role or any(a.position == role for a in self.acting)

    def acting_for(self, role: Role | str) -> Acting | None:
        """The delegation the caller takes `role`'s actions by; None for their own role."""
        if role == self.role:
            return None
        return next((a for a in self.acting if a.position == role), None)


_ROLE_SCOPE_NAMES = {
    role: frozenset(str(s) for s in scopes) for role, scopes in ROLE_SCOPES.items()
}

# Every authenticated request runs one of these: built once, executed with parameters.
_revoked = exists().where(col(RevokedToken.jti) == bindparam("jti")).label("revoked")
# A family is revoked when one of its refresh tokens is presented again (a thief and the
# owner both hold it): the access tokens minted in it stop with it. Rotation only marks
# tokens used, so a live family has no revoked token.
_family_revoked = (
    exists()
    .where(
        col(RefreshToken.family_id) == bindparam("family"),
        col(RefreshToken.revoked_at).is_not(None),
    )
    .label("family_revoked")
)
# The delegations in force now that make the user a deputy of a post of their own kecamatan:
# read on every request, so a delegation starts and ends for tokens issued before it.
_in_force = and_(
    col(Delegation.delegate_id) == col(User.id),
    col(Delegation.unit_id) == col(User.unit_id),
    in_force_at(bindparam("now", type_=UTCDateTime())),
)
_USER: Any = (
    select(
        col(User.username),
        col(User.full_name),
        col(User.role),
        col(User.unit_id),
        col(User.active),
        col(User.token_version),
        _revoked,
        _family_revoked,
        col(Delegation.id).label("delegation_id"),
        col(Delegation.position),
        col(Delegation.kind),
    )
    .outerjoin(Delegation, _in_force)
    .where(col(User.id) == bindparam("subject"))
)
_CLIENT = select(
    col(ServiceClient.id),
    col(ServiceClient.scopes),
    col(ServiceClient.unit_id),
    col(ServiceClient.active),
    col(ServiceClient.token_version),
    _revoked,
).where(col(ServiceClient.client_id) == bindparam("subject"))


def _user_principal(session: Session, claims: AccessClaims) -> Principal:
    try:
        user_id = uuid.UUID(claims.sub)
    except ValueError as exc:
        raise InvalidToken("Token subject is not valid") from exc
    try:
        family = uuid.UUID(claims.family) if claims.family is not None else None
    except ValueError as exc:
        raise InvalidToken("Token family is not valid") from exc
    rows = (
        session.connection()
        .execute(
            _USER, {"subject": user_id, "jti": claims.jti, "family": family, "now": clock.now()}
        )
        .all()
    )
    row = rows[0] if rows else None
    if row is None or not row.active or row.revoked or row.token_version != claims.token_version:
        raise InvalidToken("The session has ended (logged out); log in again", reason="revoked")
    if row.family_revoked:
        raise InvalidToken("The session has ended (logged out); log in again", reason="revoked")
    if row.role != claims.role:
        raise InvalidToken("The session has ended (logged out); log in again", reason="revoked")
    role = Role(row.role)
    # The token says which scopes were asked for; the role says which a person may hold.
    # A token claiming more (a forged one, or one issued before the role table changed)
    # gets no more than the role's.
    scopes = frozenset(claims.scopes) & _ROLE_SCOPE_NAMES[role]
    acting = tuple(
        Acting(Role(r.position), r.kind, r.delegation_id)
        for r in rows
        if r.delegation_id is not None and r.position != role
    )
    for post in acting:
        scopes |= acting_scopes(post.position, scopes, role)
    return Principal(
        id=user_id,
        username=row.username,
        role=role,
        unit_id=row.unit_id,
        scopes=scopes,
        jti=claims.jti,
        acting=acting,
        full_name=row.full_name,
    )


def acting_scopes(position: Role, granted: frozenset[str], role: Role) -> frozenset[str]:
    """The scopes a deputy takes from the post: all of its step work for a token with all of
    the person's own scopes; a token narrowed at login stays as narrow (it keeps only what
    it asked for). Naming a deputy stays with the post's holder."""
    post = _ROLE_SCOPE_NAMES[position] - {str(Scope.delegations_write)}
    if _ROLE_SCOPE_NAMES[role] <= granted:
        return post
    return post & granted


def _client_principal(session: Session, claims: AccessClaims) -> Principal:
    row = session.connection().execute(_CLIENT, {"subject": claims.sub, "jti": claims.jti}).first()
    if row is None or not row.active or row.revoked or row.token_version != claims.token_version:
        raise InvalidToken("The session has ended (logged out); log in again", reason="revoked")
    if claims.role != Role.service:
        raise InvalidToken("The session has ended (logged out); log in again", reason="revoked")
    return Principal(
        id=row.id,
        username=claims.sub,
        role=Role.service,
        unit_id=row.unit_id,
        # Scopes taken away from the client since the token was issued are gone at once.
        scopes=frozenset(claims.scopes) & frozenset(row.scopes),
        jti=claims.jti,
        is_client=True,
    )


def authenticate(session: Session, claims: AccessClaims) -> Principal:
    """The caller of verified claims as the database has them now: InvalidToken when the
    token was revoked, the account or client disabled, or the role changed since."""
    if claims.client:
        return _client_principal(session, claims)
    return _user_principal(session, claims)


# Key of the request state entry holding (token, Principal) once the caller was looked up.
PRINCIPAL = "authenticated_principal"


async def get_principal(
    request: Request,
    security_scopes: SecurityScopes,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The caller, looked up once per request: an endpoint whose load-or-404 dependency
    requires other scopes than its own asks again, and only the scopes are checked then.

    Async, so that asking costs no thread hop: in a one-hop route the database read is made
    in the endpoint's hop (app.core.routing), elsewhere in a hop of its own.
    """
    if not token:
        raise Unauthorized("A bearer token is required")
    scopes = security_scopes.scopes
    known = getattr(request.state, PRINCIPAL, None)
    if known is not None and known[0] == token:
        principal: Principal = known[1]
        _check_scopes(principal, scopes)
        return principal
    later = defer(_look_up, request=request, session=session, token=token, scopes=scopes)
    if later is not None:
        # Typed as the caller: only the one hop's code sees a Deferred.
        return later  # type: ignore[return-value]
    return await run_in_threadpool(_look_up, request, session, token, scopes)


def _look_up(request: Request, session: Session, token: str, scopes: list[str]) -> Principal:
    known = getattr(request.state, PRINCIPAL, None)
    if known is not None and known[0] == token:
        principal: Principal = known[1]
    else:
        principal = authenticate(session, _claims(request, token))
        setattr(request.state, PRINCIPAL, (token, principal))
    _check_scopes(principal, scopes)
    return principal


def _claims(request: Request, token: str) -> AccessClaims:
    verified = getattr(request.state, VERIFIED_CLAIMS, None)
    if verified is not None and verified[0] == token:
        claims: AccessClaims = verified[1]
        # Verified a moment ago by the rate limiter; only the clock can have moved on.
        if claims.expires_at + timedelta(seconds=LEEWAY_SECONDS) < clock.now():
            raise InvalidToken(SESSION_EXPIRED, reason="expired")
        return claims
    return decode_access_token(get_settings(), token)


def _check_scopes(principal: Principal, required: list[str]) -> None:
    missing = [s for s in required if s not in principal.scopes]
    if not missing:
        return
    roles = [str(r) for r in staff_roles_with(required)]
    who = " or the ".join(role_name(r) for r in roles) or "nobody"
    error = InsufficientScope(
        f"Only the {who} may do this (it needs the scope {', '.join(missing)})",
        required_scopes=required,
        allowed_roles=roles,
    )
    # RFC 6750 section 3: tell the client which scope to ask for.
    error.headers["WWW-Authenticate"] = (
        f'Bearer realm="trantib", error="insufficient_scope", scope="{" ".join(required)}"'
    )
    raise error


CurrentPrincipal = Annotated[Principal, Security(get_principal)]


def require(*scopes: Scope) -> Any:
    """`Security` dependency requiring every scope given; shows them in OpenAPI."""
    # Typed Any so it can be a parameter default (`p: Principal = require(...)`) as well as
    # `Annotated` metadata.
    return Security(get_principal, scopes=[str(s) for s in scopes])
