"""API2:2023 Broken Authentication.

tests/auth/ covers the token forgeries under the default HS256 configuration (alg none, another
key, edited payload, exp/nbf/iat, unknown kid, wrong typ/aud/iss, oversized, revoked) and the
login refusals. Added here: the same service configured for RS256, where the classic attack
is an HS256 token MACed with the public key; forged kid and nbf under RS256; and that a login
tells an unknown user from a wrong password neither by its answer nor by its time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

from app.core import clock
from app.core.config import get_settings
from tests.security.conftest import API, problem

ME = f"{API}/users/me"
TOKEN = f"{API}/auth/token"


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return _pem_pair()


@pytest.fixture
def rs256(
    settings_env: Callable[..., None], rsa_keys: tuple[str, str]
) -> Iterator[tuple[str, str]]:
    """The service configured for RS256 for one test; HS256 again afterwards."""
    private, public = rsa_keys
    settings_env(jwt_algorithm="RS256", jwt_private_key=private, jwt_public_key=public)
    assert get_settings().jwt_algorithm == "RS256"
    yield private, public


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(subject: str, **changes: Any) -> dict[str, Any]:
    settings = get_settings()
    now = int(clock.now().timestamp())
    base: dict[str, Any] = {
        "sub": subject,
        "role": "camat",
        "unit": "36.71.06",
        "scope": "incidents:read units:read",
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
    return base


def hs256_by_hand(payload: dict[str, Any], key: bytes, **header: Any) -> str:
    """HS256 signed without jose, which refuses a PEM key as an HMAC secret: an attacker's
    tooling does not."""
    head = {"alg": "HS256", "typ": "at+jwt", "kid": get_settings().jwt_key_id, **header}
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def rs256_token(private: str, payload: dict[str, Any], **header: Any) -> str:
    head = {"typ": "at+jwt", "kid": get_settings().jwt_key_id, **header}
    return jwt.encode(payload, private, algorithm="RS256", headers=head)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: Any) -> None:
    problem(response, 401, "invalid-token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


class TestRS256:
    def test_tokens_issued_under_rs256_work(self, client, login, rs256) -> None:
        token = login("camat.ciledug").json()["access_token"]
        assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == "RS256"
        response = client.get(ME, headers=bearer(token))
        assert response.status_code == 200, response.text

    def test_a_hand_made_rs256_token_is_the_control(self, client, user_id, rs256) -> None:
        private, _ = rs256
        token = rs256_token(private, claims(user_id("camat.ciledug")))
        assert client.get(ME, headers=bearer(token)).status_code == 200

    def test_hs256_macd_with_the_public_key_is_refused(self, client, user_id, rs256) -> None:
        _, public = rs256
        der = serialization.load_pem_public_key(public.encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for key in (public.encode(), public.strip().encode(), der):
            token = hs256_by_hand(claims(user_id("camat.ciledug")), key)
            assert_refused(client.get(ME, headers=bearer(token)))

    def test_the_old_hmac_key_no_longer_signs(self, client, user_id, rs256) -> None:
        token = hs256_by_hand(
            claims(user_id("camat.ciledug")), get_settings().jwt_signing_key.encode()
        )
        assert_refused(client.get(ME, headers=bearer(token)))

    def test_another_rsa_key_is_refused(self, client, user_id, rs256) -> None:
        stranger, _ = _pem_pair()
        token = rs256_token(stranger, claims(user_id("camat.ciledug")))
        assert_refused(client.get(ME, headers=bearer(token)))

    def test_unknown_kid_is_refused(self, client, user_id, rs256) -> None:
        private, _ = rs256
        token = rs256_token(private, claims(user_id("camat.ciledug")), kid="trantib-2")
        assert_refused(client.get(ME, headers=bearer(token)))

    def test_odd_kids_are_refused(self, client, user_id, rs256) -> None:
        private, _ = rs256
        for kid in (None, "", "../../../dev/null", "trantib-1' OR '1'='1", ["trantib-1"]):
            token = rs256_token(private, claims(user_id("camat.ciledug")), kid=kid)
            assert_refused(client.get(ME, headers=bearer(token)))

    def test_not_yet_valid_is_refused(self, client, user_id, rs256) -> None:
        private, _ = rs256
        later = int(clock.now().timestamp()) + 300
        token = rs256_token(private, claims(user_id("camat.ciledug"), nbf=later))
        assert_refused(client.get(ME, headers=bearer(token)))

    def test_alg_none_is_refused(self, client, user_id, rs256) -> None:
        head = {"alg": "none", "typ": "at+jwt", "kid": get_settings().jwt_key_id}
        body = claims(user_id("camat.ciledug"))
        token = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}."
        assert_refused(client.get(ME, headers=bearer(token)))


def test_hs256_is_configured_again_after_those_tests(client, login) -> None:
    assert get_settings().jwt_algorithm == "HS256"
    token = login("camat.ciledug").json()["access_token"]
    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_an_rs256_token_is_refused_while_hs256_is_configured(client, user_id, rsa_keys) -> None:
    private, _ = rsa_keys
    token = rs256_token(private, claims(user_id("camat.ciledug")))
    assert_refused(client.get(ME, headers=bearer(token)))


def test_nbf_within_the_leeway_is_accepted_and_beyond_it_refused(client, user_id) -> None:
    now = int(clock.now().timestamp())
    key = get_settings().jwt_signing_key
    head = {"typ": "at+jwt", "kid": get_settings().jwt_key_id}
    subject = user_id("camat.ciledug")
    near = jwt.encode(claims(subject, nbf=now + 10), key, algorithm="HS256", headers=head)
    far = jwt.encode(claims(subject, nbf=now + 120), key, algorithm="HS256", headers=head)
    assert client.get(ME, headers=bearer(near)).status_code == 200
    assert_refused(client.get(ME, headers=bearer(far)))


# -- no user enumeration ----------------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(login) -> None:
    answers = [
        login("camat.ciledug", "not-the-password"),
        login("camat.tidakada", "not-the-password"),
        login("x" * 300, "not-the-password"),
    ]
    bodies = {json.dumps(r.json(), sort_keys=True) for r in answers}
    assert len(bodies) == 1, bodies
    for response in answers:
        problem(response, 401, "invalid-credentials")
    headers = [
        {k: v for k, v in r.headers.items() if k not in ("content-length", "date")} for r in answers
    ]
    assert headers[0] == headers[1] == headers[2]


def _median_login_seconds(login: Callable[..., Any], usernames: list[str]) -> float:
    times = []
    for username in usernames:
        started = time.perf_counter()
        response = login(username, "not-the-password")
        times.append(time.perf_counter() - started)
        assert response.status_code == 401, response.text
    return statistics.median(times)


def test_unknown_user_and_wrong_password_take_about_as_long(login) -> None:
    # Another account each time, so that none reaches its failure limit, and fewer failures
    # than the per-address limit. A loose bound (argon2 is slow here, so few samples): an
    # unknown user must not skip the password hash.
    slugs = ["ciledug", "benda", "cipondoh"]
    wrong = _median_login_seconds(login, [f"camat.{slug}" for slug in slugs])
    unknown = _median_login_seconds(login, [f"tidakada.{slug}" for slug in slugs])
    assert unknown < 3 * wrong and wrong < 3 * unknown, (unknown, wrong)


@pytest.fixture
def login(client) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    def post(username: str, password: str | None = None) -> Any:
        form = {
            "grant_type": "password",
            "username": username,
            "password": get_settings().demo_password if password is None else password,
        }
        return client.post(TOKEN, data=form)

    return post
