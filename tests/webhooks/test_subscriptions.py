"""Subscriptions API: who may call it, URL rules (SSRF), the secret shown once, CRUD."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.core.errors import TYPE_BASE
from tests.webhooks.conftest import SUBSCRIPTIONS

PUBLIC_URL = "https://8.8.8.8/hooks/trantib"


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == TYPE_BASE + kind, body
    return body


def new_body(**fields: Any) -> dict[str, Any]:
    return {"url": PUBLIC_URL, "event_types": ["step.completed"], **fields}


ENDPOINTS = [
    ("post", SUBSCRIPTIONS, new_body()),
    ("get", SUBSCRIPTIONS, None),
    ("get", f"{SUBSCRIPTIONS}/{uuid.uuid4()}", None),
    ("patch", f"{SUBSCRIPTIONS}/{uuid.uuid4()}", {"active": False}),
    ("delete", f"{SUBSCRIPTIONS}/{uuid.uuid4()}", None),
    ("post", f"{SUBSCRIPTIONS}/{uuid.uuid4()}/rotate-secret", None),
    ("get", f"{SUBSCRIPTIONS}/{uuid.uuid4()}/deliveries", None),
    ("get", f"/api/v1/webhooks/deliveries/{uuid.uuid4()}", None),
    ("post", f"/api/v1/webhooks/deliveries/{uuid.uuid4()}/replay", None),
]


def call(client, method: str, path: str, body: Any, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    if body is None:
        return client.request(method, path, headers=headers)
    return client.request(method, path, json=body, headers=headers)


class TestAccess:
    def test_anonymous_is_401(self, client) -> None:
        for method, path, body in ENDPOINTS:
            problem(call(client, method, path, body), 401, "unauthorized")

    @pytest.mark.parametrize("user", ["camat.ciledug", "kasi.ciledug", "pimpinan"])
    def test_non_admin_is_403(self, client, auth, user: str) -> None:
        for method, path, body in ENDPOINTS:
            found = problem(call(client, method, path, body, auth(user)), 403, "insufficient-scope")
            assert found["required_scopes"] == ["webhooks:admin"]

    def test_admin_token_carries_the_scope(self, client, admin) -> None:
        me = client.get("/api/v1/users/me", headers=admin).json()
        assert "webhooks:admin" in me["scopes"]

    def test_unknown_ids_are_404(self, client, admin) -> None:
        for method, path, body in ENDPOINTS[2:]:
            problem(call(client, method, path, body, admin), 404, "not-found")


class TestCreate:
    def test_created_with_a_secret_shown_once(self, client, admin, user_id) -> None:
        response = client.post(
            SUBSCRIPTIONS,
            json=new_body(
                event_types=["step.completed", "incident.created", "step.completed"],
                description="Dashboard Pemkot",
                unit_id=6,
            ),
            headers=admin,
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["location"] == f"{SUBSCRIPTIONS}/{created['id']}"
        assert created["url"] == PUBLIC_URL
        assert created["event_types"] == ["incident.created", "step.completed"]
        assert created["unit_id"] == 6
        assert created["active"] is True
        assert created["created_by"] == user_id("admin")
        assert created["previous_secret_expires_at"] is None
        secret = created["secret"]
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24

        one = client.get(f"{SUBSCRIPTIONS}/{created['id']}", headers=admin)
        listed = client.get(SUBSCRIPTIONS, headers=admin)
        for response in (one, listed):
            assert response.status_code == 200
            assert "secret" not in response.text.replace("previous_secret_expires_at", "")
            assert secret.removeprefix("whsec_") not in response.text
        assert {k: v for k, v in created.items() if k != "secret"} == one.json()
        assert listed.json()["total"] == 1

    def test_every_secret_differs(self, subscribe) -> None:
        secrets = {subscribe(PUBLIC_URL)["secret"] for _ in range(3)}
        assert len(secrets) == 3

    @pytest.mark.parametrize(
        "body",
        [
            new_body(event_types=[]),
            new_body(event_types=["incident.exploded"]),
            new_body(event_types="step.completed"),
            new_body(url="ftp://8.8.8.8/hook"),
            new_body(url="not a url"),
            new_body(url="https:///no-host"),
            new_body(url="https://user:pw@8.8.8.8/hook"),
            new_body(url="https://8.8.8.8/hook#frag"),
            new_body(url="https://8.8.8.8:99999/hook"),
            new_body(url="https://8.8.8.8/" + "a" * 2100),
            new_body(description="x" * 501),
            new_body(secret="whsec_Y2hvc2VuIGJ5IHRoZSBjYWxsZXI="),
            new_body(unit_id="ciledug"),
            {"event_types": ["step.completed"]},
        ],
    )
    def test_bad_bodies_are_422(self, client, admin, body: dict[str, Any]) -> None:
        problem(client.post(SUBSCRIPTIONS, json=body, headers=admin), 422, "validation-error")

    def test_unknown_unit_is_422(self, client, admin) -> None:
        found = problem(
            client.post(SUBSCRIPTIONS, json=new_body(unit_id=99), headers=admin),
            422,
            "unknown-unit",
        )
        assert found["field"] == "unit_id"


REFUSED_URLS = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.1.2.3:8443/hook", "loopback"),
    ("https://10.0.0.5/hook", "private"),
    ("https://172.16.4.1/hook", "private"),
    ("https://192.168.1.10/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::1]/hook", "loopback"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://[fd12:3456::1]/hook", "private"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://[::]/hook", "unspecified"),
    ("https://localhost/hook", "loopback"),
    ("https://LocalHost:8443/hook", "loopback"),
    ("https://2130706433/hook", "loopback"),
]


class TestUrlRules:
    @pytest.mark.parametrize(("url", "why"), REFUSED_URLS)
    def test_non_public_addresses_are_refused(self, client, admin, url: str, why: str) -> None:
        found = problem(
            client.post(SUBSCRIPTIONS, json=new_body(url=url), headers=admin),
            422,
            "webhook-url-not-allowed",
        )
        assert found["reason"] == "address"
        assert f"a {why} address" in found["detail"]

    def test_http_is_refused_unless_allowed(self, client, admin, webhook_settings) -> None:
        found = problem(
            client.post(SUBSCRIPTIONS, json=new_body(url="http://8.8.8.8/hook"), headers=admin),
            422,
            "webhook-url-not-allowed",
        )
        assert found["reason"] == "scheme"
        webhook_settings(allow_http=True)
        response = client.post(SUBSCRIPTIONS, json=new_body(url="http://8.8.8.8/h"), headers=admin)
        assert response.status_code == 201, response.text

    def test_private_addresses_pass_when_allowed(self, client, admin, webhook_settings) -> None:
        webhook_settings(allow_private=True)
        for url in ("https://localhost/hook", "https://10.0.0.5/hook", "https://[::1]:8443/h"):
            response = client.post(SUBSCRIPTIONS, json=new_body(url=url), headers=admin)
            assert response.status_code == 201, response.text

    def test_a_name_that_does_not_resolve_is_refused(self, client, admin) -> None:
        found = problem(
            client.post(
                SUBSCRIPTIONS, json=new_body(url="https://hooks.example.invalid/"), headers=admin
            ),
            422,
            "webhook-url-not-allowed",
        )
        assert found["reason"] == "unresolvable"

    def test_nothing_is_stored_on_refusal(self, client, admin) -> None:
        client.post(SUBSCRIPTIONS, json=new_body(url="https://127.0.0.1/"), headers=admin)
        assert client.get(SUBSCRIPTIONS, headers=admin).json()["total"] == 0


class TestChange:
    def test_patch_changes_only_what_is_sent(self, client, admin, subscribe) -> None:
        created = subscribe(PUBLIC_URL, description="lama")
        path = f"{SUBSCRIPTIONS}/{created['id']}"
        response = client.patch(
            path,
            json={"active": False, "event_types": ["sla.breached", "sla.at_risk"]},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["active"] is False
        assert changed["event_types"] == ["sla.at_risk", "sla.breached"]
        assert changed["description"] == "lama"
        assert changed["url"] == PUBLIC_URL
        assert changed["updated_at"] >= created["updated_at"]
        assert "secret" not in changed

        response = client.patch(path, json={"url": "https://1.1.1.1/new"}, headers=admin)
        assert response.json()["url"] == "https://1.1.1.1/new"
        assert (
            client.get(SUBSCRIPTIONS, params={"active": False}, headers=admin).json()["total"] == 1
        )
        assert (
            client.get(SUBSCRIPTIONS, params={"active": True}, headers=admin).json()["total"] == 0
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"event_types": []},
            {"url": None},
            {"active": None},
            {"unit_id": 3},
            {"secret": "whsec_AAAA"},
            {"url": "gopher://8.8.8.8/"},
        ],
    )
    def test_bad_patches_are_422(self, client, admin, subscribe, body: dict[str, Any]) -> None:
        created = subscribe(PUBLIC_URL)
        problem(
            client.patch(f"{SUBSCRIPTIONS}/{created['id']}", json=body, headers=admin),
            422,
            "validation-error",
        )

    def test_patch_to_a_refused_url_is_422(self, client, admin, subscribe) -> None:
        created = subscribe(PUBLIC_URL)
        path = f"{SUBSCRIPTIONS}/{created['id']}"
        problem(
            client.patch(path, json={"url": "https://169.254.169.254/"}, headers=admin),
            422,
            "webhook-url-not-allowed",
        )
        assert client.get(path, headers=admin).json()["url"] == PUBLIC_URL

    def test_delete(self, client, admin, subscribe) -> None:
        created = subscribe(PUBLIC_URL)
        path = f"{SUBSCRIPTIONS}/{created['id']}"
        assert client.delete(path, headers=admin).status_code == 204
        problem(client.get(path, headers=admin), 404, "not-found")
        problem(client.delete(path, headers=admin), 404, "not-found")

    def test_rotate_secret_shows_the_new_one_once(
        self, client, admin, subscribe, webhook_settings: Callable[..., None]
    ) -> None:
        created = subscribe(PUBLIC_URL)
        path = f"{SUBSCRIPTIONS}/{created['id']}"
        response = client.post(f"{path}/rotate-secret", headers=admin)
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert rotated["id"] == created["id"]
        assert rotated["secret"].startswith("whsec_")
        assert rotated["secret"] != created["secret"]
        assert rotated["previous_secret_expires_at"] is not None
        shown = client.get(path, headers=admin)
        assert rotated["secret"].removeprefix("whsec_") not in shown.text
        assert created["secret"].removeprefix("whsec_") not in shown.text
        assert shown.json()["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]

        webhook_settings(rotation_grace_hours=0)
        again = client.post(f"{path}/rotate-secret", headers=admin).json()
        assert again["previous_secret_expires_at"] is None

    def test_deliveries_query_is_checked(self, client, admin, subscribe) -> None:
        created = subscribe(PUBLIC_URL)
        path = f"{SUBSCRIPTIONS}/{created['id']}/deliveries"
        problem(client.get(path, params={"status": "lost"}, headers=admin), 422, "validation-error")
        problem(client.get(path, params={"limit": 0}, headers=admin), 422, "validation-error")
        empty = client.get(path, params={"status": "dead"}, headers=admin)
        assert empty.status_code == 200
        assert empty.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}

    def test_malformed_ids_are_422(self, client, admin) -> None:
        problem(client.get(f"{SUBSCRIPTIONS}/not-a-uuid", headers=admin), 422, "validation-error")


def test_a_retried_create_with_an_idempotency_key_makes_one_subscription(client, admin) -> None:
    headers = {**admin, "Idempotency-Key": "subscribe-dashboard-1"}
    first = client.post(SUBSCRIPTIONS, json=new_body(), headers=headers)
    again = client.post(SUBSCRIPTIONS, json=new_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    # The lost answer of the first request is the only place its secret was ever shown.
    assert again.json() == first.json()
    assert client.get(SUBSCRIPTIONS, headers=admin).json()["total"] == 1
