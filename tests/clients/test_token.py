"""POST /auth/token with grant_type=client_credentials: body or HTTP Basic credentials."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import pytest
from jose import jwt
from sqlmodel import Session, select

from app.auth.models import LoginThrottle
from app.auth.roles import Role, scopes_for
from app.auth.throttle import ADDRESS_FREE_ATTEMPTS, PAIR_FREE_ATTEMPTS
from app.clients.models import ServiceClient
from app.core.config import get_settings
from tests.clients.conftest import CLIENTS, READ_SCOPES, TOKEN_URL, basic, problem


def claims(token: str) -> dict[str, object]:
    return jwt.get_unverified_claims(token)


class TestIssue:
    @pytest.mark.parametrize("use_basic", [False, True], ids=["form", "basic"])
    def test_token_for_a_unit_client(self, register, request_token, engine, use_basic):
        created = register(unit="ciledug")
        response = request_token(
            created["client_id"], created["client_secret"], use_basic=use_basic
        )
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        body = response.json()
        assert "refresh_token" not in body
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == get_settings().access_token_minutes * 60
        assert body["scope"] == " ".join(sorted(READ_SCOPES))
        issued = claims(body["access_token"])
        assert issued["sub"] == created["client_id"]
        assert issued["cli"] is True
        assert issued["role"] == "service"
        assert issued["unit"] == "36.71.06"
        assert issued["scope"] == " ".join(sorted(READ_SCOPES))
        with Session(engine) as session:
            assert session.exec(select(ServiceClient.last_token_at)).one() is not None

    def test_city_wide_client_has_no_unit(self, register, request_token):
        created = register()
        response = request_token(created["client_id"], created["client_secret"])
        assert claims(response.json()["access_token"])["unit"] is None

    def test_basic_credentials_are_form_urlencoded_first(self, register, client):
        # RFC 6749 section 2.3.1: id and secret are form-urlencoded, then base64-encoded.
        created = register()
        raw = f"{quote_plus(created['client_id'])}:{quote_plus(created['client_secret'])}"
        header = {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
        response = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=header)
        assert response.status_code == 200, response.text

    def test_basic_with_the_same_client_id_in_the_body(self, register, client):
        created = register()
        response = client.post(
            TOKEN_URL,
            data={"grant_type": "client_credentials", "client_id": created["client_id"]},
            headers=basic(created["client_id"], created["client_secret"]),
        )
        assert response.status_code == 200, response.text

    def test_scope_narrows(self, register, request_token):
        created = register()
        response = request_token(
            created["client_id"], created["client_secret"], scope="sla:read incidents:read"
        )
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "incidents:read sla:read"
        assert claims(response.json()["access_token"])["scope"] == "incidents:read sla:read"

    @pytest.mark.parametrize(
        "scope", ["incidents:write", "incidents:read drafts:read", "users:admin", "nonsense"]
    )
    def test_scope_beyond_the_client_is_400(self, register, request_token, scope):
        created = register()
        response = request_token(created["client_id"], created["client_secret"], scope=scope)
        body = problem(response, 400, "invalid-scope")
        assert body["error"] == "invalid_scope"


class TestRefusals:
    def test_wrong_secret_unknown_and_disabled_answer_alike(
        self, client, auth, register, request_token
    ):
        created = register()
        disabled = register(name="Sistem Mati")
        client.patch(
            f"{CLIENTS}/{disabled['client_id']}", json={"active": False}, headers=auth("admin")
        )
        answers = [
            request_token(created["client_id"], "cs_wrong"),
            request_token("cli_unknown", created["client_secret"]),
            request_token(disabled["client_id"], disabled["client_secret"]),
            request_token(created["client_id"], created["client_secret"] + "x"),
            request_token(created["client_id"], "x" * 1000),
            request_token("c" * 1000, created["client_secret"]),
        ]
        details = set()
        for response in answers:
            body = problem(response, 401, "invalid-client")
            assert body["error"] == "invalid_client"
            assert response.headers["WWW-Authenticate"] == 'Basic realm="trantib"'
            details.add(body["detail"])
        assert len(details) == 1

    def test_wrong_secret_by_basic_is_401(self, register, request_token):
        created = register()
        response = request_token(created["client_id"], "cs_wrong", use_basic=True)
        problem(response, 401, "invalid-client")
        assert response.headers["WWW-Authenticate"] == 'Basic realm="trantib"'

    @pytest.mark.parametrize(
        "form",
        [
            {"grant_type": "client_credentials"},
            {"grant_type": "client_credentials", "client_id": "cli_x"},
            {"grant_type": "client_credentials", "client_secret": "cs_x"},
            {"grant_type": "client_credentials", "username": "admin", "password": "x"},
        ],
    )
    def test_missing_credentials_are_401(self, client, form):
        problem(client.post(TOKEN_URL, data=form), 401, "invalid-client")

    @pytest.mark.parametrize(
        "header",
        ["Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic "],
    )
    def test_malformed_basic_is_401(self, client, header):
        response = client.post(
            TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": header}
        )
        problem(response, 401, "invalid-client")

    def test_credentials_two_ways_is_400(self, client, register):
        created = register()
        response = client.post(
            TOKEN_URL,
            data={
                "grant_type": "client_credentials",
                "client_id": created["client_id"],
                "client_secret": created["client_secret"],
            },
            headers=basic(created["client_id"], created["client_secret"]),
        )
        body = problem(response, 400, "invalid-request")
        assert body["error"] == "invalid_request"

    def test_basic_and_another_client_id_in_the_body_is_400(self, client, register):
        created = register()
        response = client.post(
            TOKEN_URL,
            data={"grant_type": "client_credentials", "client_id": "cli_other"},
            headers=basic(created["client_id"], created["client_secret"]),
        )
        problem(response, 400, "invalid-request")

    def test_user_credentials_do_not_make_a_client(self, client):
        response = client.post(
            TOKEN_URL,
            data={
                "grant_type": "client_credentials",
                "client_id": "admin",
                "client_secret": get_settings().demo_password,
            },
        )
        problem(response, 401, "invalid-client")


class TestRateLimit:
    def test_failures_count_per_client_then_429(self, register, request_token, engine):
        created = register()
        for _ in range(PAIR_FREE_ATTEMPTS):
            problem(request_token(created["client_id"], "cs_wrong"), 401, "invalid-client")
        with Session(engine) as session:
            keys = set(session.exec(select(LoginThrottle.key)).all())
        name = "client:" + created["client_id"]
        assert keys == {f"pair|{name}|testclient", f"account|{name}", "address|testclient"}
        # Even the right secret waits its turn from there.
        response = request_token(created["client_id"], created["client_secret"])
        problem(response, 429, "rate-limited")
        assert int(response.headers["Retry-After"]) > 0

    def test_a_success_clears_the_client_failures(self, register, request_token, engine):
        created = register()
        for _ in range(PAIR_FREE_ATTEMPTS - 1):
            request_token(created["client_id"], "cs_wrong")
        granted = request_token(created["client_id"], created["client_secret"])
        assert granted.status_code == 200
        assert granted.json()["token_type"] == "bearer" and granted.json()["access_token"]
        with Session(engine) as session:
            pair = session.get(LoginThrottle, f"pair|client:{created['client_id']}|testclient")
        assert pair is not None and pair.attempts == 0 and pair.trusted_until is not None

    def test_failures_count_per_address_across_clients(self, register, request_token):
        created = register()
        for n in range(ADDRESS_FREE_ATTEMPTS):
            request_token(f"cli_guess{n}", "cs_wrong")
        response = request_token(created["client_id"], created["client_secret"])
        problem(response, 429, "rate-limited")

    def test_client_failures_do_not_lock_a_user_of_the_same_name(self, client, request_token):
        for _ in range(PAIR_FREE_ATTEMPTS):
            request_token("admin", "cs_wrong")
        form = {
            "grant_type": "password",
            "username": "admin",
            "password": get_settings().demo_password,
        }
        response = client.post(TOKEN_URL, data=form)
        assert response.status_code == 200
        assert response.json()["scope"].split() == scopes_for(Role.admin)
