"""Service clients registered through the admin API, and their tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
CLIENTS = "/api/v1/clients"
TOKEN_URL = "/api/v1/auth/token"
READ_SCOPES = ["incidents:read", "orders:read", "sla:read", "units:read"]


def problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEMS + kind, body
    return body


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


@pytest.fixture
def register(client, auth) -> Callable[..., dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Register a client as the admin; returns the 201 body (with its secret)."""

    def create(
        name: str = "Dashboard Pemkot", scopes: list[str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"name": name, "scopes": scopes or READ_SCOPES, **fields}
        response = client.post(CLIENTS, json=body, headers=auth("admin"))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


@pytest.fixture
def request_token(client) -> Callable[..., httpx.Response]:  # type: ignore[no-untyped-def]
    """POST grant_type=client_credentials, credentials in the body or (use_basic) by Basic."""

    def post(
        client_id: str, secret: str, *, use_basic: bool = False, **fields: str
    ) -> httpx.Response:
        form = {"grant_type": "client_credentials", **fields}
        if use_basic:
            return client.post(TOKEN_URL, data=form, headers=basic(client_id, secret))
        form.update(client_id=client_id, client_secret=secret)
        return client.post(TOKEN_URL, data=form)

    return post


@pytest.fixture
def bearer(request_token) -> Callable[..., dict[str, str]]:  # type: ignore[no-untyped-def]
    """Authorization headers with a fresh token of a registered client."""

    def headers(created: dict[str, Any], **fields: str) -> dict[str, str]:
        response = request_token(created["client_id"], created["client_secret"], **fields)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers
