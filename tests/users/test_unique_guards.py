"""The database's unique indexes back the service's checks when two requests race.

The service checks first and answers 409; these tests skip the check (as the loser of a race
would have passed it) and assert the flush still ends in the right 409, not a 500.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.auth.roles import Role
from app.core.security import hash_password
from app.users.models import User
from app.users.service import RoleHolderExists, UsernameTaken, _flush_guarded


def _user(username: str, role: Role, unit_id: int | None) -> User:
    return User(username=username, full_name="Race", role=role, unit_id=unit_id, password_hash="x")


def test_duplicate_username_at_flush_is_username_taken(engine):
    with Session(engine) as session:
        with pytest.raises(UsernameTaken):
            _flush_guarded(session, _user("kasi.ciledug", Role.danru, 6))
        # The savepoint rolled back: the session is still usable.
        assert session.exec(select(User).where(User.username == "kasi.ciledug")).one()


def test_second_camat_at_flush_is_role_holder_exists(engine):
    with Session(engine) as session:
        with pytest.raises(RoleHolderExists):
            _flush_guarded(session, _user("camat2.ciledug", Role.camat, 6))
        session.rollback()


def test_inactive_holders_do_not_count(engine):
    with Session(engine) as session:
        old = session.exec(select(User).where(User.username == "camat.ciledug")).one()
        old.active = False
        session.add(old)
        session.flush()
        new = _user("camat2.ciledug", Role.camat, 6)
        new.password_hash = hash_password("irrelevant-password")
        _flush_guarded(session, new)
        # Flushed: the new camat holds the seat beside the inactive one.
        holders = session.exec(
            select(User.username, User.active).where(User.role == Role.camat, User.unit_id == 6)
        ).all()
        assert sorted(holders) == [("camat.ciledug", False), ("camat2.ciledug", True)]
        session.rollback()
