"""POST /auth/token: the password grant, scopes, refusals and the login rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.auth.models import LoginFailure
from app.auth.roles import Role, scopes_for
from app.auth.service import ACCOUNT_FAILURE_LIMIT, ADDRESS_FAILURE_LIMIT
from app.core.config import get_settings
from app.core.security import PASSWORD_MAX
from app.users.models import User

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
TOKEN_URL = "/api/v1/auth/token"


def kind(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["type"].removeprefix(PROBLEMS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def deactivate(engine, username: str) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.active = False
        session.add(user)
        session.commit()


class TestPasswordGrant:
    def test_camat_logs_in_and_me_shows_role_unit_and_scopes(self, client, login):
        response = login("camat.ciledug")
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60
        assert body["scope"].split() == scopes_for(Role.camat)
        assert body["refresh_token"] and body["access_token"]
        assert response.headers["cache-control"] == "no-store"

        me = client.get("/api/v1/users/me", headers=bearer(body["access_token"]))
        assert me.status_code == 200
        profile = me.json()
        assert profile["username"] == "camat.ciledug"
        assert profile["role"] == "camat"
        assert profile["unit"] == {
            "id": 6,
            "code": "36.71.06",
            "name": "Ciledug",
            "slug": "ciledug",
        }
        assert profile["scopes"] == scopes_for(Role.camat)
        assert "password_hash" not in profile

    def test_username_is_matched_case_insensitively(self, login):
        assert login("  Camat.Ciledug ").status_code == 200

    def test_requested_scope_narrows_the_token(self, client, login):
        response = login("camat.ciledug", scope="units:read incidents:read users:admin")
        assert response.status_code == 200
        # users:admin is not the camat's: it is dropped, not granted.
        assert response.json()["scope"] == "incidents:read units:read"
        me = client.get("/api/v1/users/me", headers=bearer(response.json()["access_token"]))
        assert me.json()["scopes"] == ["incidents:read", "units:read"]

    def test_scope_the_role_lacks_entirely_is_invalid_scope(self, login):
        response = login("camat.ciledug", scope="users:admin")
        assert response.status_code == 400
        assert kind(response) == "invalid-scope"

    def test_unknown_scope_is_invalid_scope(self, login):
        response = login("camat.ciledug", scope="incidents:read everything:write")
        assert response.status_code == 400
        assert kind(response) == "invalid-scope"


class TestPasswordHashUpgrade:
    """Hashes made with older argon2 parameters are replaced at the next good login."""

    def stored_hash(self, engine, username: str) -> str:  # type: ignore[no-untyped-def]
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            assert user.password_hash is not None
            return user.password_hash

    def set_hash(self, engine, username: str, value: str) -> None:  # type: ignore[no-untyped-def]
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            user.password_hash = value
            session.add(user)
            session.commit()

    def test_old_parameters_are_rehashed_on_login(self, db, login):
        from argon2 import PasswordHasher

        old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(
            get_settings().demo_password
        )
        self.set_hash(db, "camat.ciledug", old)

        assert login("camat.ciledug").status_code == 200
        new = self.stored_hash(db, "camat.ciledug")
        assert new != old
        assert "$m=19456,t=2,p=1$" in new
        # The new hash is the same password: the next login still works and changes nothing.
        assert login("camat.ciledug").status_code == 200
        assert self.stored_hash(db, "camat.ciledug") == new

    def test_wrong_password_leaves_an_old_hash_alone(self, db, login):
        from argon2 import PasswordHasher

        old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("another-secret")
        self.set_hash(db, "camat.ciledug", old)

        response = login("camat.ciledug")
        assert response.status_code == 401
        assert kind(response) == "invalid-credentials"
        assert self.stored_hash(db, "camat.ciledug") == old


class TestRefusals:
    def test_wrong_password_and_unknown_user_answer_the_same(self, login):
        wrong = login("camat.ciledug", "not-the-password")
        unknown = login("nobody.ciledug", "not-the-password")
        assert wrong.status_code == unknown.status_code == 401
        assert kind(wrong) == kind(unknown) == "invalid-credentials"
        assert wrong.json() == unknown.json()
        assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]

    def test_inactive_user_with_the_right_password_gets_the_same_401(self, login, engine):
        deactivate(engine, "danru.benda")
        response = login("danru.benda")
        assert response.status_code == 401
        assert response.json() == login("nobody.benda", "whatever-password").json()

    def test_password_over_the_maximum_is_the_same_401(self, login):
        response = login("camat.ciledug", "x" * (PASSWORD_MAX + 1))
        assert response.status_code == 401
        assert kind(response) == "invalid-credentials"

    def test_overlong_username_is_the_same_401(self, login):
        response = login("u" * 500, "not-the-password")
        assert response.status_code == 401
        assert kind(response) == "invalid-credentials"

    @pytest.mark.parametrize("grant_type", ["authorization_code", "refresh_token", "PASSWORD"])
    def test_unsupported_grant_type(self, client, grant_type):
        response = client.post(
            TOKEN_URL, data={"grant_type": grant_type, "username": "a", "password": "b"}
        )
        assert response.status_code == 400
        assert kind(response) == "unsupported-grant-type"
        assert response.json()["error"] == "unsupported_grant_type"

    def test_missing_grant_type_is_422(self, client):
        response = client.post(TOKEN_URL, data={"username": "admin", "password": "x"})
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_missing_password_is_422(self, client):
        response = client.post(TOKEN_URL, data={"grant_type": "password", "username": "admin"})
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_json_body_is_not_a_form(self, client):
        response = client.post(
            TOKEN_URL, json={"grant_type": "password", "username": "admin", "password": "x"}
        )
        assert response.status_code == 422
        assert kind(response) == "validation-error"


class TestRateLimit:
    def test_account_is_limited_after_repeated_failures_even_with_the_right_password(self, login):
        for _ in range(ACCOUNT_FAILURE_LIMIT):
            assert login("kasi.pinang", "wrong-password!").status_code == 401
        blocked = login("kasi.pinang")
        assert blocked.status_code == 429
        assert kind(blocked) == "rate-limited"
        assert 0 < int(blocked.headers["retry-after"]) <= 300
        # Other accounts from the same address still log in.
        assert login("kasi.benda").status_code == 200

    def test_limit_counts_unknown_accounts_too(self, login):
        for _ in range(ACCOUNT_FAILURE_LIMIT):
            login("ghost", "wrong-password!")
        response = login("ghost", "wrong-password!")
        assert response.status_code == 429
        assert kind(response) == "rate-limited"

    def test_address_is_limited_across_accounts(self, login):
        for number in range(ADDRESS_FAILURE_LIMIT):
            assert login(f"guess{number}", "wrong-password!").status_code == 401
        response = login("camat.ciledug")
        assert response.status_code == 429
        assert kind(response) == "rate-limited"
        assert int(response.headers["retry-after"]) > 0

    def test_successful_login_clears_the_account_counter(self, login, engine):
        for _ in range(ACCOUNT_FAILURE_LIMIT - 1):
            login("sekcam.periuk", "wrong-password!")
        assert login("sekcam.periuk").status_code == 200
        with Session(engine) as session:
            left = session.exec(
                select(LoginFailure).where(LoginFailure.username == "sekcam.periuk")
            ).all()
        assert left == []
        for _ in range(ACCOUNT_FAILURE_LIMIT - 1):
            login("sekcam.periuk", "wrong-password!")
        # Four failures since the success: below the limit, so this is a plain 401.
        assert login("sekcam.periuk", "wrong-password!").status_code == 401

    def test_limit_lifts_when_the_window_passes(self, login, move_clock):
        for _ in range(ACCOUNT_FAILURE_LIMIT):
            login("danru.periuk", "wrong-password!")
        assert login("danru.periuk").status_code == 429
        move_clock(timedelta(minutes=5, seconds=1))
        assert login("danru.periuk").status_code == 200

    def test_failures_are_kept_in_the_database(self, login, engine):
        login("anggota1.periuk", "wrong-password!")
        with Session(engine) as session:
            rows = session.exec(select(LoginFailure)).all()
        assert [(r.username, r.address) for r in rows] == [("anggota1.periuk", "testclient")]
