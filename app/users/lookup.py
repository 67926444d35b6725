"""Checks that a named user can take a part in a kecamatan's incident."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from app.auth.roles import Role
from app.core.errors import Unprocessable
from app.users.models import User


def require_members(
    session: Session, user_ids: Iterable[uuid.UUID], *, role: Role, unit_id: int, field: str
) -> None:
    """Every id is an active user with `role` in `unit_id`, or 422 naming the others."""
    wanted = list(dict.fromkeys(user_ids))
    found = set(
        session.execute(
            select(User.id).where(  # type: ignore[call-overload]
                User.id.in_(wanted),  # type: ignore[attr-defined]
                User.role == role,
                User.unit_id == unit_id,
                User.active,
            )
        ).scalars()
    )
    bad = [str(u) for u in wanted if u not in found]
    if bad:
        raise Unprocessable(
            f"{field}: not an active {role} of this kecamatan: {', '.join(bad)}",
            field=field,
            invalid_ids=bad,
        )
