"""User administration: create, list, change, reset password. Flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.auth.roles import SINGLE_HOLDER_ROLES, UNIT_ROLES, Role
from app.auth.service import invalidate_user_tokens
from app.core import clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.security import hash_password
from app.delegations.posts import plt_in_force, waiting_on_post
from app.units.models import Unit, UnitPublic
from app.users.models import User
from app.users.schemas import UserCreate, UserPublic, UserUpdate


class UsernameTaken(Conflict):
    kind, title = "username-taken", "The username is taken"


class RoleHolderExists(Conflict):
    kind, title = "role-holder-exists", "The kecamatan already has an active holder of this role"


class SelfLockout(Conflict):
    kind, title = "self-lockout", "Administrators cannot deactivate or demote themselves"


class UnknownUnit(Unprocessable):
    kind, title = "unknown-unit", "No such kecamatan"


class UnitRoleMismatch(Unprocessable):
    kind, title = "unit-role-mismatch", "The role and the kecamatan do not fit together"


def find_unit(session: Session, key: str) -> Unit | None:
    """A kecamatan by its code (36.71.06) or slug (ciledug)."""
    key = key.strip().lower()
    return session.exec(
        select(Unit).where(or_(col(Unit.code) == key, col(Unit.slug) == key))
    ).first()


def units_by_id(session: Session) -> dict[int, Unit]:
    return {u.id: u for u in session.exec(select(Unit))}


def to_public(user: User, units: dict[int, Unit]) -> UserPublic:
    unit = units.get(user.unit_id) if user.unit_id is not None else None
    return UserPublic(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        nip=user.nip,
        role=Role(user.role),
        unit=UnitPublic.model_validate(unit, from_attributes=True) if unit else None,
        active=user.active,
        is_demo=user.is_demo,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def public(session: Session, user: User) -> UserPublic:
    return to_public(user, units_by_id(session))


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No user with this id")
    return user


def _check_unit_fits_role(role: Role, unit_id: int | None) -> None:
    if role in UNIT_ROLES and unit_id is None:
        raise UnitRoleMismatch(f"Role {role} belongs to a kecamatan: give unit_id or unit")
    if role not in UNIT_ROLES and unit_id is not None:
        raise UnitRoleMismatch(f"Role {role} is city-wide: it takes no kecamatan")


def _check_single_holder(
    session: Session, role: Role, unit_id: int | None, exclude: uuid.UUID | None
) -> None:
    if role not in SINGLE_HOLDER_ROLES or unit_id is None:
        return
    query = select(User.username).where(
        col(User.unit_id) == unit_id, col(User.role) == role, col(User.active)
    )
    if exclude is not None:
        query = query.where(col(User.id) != exclude)
    holder = session.exec(query).first()
    if holder is not None:
        raise RoleHolderExists(
            f"{holder} is the active {role} of this kecamatan; deactivate or move them first",
            holder=holder,
        )


def _flush_guarded(session: Session, user: User) -> None:
    """Flush in a savepoint, turning a unique-index race into the matching 409."""
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        taken = session.exec(
            select(User.id).where(col(User.username) == user.username, col(User.id) != user.id)
        ).first()
        if taken is not None:
            raise UsernameTaken(f"The username {user.username} is taken") from exc
        raise RoleHolderExists(f"This kecamatan already has an active {user.role}") from exc


def create_user(session: Session, data: UserCreate) -> User:
    unit_id = data.unit_id
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise UnknownUnit(f"No kecamatan with id {unit_id}")
    if data.unit is not None:
        unit = find_unit(session, data.unit)
        if unit is None:
            raise UnknownUnit(f"No kecamatan with code or slug {data.unit!r}")
        if unit_id is not None and unit_id != unit.id:
            raise UnitRoleMismatch("unit_id and unit name different kecamatan")
        unit_id = unit.id
    _check_unit_fits_role(data.role, unit_id)
    if session.exec(select(User.id).where(col(User.username) == data.username)).first():
        raise UsernameTaken(f"The username {data.username} is taken")
    _check_single_holder(session, data.role, unit_id, exclude=None)
    now = clock.now()
    user = User(
        username=data.username,
        full_name=data.full_name,
        nip=data.nip,
        role=data.role,
        unit_id=unit_id,
        password_hash=hash_password(data.password),
        created_at=now,
        updated_at=now,
    )
    _flush_guarded(session, user)
    return user


def list_users(
    session: Session,
    *,
    role: Role | None,
    unit: str | None,
    active: bool | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[User], int]:
    conditions: list[ColumnElement[bool]] = []
    if role is not None:
        conditions.append(col(User.role) == role)
    if unit is not None:
        found = session.get(Unit, int(unit)) if unit.isdigit() else find_unit(session, unit)
        if found is None:
            return [], 0
        conditions.append(col(User.unit_id) == found.id)
    if active is not None:
        conditions.append(col(User.active) == active)
    if q:
        conditions.append(
            or_(
                col(User.username).icontains(q, autoescape=True),
                col(User.full_name).icontains(q, autoescape=True),
            )
        )
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    users = session.exec(
        select(User)
        .where(*conditions)
        .order_by(col(User.username), col(User.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return users, total


class PositionWouldBeVacant(Conflict):
    kind, title = "position-would-be-vacant", "Incidents wait on the post this would leave empty"


def _check_no_silent_vacancy(session: Session, user: User) -> None:
    """Taking the only holder of a post out while incidents wait on it stalls them: refused
    unless a Plt covers the post from now."""
    if user.role not in SINGLE_HOLDER_ROLES or user.unit_id is None:
        return
    waiting = waiting_on_post(session, user.unit_id, user.role)
    if not waiting or plt_in_force(session, user.unit_id, user.role, clock.now()):
        return
    raise PositionWouldBeVacant(
        f"{len(waiting)} incident(s) of this kecamatan wait on its {user.role}: record a Plt "
        "first (POST /api/v1/delegations), or send allow_vacancy=true to leave the post empty",
        position=str(user.role),
        incidents=[
            {
                "id": str(i.id),
                "register_number": i.register_number,
                "step": i.current_step,
                "stage": i.stage,
            }
            for i in waiting
        ],
    )


def update_user(
    session: Session,
    user: User,
    data: UserUpdate,
    actor_id: uuid.UUID,
    *,
    allow_vacancy: bool = False,
) -> User:
    changes = data.model_dump(exclude_unset=True)
    role = Role(changes.get("role", user.role))
    unit_id = changes.get("unit_id", user.unit_id)
    active = changes.get("active", user.active)
    role_changed = role != user.role
    unit_changed = unit_id != user.unit_id
    deactivated = user.active and not active
    if user.id == actor_id and (deactivated or role_changed):
        raise SelfLockout("Ask another administrator to deactivate or demote this account")
    if unit_changed and unit_id is not None and session.get(Unit, unit_id) is None:
        raise UnknownUnit(f"No kecamatan with id {unit_id}")
    _check_unit_fits_role(role, unit_id)
    if user.active and (deactivated or role_changed or unit_changed) and not allow_vacancy:
        _check_no_silent_vacancy(session, user)
    if active and (role_changed or unit_changed or not user.active):
        _check_single_holder(session, role, unit_id, exclude=user.id)
    user.role = role
    user.unit_id = unit_id
    user.active = active
    if "full_name" in changes:
        user.full_name = changes["full_name"]
    if "nip" in changes:
        user.nip = changes["nip"]
    user.updated_at = clock.now()
    _flush_guarded(session, user)
    # The role and unit travel in the token: a token issued before the change must not outlive it.
    if deactivated or role_changed or unit_changed:
        invalidate_user_tokens(session, user)
    return user


def reset_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.updated_at = clock.now()
    session.add(user)
    invalidate_user_tokens(session, user)
