"""Bearer tokens as an attacker would build them: each must be refused with a 401 problem.

The forged tokens are made with python-jose directly, not with the service's own helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from jose import jwt

from app.auth.roles import Role, scopes_for
from app.core import clock
from app.core.config import get_settings

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
ME = "/api/v1/users/me"


def kind(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["type"].removeprefix(PROBLEMS)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(subject: str, **changes: Any) -> dict[str, Any]:
    settings = get_settings()
    now = int(clock.now().timestamp())
    base: dict[str, Any] = {
        "sub": subject,
        "role": "camat",
        "unit": "36.71.06",
        "scope": " ".join(scopes_for(Role.camat)),
        "ver": 0,
        "cli": False,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(
    payload: dict[str, Any],
    *,
    key: str | None = None,
    algorithm: str = "HS256",
    headers: dict[str, Any] | None = None,
) -> str:
    settings = get_settings()
    header = {"typ": "at+jwt", "kid": settings.jwt_key_id}
    header.update(headers or {})
    return jwt.encode(payload, key or settings.jwt_signing_key, algorithm=algorithm, headers=header)


def assert_invalid_token(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert kind(response) == "invalid-token"
    assert response.headers["www-authenticate"].startswith('Bearer realm="trantib"')
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.fixture
def camat_id(user_id: Callable[[str], str]) -> str:
    return user_id("camat.ciledug")


def test_a_well_formed_forgery_with_the_real_key_is_accepted(client, camat_id):
    # The control case: every refusal below differs from this token in one way only.
    response = client.get(ME, headers={"Authorization": f"Bearer {sign(claims(camat_id))}"})
    assert response.status_code == 200
    assert response.json()["username"] == "camat.ciledug"


def test_a_person_holds_no_scope_beyond_their_role(client, user_id, auth):
    # Signed with the real key: only the role table stands between the claim and the scope.
    anggota = user_id("anggota1.ciledug")
    forged = sign(claims(anggota, role="anggota", scope="users:admin units:read"))
    body = {
        "username": "admin2",
        "full_name": "Admin Dua",
        "role": "admin",
        "password": "a-long-enough-password",
    }
    headers = {"Authorization": f"Bearer {forged}"}
    response = client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 403, response.text
    assert kind(response) == "insufficient-scope"
    # The scopes of the role that the token also claims still work.
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    listed = client.get("/api/v1/users", params={"q": "admin2"}, headers=auth("admin"))
    assert "admin2" not in [user["username"] for user in listed.json()["items"]]


def test_a_token_signed_with_the_once_published_default_key_is_refused(client, camat_id):
    token = sign(claims(camat_id), key="change-me-development-signing-key-32b")
    assert_invalid_token(client.get(ME, headers={"Authorization": f"Bearer {token}"}))


def _alg_none(subject: str) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": get_settings().jwt_key_id}
    return f"{b64(header)}.{b64(claims(subject))}."


def _without_typ(subject: str) -> str:
    # jose always writes a typ header, so this one is signed by hand.
    settings = get_settings()
    signing_input = f"{b64({'alg': 'HS256', 'kid': settings.jwt_key_id})}.{b64(claims(subject))}"
    mac = hmac.new(settings.jwt_signing_key.encode(), signing_input.encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    return f"{signing_input}.{signature}"


def _edited_payload(subject: str) -> str:
    token = sign(claims(subject, role="camat"))
    head, _, signature = token.split(".")
    escalated = claims(subject, role="admin", scope="users:admin")
    return f"{head}.{b64(escalated)}.{signature}"


def _oversized(subject: str) -> str:
    return sign(claims(subject, padding="x" * 4096))


FORGERIES: dict[str, Callable[[str], str]] = {
    "alg none": _alg_none,
    "HS512 with the right key": lambda s: sign(claims(s), algorithm="HS512"),
    "HS256 with another key": lambda s: sign(claims(s), key="another-key-" + "k" * 32),
    "typ missing": _without_typ,
    "typ JWT": lambda s: sign(claims(s), headers={"typ": "JWT"}),
    "wrong aud": lambda s: sign(claims(s, aud="some-other-api")),
    "aud missing": lambda s: sign(claims(s, aud=None)),
    "wrong iss": lambda s: sign(claims(s, iss="https://evil.example")),
    "payload edited": _edited_payload,
    "exp passed": lambda s: sign(
        claims(s, exp=int(clock.now().timestamp()) - 120, iat=int(clock.now().timestamp()) - 900)
    ),
    "exp missing": lambda s: sign(claims(s, exp=None)),
    "exp a string": lambda s: sign(claims(s, exp=str(int(clock.now().timestamp()) + 600))),
    "exp a float": lambda s: sign(claims(s, exp=clock.now().timestamp() + 600.5)),
    "exp in the year 3000": lambda s: sign(claims(s, exp=32503680000)),
    "exp beyond the lifetime": lambda s: sign(
        claims(s, exp=int(clock.now().timestamp()) + 15 * 60 + 120)
    ),
    "nbf in the future": lambda s: sign(claims(s, nbf=int(clock.now().timestamp()) + 600)),
    "iat in the future": lambda s: sign(claims(s, iat=int(clock.now().timestamp()) + 600)),
    "unknown kid": lambda s: sign(claims(s), headers={"kid": "trantib-999"}),
    "over 4 KB": _oversized,
    "wrong token version": lambda s: sign(claims(s, ver=7)),
    "role differs from the account": lambda s: sign(claims(s, role="admin")),
    "unknown subject": lambda s: sign(claims(str(uuid.uuid4()))),
    "subject not a uuid": lambda s: sign(claims("camat.ciledug")),
    "junk after the signature": lambda s: sign(claims(s)) + "\u00fc",
    "not a JWT": lambda s: "not-a-token",
    "bad header json": lambda s: "W10.e30.c2ln",
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_token_is_refused(client, camat_id, forge):
    token = forge(camat_id)
    # httpx refuses non-ASCII header values; send the raw bytes as a client could.
    headers = {"Authorization": f"Bearer {token}".encode()}
    assert_invalid_token(client.get(ME, headers=headers))


def test_missing_token_is_401_with_challenge(client):
    response = client.get(ME)
    assert response.status_code == 401
    assert kind(response) == "unauthorized"
    assert response.headers["www-authenticate"] == 'Bearer realm="trantib"'


def test_other_auth_scheme_is_401(client):
    response = client.get(ME, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert response.status_code == 401
    assert kind(response) == "unauthorized"


def test_issued_token_expires(client, login, move_clock):
    token = login("camat.ciledug").json()["access_token"]
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    move_clock(timedelta(minutes=15, seconds=31))
    assert_invalid_token(client.get(ME, headers={"Authorization": f"Bearer {token}"}))


def test_revoked_jti_is_refused_after_logout(client, login, engine):
    from sqlmodel import Session

    from app.auth.models import RevokedToken

    token = login("camat.ciledug").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    jti = jwt.get_unverified_claims(token)["jti"]
    with Session(engine) as session:
        assert session.get(RevokedToken, jti) is not None
    assert_invalid_token(client.get(ME, headers=headers))


def test_missing_scope_is_403_insufficient_scope(client, auth):
    response = client.get("/api/v1/users", headers=auth("camat.ciledug"))
    assert response.status_code == 403
    assert kind(response) == "insufficient-scope"
    assert response.json()["required_scopes"] == ["users:admin"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_narrowed_token_lacks_the_dropped_scope(client, login):
    token = login("admin", scope="units:read").json()["access_token"]
    response = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert kind(response) == "insufficient-scope"


def test_deactivated_users_live_token_stops(client, auth, user_id):
    headers = auth("anggota1.ciledug")
    assert client.get(ME, headers=headers).status_code == 200
    patched = client.patch(
        f"/api/v1/users/{user_id('anggota1.ciledug')}",
        json={"active": False},
        headers=auth("admin"),
    )
    assert patched.status_code == 200
    assert_invalid_token(client.get(ME, headers=headers))


def test_role_change_kills_live_tokens(client, auth, user_id):
    headers = auth("anggota2.ciledug")
    assert client.get(ME, headers=headers).status_code == 200
    patched = client.patch(
        f"/api/v1/users/{user_id('anggota2.ciledug')}",
        json={"role": "danru"},
        headers=auth("admin"),
    )
    assert patched.status_code == 200
    assert_invalid_token(client.get(ME, headers=headers))


def test_unit_change_kills_live_tokens(client, auth, user_id):
    headers = auth("anggota3.ciledug")
    patched = client.patch(
        f"/api/v1/users/{user_id('anggota3.ciledug')}", json={"unit_id": 1}, headers=auth("admin")
    )
    assert patched.status_code == 200
    assert_invalid_token(client.get(ME, headers=headers))


def test_password_reset_kills_live_tokens(client, auth, user_id):
    headers = auth("danru.ciledug")
    reset = client.post(
        f"/api/v1/users/{user_id('danru.ciledug')}/password",
        json={"password": "a-brand-new-password"},
        headers=auth("admin"),
    )
    assert reset.status_code == 204
    assert_invalid_token(client.get(ME, headers=headers))


def test_an_expired_session_says_so_in_both_languages(client, login, move_clock):
    token = login("camat.ciledug").json()["access_token"]
    move_clock(timedelta(minutes=15, seconds=31))
    headers = {"Authorization": f"Bearer {token}"}
    english = client.get(ME, headers=headers)
    assert_invalid_token(english)
    assert english.json()["reason"] == "expired"
    assert english.json()["detail"] == "The session has expired; log in again"
    indonesian = client.get(ME, headers={**headers, "Accept-Language": "id-ID,id;q=0.9"})
    assert_invalid_token(indonesian)
    assert indonesian.headers["content-language"] == "id"
    assert indonesian.json()["detail"] == "Sesi Anda telah berakhir; silakan masuk lagi."
