"""Demo users for every kecamatan (development only)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import insert, select
from sqlmodel import Session

from app.auth.roles import Role
from app.core import clock
from app.core.security import hash_password
from app.units.models import Unit
from app.users.models import User


class DemoUser(NamedTuple):
    username: str
    full_name: str
    role: Role
    unit_slug: str | None


_UNIT_ROLES: tuple[tuple[str, Role, str], ...] = (
    ("camat", Role.camat, "Camat"),
    ("sekcam", Role.sekcam, "Sekcam"),
    ("kasi", Role.kasi_trantib, "Kasi Trantib"),
    ("danru", Role.danru, "Danru"),
    ("anggota1", Role.anggota, "Anggota 1"),
    ("anggota2", Role.anggota, "Anggota 2"),
    ("anggota3", Role.anggota, "Anggota 3"),
)


def demo_users(units: list[Unit]) -> Iterator[DemoUser]:
    yield DemoUser("pimpinan", "Pimpinan Kota (demo)", Role.pimpinan, None)
    yield DemoUser("admin", "Administrator (demo)", Role.admin, None)
    for unit in units:
        for prefix, role, title in _UNIT_ROLES:
            yield DemoUser(f"{prefix}.{unit.slug}", f"{title} {unit.name} (demo)", role, unit.slug)


def seed_demo(session: Session, password: str) -> int:
    """Insert every demo user in one statement; returns how many were added."""
    units = list(session.exec(select(Unit).order_by(Unit.id)).scalars())  # type: ignore[arg-type, call-overload]
    by_slug = {u.slug: u.id for u in units}
    # One argon2 hash for all: they share the demo password, and 93 hashes would take seconds.
    password_hash = hash_password(password)
    now = clock.now()
    rows = [
        {
            "id": uuid.uuid4(),
            "username": d.username,
            "full_name": d.full_name,
            "role": str(d.role),
            "unit_id": by_slug[d.unit_slug] if d.unit_slug else None,
            "active": True,
            "is_demo": True,
            "password_hash": password_hash,
            "token_version": 0,
            "created_at": now,
            "updated_at": now,
        }
        for d in demo_users(units)
    ]
    session.execute(insert(User), rows)
    return len(rows)
