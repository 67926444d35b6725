"""POST /auth/token: the password grant, scopes, refusals and the login rate limit."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.auth.models import LoginThrottle
from app.auth.roles import Role, scopes_for
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

    def test_username_is_matched_case_insensitively(self, client, login):
        response = login("  Camat.Ciledug ")
        assert response.status_code == 200
        me = client.get("/api/v1/users/me", headers=bearer(response.json()["access_token"]))
        assert me.json()["username"] == "camat.ciledug"

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


class TestOAuthErrorShape:
    """Every refusal of the token endpoint is a problem document that also carries RFC 6749
    section 5.2's `error` and `error_description`, which Swagger UI shows on a failed login."""

    @pytest.mark.parametrize(
        ("form", "status", "problem", "error"),
        [
            (
                {"grant_type": "password", "username": "camat.ciledug", "password": "salah-sekali"},
                401,
                "invalid-credentials",
                "invalid_grant",
            ),
            (
                {
                    "grant_type": "password",
                    "username": "nobody.ciledug",
                    "password": "salah-sekali",
                },
                401,
                "invalid-credentials",
                "invalid_grant",
            ),
            (
                {"grant_type": "authorization_code", "username": "a", "password": "b"},
                400,
                "unsupported-grant-type",
                "unsupported_grant_type",
            ),
            ({"username": "admin", "password": "x"}, 422, "validation-error", "invalid_request"),
            (
                {"grant_type": "password", "username": "admin"},
                422,
                "validation-error",
                "invalid_request",
            ),
            (
                {"grant_type": "password", "username": "admin", "password": "x", "scope": "nope:x"},
                400,
                "invalid-scope",
                "invalid_scope",
            ),
            (
                {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
                401,
                "invalid-client",
                "invalid_client",
            ),
        ],
    )
    def test_refusal_names_the_oauth2_error_and_its_reason(
        self, client, form, status, problem, error
    ):
        response = client.post(TOKEN_URL, data=form)
        assert response.status_code == status, response.text
        assert kind(response) == problem
        body = response.json()
        assert body["error"] == error
        assert body["error_description"] == body["detail"] and body["detail"]

    def test_a_json_body_is_invalid_request_with_the_field_errors(self, client):
        response = client.post(TOKEN_URL, json={"grant_type": "password"})
        assert response.status_code == 422
        body = response.json()
        assert (body["error"], kind(response)) == ("invalid_request", "validation-error")
        assert {e["field"] for e in body["errors"]} >= {"grant_type"}


WRONG = "wrong-password!"
OWNER_ADDRESS = "10.0.0.7"
ATTACKER = "203.0.113.66"


def me_of(client, response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return client.get("/api/v1/users/me", headers=bearer(token)).json()["username"]


def assert_throttled(response, retry_after: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.text
    assert kind(response) == "rate-limited"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.json()["error_description"].startswith("Too many failed logins")
    assert int(response.headers["retry-after"]) == pytest.approx(retry_after, abs=2)


class TestLoginThrottle:
    """5 attempts per account and address, 10 per account from new addresses, 20 per address
    for accounts new to it; then a delay of 30 s that doubles. A pair that has logged in
    counts only its own attempts."""

    def test_an_account_and_address_pair_waits_after_five_attempts(self, login_from):
        for _ in range(5):
            assert login_from(ATTACKER, "kasi.pinang", WRONG).status_code == 401
        assert_throttled(login_from(ATTACKER, "kasi.pinang"), 30)
        # The refused attempts were not counted: the wait does not grow with them.
        assert_throttled(login_from(ATTACKER, "kasi.pinang", WRONG), 30)

    def test_the_wait_doubles_with_each_attempt_let_through(self, login_from, move_clock):
        for _ in range(5):
            login_from(ATTACKER, "kasi.pinang", WRONG)
        move_clock(timedelta(seconds=31))
        assert login_from(ATTACKER, "kasi.pinang", WRONG).status_code == 401
        assert_throttled(login_from(ATTACKER, "kasi.pinang", WRONG), 60)

    def test_failures_from_elsewhere_never_lock_the_owner_out(self, client, login_from):
        assert me_of(client, login_from(OWNER_ADDRESS, "camat.benda")) == "camat.benda"
        # One address, then many: the account's own streak passes its 10 free attempts.
        for _ in range(6):
            login_from(ATTACKER, "camat.benda", WRONG)
        for n in range(12):
            login_from(f"198.51.100.{n}", "camat.benda", WRONG)
        assert_throttled(login_from("198.51.100.99", "camat.benda"), 30)
        assert me_of(client, login_from(OWNER_ADDRESS, "camat.benda")) == "camat.benda"

    def test_five_failures_elsewhere_leave_the_owner_a_new_address(self, client, login_from):
        for _ in range(5):
            assert login_from(ATTACKER, "camat.benda", WRONG).status_code == 401
        assert me_of(client, login_from(OWNER_ADDRESS, "camat.benda")) == "camat.benda"

    def test_guesses_from_an_office_address_spare_its_users(self, client, login_from):
        office = "10.20.30.40"
        assert me_of(client, login_from(office, "sekcam.periuk")) == "sekcam.periuk"
        for number in range(20):
            assert login_from(office, f"guess{number}", WRONG).status_code == 401
        # Someone who never logged in from there waits; who did, does not.
        assert_throttled(login_from(office, "camat.periuk"), 30)
        assert me_of(client, login_from(office, "sekcam.periuk")) == "sekcam.periuk"

    def test_parallel_guesses_get_five_password_checks(self, login_from):
        login_from(ATTACKER, "ghost", WRONG)  # the client for this address, made once
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(
                pool.map(
                    lambda _: login_from(ATTACKER, "danru.pinang", WRONG).status_code, range(40)
                )
            )
        assert Counter(statuses) == {401: 5, 429: 35}

    def test_unknown_accounts_are_throttled_too(self, login_from):
        for _ in range(5):
            login_from(ATTACKER, "ghost", WRONG)
        assert_throttled(login_from(ATTACKER, "ghost", WRONG), 30)

    def test_a_streak_is_forgotten_fifteen_minutes_after_its_last_attempt(
        self, login_from, move_clock
    ):
        for _ in range(5):
            login_from(ATTACKER, "danru.periuk", WRONG)
        assert_throttled(login_from(ATTACKER, "danru.periuk"), 30)
        move_clock(timedelta(minutes=15, seconds=1))
        # (The token is not used: python-jose checks nbf against the unmoved system clock.)
        response = login_from(ATTACKER, "danru.periuk")
        assert response.status_code == 200
        assert response.json()["scope"].split() == scopes_for(Role.danru)

    def test_a_success_ends_the_pair_streak_and_trusts_it(self, client, login_from, engine):
        for _ in range(4):
            login_from(OWNER_ADDRESS, "sekcam.periuk", WRONG)
        assert me_of(client, login_from(OWNER_ADDRESS, "sekcam.periuk")) == "sekcam.periuk"
        with Session(engine) as session:
            pair = session.get(LoginThrottle, f"pair|sekcam.periuk|{OWNER_ADDRESS}")
            account = session.get(LoginThrottle, "account|sekcam.periuk")
        assert pair is not None and pair.attempts == 0 and pair.trusted_until is not None
        assert account is not None and account.attempts == 4
        for _ in range(5):
            assert login_from(OWNER_ADDRESS, "sekcam.periuk", WRONG).status_code == 401
        assert_throttled(login_from(OWNER_ADDRESS, "sekcam.periuk", WRONG), 30)
