"""Checks that a named user can take a part in a kecamatan's incident."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from app.auth.roles import Role
from app.core.errors import Unprocessable
from app.users.models import User

# Built once: the ids are an expanding parameter, so one compiled form serves any number.
_ACTIVE_MEMBERS = select(col(User.id)).where(
    col(User.id).in_(bindparam("ids", expanding=True)),
    col(User.role) == bindparam("role"),
    col(User.unit_id) == bindparam("unit_id"),
    col(User.active),
)


def require_members(
    session: Session, user_ids: Iterable[uuid.UUID], *, role: Role, unit_id: int, field: str
) -> None:
    """Every id is an active user with `role` in `unit_id`, or 422 naming the others."""
    wanted = list(dict.fromkeys(user_ids))
    params = {"ids": wanted, "role": role, "unit_id": unit_id}
    found = set(session.connection().execute(_ACTIVE_MEMBERS, params).scalars())
    bad = [str(u) for u in wanted if u not in found]
    if bad:
        raise Unprocessable(
            f"{field}: not an active {role} of this kecamatan: {', '.join(bad)}",
            field=field,
            invalid_ids=bad,
        )
