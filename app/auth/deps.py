"""The current principal: who calls, in which role and unit, with which scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy import exists, select

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
    revoked = exists().where(RevokedToken.jti == claims.jti)  # type: ignore[arg-type]
    row = session.execute(
        select(User.username, User.role, User.unit_id, User.active, User.token_version,
               revoked.label("revoked"))
        .where(User.id == user_id)  # type: ignore[arg-type]
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
        raise InsufficientScope(f"This action needs the scope {', '.join(missing)}",
                                required_scopes=security_scopes.scopes)
    return principal


CurrentPrincipal = Annotated[Principal, Security(get_principal)]


def require(*scopes: Scope) -> object:
    """`Security` dependency requiring every scope given; shows them in OpenAPI."""
    return Security(get_principal, scopes=[str(s) for s in scopes])
