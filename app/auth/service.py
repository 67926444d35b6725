"""Login, refresh-token rotation and logout.

Services flush and never commit. Two writes here must outlive the refusal that follows them
(a login attempt is what the throttle counts; a reused refresh token revokes its family):
each is its own short transaction, apart from the request's, which still commits once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from app.auth import throttle
from app.auth.models import RefreshToken, RevokedToken
from app.auth.roles import Role, scopes_for
from app.auth.scopes import Scope
from app.core import clock
from app.core.config import Settings
from app.core.db import get_engine
from app.core.errors import (
    BadRequest,
    InvalidCredentials,
    Unauthorized,
)
from app.core.security import (
    LEEWAY_SECONDS,
    PASSWORD_MAX,
    create_access_token,
    hash_opaque_token,
    new_opaque_token,
    verify_and_update_password,
    verify_password,
)
from app.push.service import drop_for_user
from app.units.models import Unit
from app.users.models import User

USERNAME_MAX = 64


class UnsupportedGrantType(BadRequest):
    kind, title = "unsupported-grant-type", "Unsupported grant type"


class InvalidScope(BadRequest):
    kind, title = "invalid-scope", "The requested scope is not valid"


class InvalidRefreshToken(Unauthorized):
    kind, title = "invalid-refresh-token", "Invalid, expired or revoked refresh token"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    # None for grants without one (client_credentials: the client can simply ask again).
    refresh_token: str | None
    expires_in: int
    scope: str


def normalize_username(raw: str) -> str:
    """Usernames are stored lowercase; logins match case-insensitively."""
    return raw.strip().lower()


# --- scopes ---------------------------------------------------------------------------------


def parse_scope(raw: str | None) -> list[str] | None:
    """The scopes a client asked for; None when it asked for none (meaning: all of the role's)."""
    requested = sorted(set((raw or "").split()))
    if not requested:
        return None
    known = {str(s) for s in Scope}
    unknown = [s for s in requested if s not in known]
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(unknown)}", error="invalid_scope")
    return requested


def grant_scopes(role: Role, requested: list[str] | None) -> list[str]:
    allowed = scopes_for(role)
    if requested is None:
        return allowed
    granted = [s for s in allowed if s in requested]
    if not granted:
        raise InvalidScope(
            "None of the requested scopes is granted to this account", error="invalid_scope"
        )
    return granted


# --- tokens ---------------------------------------------------------------------------------


def issue_tokens(
    session: Session,
    settings: Settings,
    user: User,
    scopes: list[str],
    family_id: uuid.UUID | None = None,
) -> IssuedTokens:
    """A new access token and a new refresh token (in `family_id`, or a new family)."""
    unit = session.get(Unit, user.unit_id) if user.unit_id is not None else None
    family_id = family_id or uuid.uuid4()
    access_token, _ = create_access_token(
        settings,
        subject=str(user.id),
        role=str(user.role),
        unit=unit.code if unit else None,
        scopes=scopes,
        token_version=user.token_version,
        # Revoking the family (a reused refresh token) ends this access token too.
        family=str(family_id),
    )
    refresh_token = new_opaque_token()
    now = clock.now()
    session.add(
        RefreshToken(
            token_hash=hash_opaque_token(refresh_token),
            family_id=family_id,
            user_id=user.id,
            scope=" ".join(scopes),
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    session.flush()
    return IssuedTokens(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=settings.access_token_minutes * 60,
        scope=" ".join(scopes),
    )


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with this password, or InvalidCredentials.

    Every failure path runs one argon2 verification, so an unknown name, an inactive account
    and a wrong password take about the same time and answer the same body.
    """
    user = None
    if len(username) <= USERNAME_MAX:
        user = session.exec(select(User).where(col(User.username) == username)).first()
    stored_hash, active = (user.password_hash, user.active) if user else (None, False)
    # Nothing is written yet: end the transaction before the deliberately slow hash check, so
    # it holds no lock (SQLite's write lock) nor pooled connection while argon2 runs.
    session.rollback()
    if len(password) > PASSWORD_MAX:
        verify_password(password[:PASSWORD_MAX], None)
    elif user is None:
        verify_password(password, None)
    else:
        valid, rehashed = verify_and_update_password(password, stored_hash)
        if valid and active:
            if rehashed is not None:
                user.password_hash = rehashed
            return user
    raise InvalidCredentials("Invalid username or password", error="invalid_grant")


def password_login(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    scope: str | None,
    address: str,
) -> IssuedTokens:
    """Resource-owner password grant. The attempt is counted by the throttle before the
    password is checked, and stays counted when it fails."""
    name = normalize_username(username)
    requested = parse_scope(scope)
    attempt = throttle.claim_attempt(name, address)
    user = authenticate(session, name, password)
    throttle.succeeded(session, attempt)
    return issue_tokens(session, settings, user, grant_scopes(Role(user.role), requested))


def revoke_family_for_good(session: Session, family_id: uuid.UUID) -> None:
    """Revoke the family in a transaction of its own: the refusal that follows rolls the
    request's back, and the revocation must stay. The request's transaction ends first, so
    that on SQLite the write lock is free for this one."""
    session.rollback()
    with get_engine().begin() as conn:
        conn.execute(
            update(RefreshToken)
            .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=clock.now())
        )


def rotate_refresh_token(session: Session, settings: Settings, presented: str) -> IssuedTokens:
    """Spend a refresh token for a new pair in the same family.

    A token presented a second time means two parties hold it (one of them a thief): the
    whole family is revoked, so the newer token the other party got stops working too.
    """
    stored = session.exec(
        select(RefreshToken)
        .where(col(RefreshToken.token_hash) == hash_opaque_token(presented))
        .with_for_update()
    ).first()
    if stored is None:
        raise InvalidRefreshToken("Unknown refresh token", error="invalid_grant")
    if stored.used_at is not None or stored.revoked_at is not None:
        revoke_family_for_good(session, stored.family_id)
        raise InvalidRefreshToken(
            "Refresh token already used or revoked; every token of this login is now revoked",
            error="invalid_grant",
        )
    now = clock.now()
    if clock.as_utc(stored.expires_at) <= now:
        raise InvalidRefreshToken("Refresh token expired", error="invalid_grant")
    user = session.get(User, stored.user_id)
    if user is None or not user.active:
        revoke_family_for_good(session, stored.family_id)
        raise InvalidRefreshToken("Account is not active", error="invalid_grant")
    stored.used_at = now
    session.add(stored)
    # Never wider than the login granted, nor than the role now allows.
    allowed = set(scopes_for(Role(user.role)))
    scopes = [s for s in stored.scope.split() if s in allowed]
    return issue_tokens(session, settings, user, scopes, family_id=stored.family_id)


def invalidate_user_tokens(session: Session, user: User) -> None:
    """Stop every access token of the user at once (token_version) and every refresh token;
    their phones stop receiving pushes too (a phone handed on must not show their tasks)."""
    user.token_version += 1
    session.add(user)
    drop_for_user(session, user.id)
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=clock.now())
    )
    session.flush()


def logout(session: Session, settings: Settings, user_id: uuid.UUID, jti: str) -> None:
    """Revoke this access token by id, then every other token of the user."""
    now = clock.now()
    session.exec(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
    if session.get(RevokedToken, jti) is None:
        # No token outlives this bound, so the row can go once it passes.
        lifetime = timedelta(minutes=settings.access_token_minutes, seconds=2 * LEEWAY_SECONDS)
        session.add(RevokedToken(jti=jti, expires_at=now + lifetime))
    user = session.get(User, user_id)
    if user is not None:
        invalidate_user_tokens(session, user)
    session.flush()
