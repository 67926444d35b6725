"""PUT/GET/DELETE /push-subscriptions and GET /push/vapid-public-key, over HTTP."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.fixtures.push_service import Browser, PushService, b64url
from tests.push.conftest import SUBSCRIPTIONS

VAPID_KEY = "/api/v1/push/vapid-public-key"
TYPE = "https://trantib.tangerangkota.go.id/problems/"

pytestmark = pytest.mark.usefixtures("local_push")


def kind(response: Any) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"]).removeprefix(TYPE)


def listed(client: Any, headers: dict[str, str]) -> list[str]:
    response = client.get(SUBSCRIPTIONS, headers=headers)
    assert response.status_code == 200
    return [s["endpoint"] for s in response.json()]


class TestVapidKey:
    def test_is_the_public_half_of_the_configured_key(self, client, auth) -> None:
        private = serialization.load_pem_private_key(
            os.environ["TRANTIB_PUSH_VAPID_PRIVATE_KEY"].encode(), password=None
        )
        expected = private.public_key().public_bytes(  # type: ignore[union-attr]
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        response = client.get(VAPID_KEY, headers=auth("camat.ciledug"))
        assert response.status_code == 200
        key = response.json()["public_key"]
        assert base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)) == expected
        assert "=" not in key

    def test_anonymous_is_401(self, client) -> None:
        response = client.get(VAPID_KEY)
        assert response.status_code == 401
        assert kind(response) == "unauthorized"

    def test_push_switched_off_is_404(self, client, auth, push_settings) -> None:
        push_settings(enabled=False)
        response = client.get(VAPID_KEY, headers=auth("camat.ciledug"))
        assert response.status_code == 404
        assert kind(response) == "push-disabled"


class TestPut:
    def test_new_endpoint_is_201_then_200_and_listed(
        self, client, auth, push_service: PushService
    ) -> None:
        browser = push_service.browser()
        headers = auth("danru.ciledug")
        first = client.put(SUBSCRIPTIONS, json=browser.subscription(), headers=headers)
        assert first.status_code == 201, first.text
        assert first.headers["location"] == f"{SUBSCRIPTIONS}/{first.json()['id']}"
        again = client.put(SUBSCRIPTIONS, json=browser.subscription(), headers=headers)
        assert again.status_code == 200
        assert "location" not in again.headers
        assert again.json()["id"] == first.json()["id"]
        assert listed(client, headers) == [browser.endpoint]
        assert listed(client, auth("camat.ciledug")) == []

    def test_a_shared_phone_moves_to_whoever_subscribed_last(
        self, client, auth, push_service: PushService
    ) -> None:
        browser = push_service.browser()
        night, day = auth("anggota1.ciledug"), auth("anggota2.ciledug")
        assert client.put(SUBSCRIPTIONS, json=browser.subscription(), headers=night).is_success
        moved = client.put(SUBSCRIPTIONS, json=browser.subscription(), headers=day)
        assert moved.status_code == 201
        assert listed(client, night) == []
        assert listed(client, day) == [browser.endpoint]

    def test_at_most_ten_per_user_the_oldest_goes(
        self, client, auth, push_service: PushService
    ) -> None:
        headers = auth("kasi.ciledug")
        browsers = [push_service.browser() for _ in range(11)]
        for browser in browsers:
            response = client.put(SUBSCRIPTIONS, json=browser.subscription(), headers=headers)
            assert response.status_code == 201
        endpoints = listed(client, headers)
        assert len(endpoints) == 10
        assert browsers[0].endpoint not in endpoints
        assert browsers[-1].endpoint in endpoints

    def test_anonymous_is_401(self, client, push_service: PushService) -> None:
        response = client.put(SUBSCRIPTIONS, json=push_service.browser().subscription())
        assert response.status_code == 401
        assert kind(response) == "unauthorized"


def with_endpoint(browser: Browser, endpoint: str) -> dict[str, Any]:
    return {**browser.subscription(), "endpoint": endpoint}


def with_keys(browser: Browser, **keys: str) -> dict[str, Any]:
    body = browser.subscription()
    return {**body, "keys": {**body["keys"], **keys}}


class TestRefusals:
    def test_plain_http_is_refused_outside_tests(
        self, client, auth, push_service: PushService, push_settings
    ) -> None:
        push_settings(allow_http=False)
        response = client.put(
            SUBSCRIPTIONS, json=push_service.browser().subscription(), headers=auth("camat.ciledug")
        )
        assert response.status_code == 422
        assert kind(response) == "push-endpoint-not-allowed"
        assert response.json()["reason"] == "scheme"
        assert response.json()["field"] == "endpoint"

    @pytest.mark.parametrize(
        "endpoint",
        [
            "https://127.0.0.1/push/x",
            "https://10.1.2.3/push/x",
            "https://169.254.169.254/latest",
            "https://[::1]/push/x",
            "https://localhost/push/x",
        ],
    )
    def test_a_private_address_is_refused(
        self, client, auth, push_service: PushService, push_settings, endpoint: str
    ) -> None:
        push_settings(allow_private=False)
        body = with_endpoint(push_service.browser(), endpoint)
        response = client.put(SUBSCRIPTIONS, json=body, headers=auth("camat.ciledug"))
        assert response.status_code == 422
        assert kind(response) == "push-endpoint-not-allowed"
        assert response.json()["reason"] == "address"

    @pytest.mark.parametrize(
        "endpoint", ["not a url", "ftp://push.example.com/x", "https://", "/push/relative"]
    )
    def test_not_a_url_is_refused(
        self, client, auth, push_service: PushService, endpoint: str
    ) -> None:
        body = with_endpoint(push_service.browser(), endpoint)
        response = client.put(SUBSCRIPTIONS, json=body, headers=auth("camat.ciledug"))
        assert response.status_code == 422
        assert kind(response) == "validation-error"
        assert response.json()["errors"][0]["loc"][-1] == "endpoint"

    @pytest.mark.parametrize(
        ("keys", "field"),
        [
            ({"p256dh": "%%%not-base64%%%"}, "keys.p256dh"),
            ({"p256dh": b64url(b"\x04" + b"\x01" * 32)}, "keys.p256dh"),
            # 65 bytes in the right shape, but no point of the curve.
            ({"p256dh": b64url(b"\x04" + b"\x00" * 63 + b"\x07")}, "keys.p256dh"),
            ({"auth": b64url(b"short")}, "keys.auth"),
            ({"auth": "!!"}, "keys.auth"),
        ],
    )
    def test_bad_keys_are_refused(
        self, client, auth, push_service: PushService, keys: dict[str, str], field: str
    ) -> None:
        body = with_keys(push_service.browser(), **keys)
        response = client.put(SUBSCRIPTIONS, json=body, headers=auth("camat.ciledug"))
        assert response.status_code == 422, response.text
        assert kind(response) == "push-keys-invalid"
        assert response.json()["field"] == field

    def test_missing_keys_are_refused(self, client, auth, push_service: PushService) -> None:
        body = push_service.browser().subscription()
        del body["keys"]
        response = client.put(SUBSCRIPTIONS, json=body, headers=auth("camat.ciledug"))
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_push_switched_off_is_404(
        self, client, auth, push_service: PushService, push_settings
    ) -> None:
        push_settings(enabled=False)
        response = client.put(
            SUBSCRIPTIONS, json=push_service.browser().subscription(), headers=auth("camat.ciledug")
        )
        assert response.status_code == 404
        assert kind(response) == "push-disabled"


class TestDelete:
    def test_own_is_204_and_gone(self, client, auth, push_service: PushService, subscribe) -> None:
        created = subscribe("camat.ciledug", push_service.browser())
        headers = auth("camat.ciledug")
        response = client.delete(f"{SUBSCRIPTIONS}/{created['id']}", headers=headers)
        assert response.status_code == 204
        assert listed(client, headers) == []

    def test_another_users_is_404_and_kept(
        self, client, auth, push_service: PushService, subscribe
    ) -> None:
        browser = push_service.browser()
        created = subscribe("camat.ciledug", browser)
        response = client.delete(f"{SUBSCRIPTIONS}/{created['id']}", headers=auth("sekcam.ciledug"))
        assert response.status_code == 404
        assert kind(response) == "not-found"
        assert listed(client, auth("camat.ciledug")) == [browser.endpoint]

    def test_not_an_id_is_422(self, client, auth) -> None:
        response = client.delete(f"{SUBSCRIPTIONS}/nope", headers=auth("camat.ciledug"))
        assert response.status_code == 422
        assert kind(response) == "validation-error"

    def test_anonymous_is_401(self, client) -> None:
        response = client.delete(f"{SUBSCRIPTIONS}/00000000-0000-0000-0000-000000000000")
        assert response.status_code == 401


class TestDroppedWithTheTokens:
    """A phone handed on, a person gone or moved: nothing more reaches their old phones."""

    def test_logout(self, client, auth, push_service: PushService, subscribe) -> None:
        subscribe("danru.ciledug", push_service.browser())
        headers = auth("danru.ciledug")
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        fresh = {"Authorization": f"Bearer {self._token('danru.ciledug')}"}
        assert listed(client, fresh) == []

    def test_deactivation(self, client, auth, user_id, push_service: PushService, subscribe):  # type: ignore[no-untyped-def]
        subscribe("anggota1.ciledug", push_service.browser())
        patched = client.patch(
            f"/api/v1/users/{user_id('anggota1.ciledug')}",
            json={"active": False},
            headers=auth("admin"),
        )
        assert patched.status_code == 200
        assert self._count("anggota1.ciledug") == 0

    def test_password_reset(self, client, auth, user_id, push_service: PushService, subscribe):  # type: ignore[no-untyped-def]
        subscribe("sekcam.ciledug", push_service.browser())
        other = push_service.browser()
        subscribe("camat.ciledug", other)
        response = client.post(
            f"/api/v1/users/{user_id('sekcam.ciledug')}/password",
            json={"password": "another-long-passphrase-9"},
            headers=auth("admin"),
        )
        assert response.status_code == 204
        assert self._count("sekcam.ciledug") == 0
        assert self._count("camat.ciledug") == 1

    @pytest.fixture(autouse=True)
    def _tools(self, token_for, engine, user_id) -> None:  # type: ignore[no-untyped-def]
        self._token = token_for
        self._engine = engine
        self._user_id = user_id

    def _count(self, username: str) -> int:
        import uuid

        from sqlalchemy import func
        from sqlmodel import Session, select

        from app.push.models import PushSubscription

        with Session(self._engine) as session:
            return session.exec(
                select(func.count())
                .select_from(PushSubscription)
                .where(PushSubscription.user_id == uuid.UUID(self._user_id(username)))
            ).one()
