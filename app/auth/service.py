"""Login, refresh-token rotation, logout and the login rate limit.

Services flush and never commit. Two refusals here must outlive the request's rollback (a
failed login is what the rate limit counts; a reused refresh token revokes its family): the
router commits before re-raising those, and nothing else is pending at that point.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from app.auth.models import LoginFailure, RefreshToken, RevokedToken
from app.auth.roles import Role, scopes_for
from app.auth.scopes import Scope
from app.core import clock
from app.core.config import Settings
from app.core.errors import (
    BadRequest,
    InvalidCredentials,
    TooManyRequests,
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
from app.units.models import Unit
from app.users.models import User

LOGIN_WINDOW = timedelta(minutes=5)
ACCOUNT_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 20
USERNAME_MAX = 64
ADDRESS_MAX = 64


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


# --- rate limit -------------------------------------------------------------------------------


def _retry_after(oldest_in_window: datetime | None) -> int:
    """Seconds until the oldest counted failure leaves the window."""
    if oldest_in_window is None:
        return math.ceil(LOGIN_WINDOW.total_seconds())
    remaining = (clock.as_utc(oldest_in_window) + LOGIN_WINDOW - clock.now()).total_seconds()
    return max(1, math.ceil(remaining))


def check_login_rate(session: Session, username: str, address: str) -> None:
    """429 while the account or the client address has too many recent failures."""
    since = clock.now() - LOGIN_WINDOW
    for column, value, limit in (
        (LoginFailure.username, username[:USERNAME_MAX], ACCOUNT_FAILURE_LIMIT),
        (LoginFailure.address, address[:ADDRESS_MAX], ADDRESS_FAILURE_LIMIT),
    ):
        count, oldest = session.exec(
            select(func.count(), func.min(col(LoginFailure.failed_at))).where(
                col(column) == value, col(LoginFailure.failed_at) > since
            )
        ).one()
        if count >= limit:
            retry = _retry_after(oldest)
            raise TooManyRequests(retry, f"Too many failed logins; try again in {retry} seconds")


def record_login_failure(session: Session, username: str, address: str) -> None:
    now = clock.now()
    # Rows out of the window count for nothing; dropping them here keeps the table small
    # without a separate clean-up job.
    session.exec(delete(LoginFailure).where(col(LoginFailure.failed_at) <= now - LOGIN_WINDOW))
    session.add(
        LoginFailure(username=username[:USERNAME_MAX], address=address[:ADDRESS_MAX], failed_at=now)
    )
    session.flush()


def clear_login_failures(session: Session, username: str) -> None:
    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == username[:USERNAME_MAX]))


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
    access_token, _ = create_access_token(
        settings,
        subject=str(user.id),
        role=str(user.role),
        unit=unit.code if unit else None,
        scopes=scopes,
        token_version=user.token_version,
    )
    refresh_token = new_opaque_token()
    now = clock.now()
    session.add(
        RefreshToken(
            token_hash=hash_opaque_token(refresh_token),
            family_id=family_id or uuid.uuid4(),
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
    """Resource-owner password grant. A failure is recorded (flushed) before it is raised."""
    name = normalize_username(username)
    requested = parse_scope(scope)
    check_login_rate(session, name, address)
    try:
        user = authenticate(session, name, password)
    except InvalidCredentials:
        record_login_failure(session, name, address)
        raise
    clear_login_failures(session, name)
    return issue_tokens(session, settings, user, grant_scopes(Role(user.role), requested))


def revoke_family(session: Session, family_id: uuid.UUID) -> None:
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=clock.now())
    )
    session.flush()


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
        revoke_family(session, stored.family_id)
        raise InvalidRefreshToken(
            "Refresh token already used or revoked; every token of this login is now revoked",
            error="invalid_grant",
        )
    now = clock.now()
    if clock.as_utc(stored.expires_at) <= now:
        raise InvalidRefreshToken("Refresh token expired", error="invalid_grant")
    user = session.get(User, stored.user_id)
    if user is None or not user.active:
        revoke_family(session, stored.family_id)
        raise InvalidRefreshToken("Account is not active", error="invalid_grant")
    stored.used_at = now
    session.add(stored)
    # Never wider than the login granted, nor than the role now allows.
    allowed = set(scopes_for(Role(user.role)))
    scopes = [s for s in stored.scope.split() if s in allowed]
    return issue_tokens(session, settings, user, scopes, family_id=stored.family_id)


def invalidate_user_tokens(session: Session, user: User) -> None:
    """Stop every access token of the user at once (token_version) and every refresh token."""
    user.token_version += 1
    session.add(user)
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
