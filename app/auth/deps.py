"""The current principal: who calls, in which role and unit, with which scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy import exists, select
from sqlmodel import col

from app.auth.models import RevokedToken
from app.auth.roles import Role
from app.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import InsufficientScope, InvalidToken, Unauthorized
from app.core.security import decode_access_token
from app.users.models import User

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scopes={str(k): v for k, v in SCOPE_DESCRIPTIONS.items()},
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `unit_id` is None for city-level roles."""

    id: uuid.UUID
    username: str
    role: Role
    unit_id: int | None
    scopes: frozenset[str]
    jti: str
    is_client: bool = False

    @property
    def city_wide(self) -> bool:
        return self.unit_id is None

    def has(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes


def get_principal(
    security_scopes: SecurityScopes,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not token:
        raise Unauthorized("A bearer token is required")
    claims = decode_access_token(get_settings(), token)
    try:
        user_id = uuid.UUID(claims.sub)
    except ValueError as exc:
        raise InvalidToken("Token subject is not valid") from exc
    revoked = exists().where(col(RevokedToken.jti) == claims.jti)
    row = session.execute(
        select(
            col(User.username),
            col(User.role),
            col(User.unit_id),
            col(User.active),
            col(User.token_version),
            revoked.label("revoked"),
        ).where(col(User.id) == user_id)
    ).first()
    if row is None or not row.active or row.revoked or row.token_version != claims.token_version:
        raise InvalidToken("Token has been revoked")
    if row.role != claims.role:
        raise InvalidToken("Token has been revoked")
    principal = Principal(
        id=user_id,
        username=row.username,
        role=Role(row.role),
        unit_id=row.unit_id,
        scopes=frozenset(claims.scopes),
        jti=claims.jti,
    )
    missing = [s for s in security_scopes.scopes if s not in principal.scopes]
    if missing:
        error = InsufficientScope(
            f"This action needs the scope {', '.join(missing)}",
            required_scopes=security_scopes.scopes,
        )
        # RFC 6750 section 3: tell the client which scope to ask for.
        error.headers["WWW-Authenticate"] = (
            f'Bearer realm="trantib", error="insufficient_scope", '
            f'scope="{" ".join(security_scopes.scopes)}"'
        )
        raise error
    return principal


CurrentPrincipal = Annotated[Principal, Security(get_principal)]


def require(*scopes: Scope) -> Any:
    """`Security` dependency requiring every scope given; shows them in OpenAPI."""
    # Typed Any so it can be a parameter default (`p: Principal = require(...)`) as well as
    # `Annotated` metadata.
    return Security(get_principal, scopes=[str(s) for s in scopes])
