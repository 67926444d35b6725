"""Incidents driven to the step whose document a test reads."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.lifecycle.flow import ORDER_DRAFT, Flow

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM + kind, body
    return body


def pdf_of(response: Any) -> bytes:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'
    return bytes(response.content)


def with_letter(flow: Flow, **letter: Any) -> None:
    """Steps 1-2, then a draft order whose letter has these fields."""
    flow.run_to(3)
    body = {**ORDER_DRAFT, "letter": {**ORDER_DRAFT["letter"], **letter}}
    response = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/drafts", json=body, headers=flow.as_("danru")
    )
    assert response.status_code == 201, response.text
    flow.draft_id = response.json()["id"]


def set_user(flow: Flow, username: str, **values: Any) -> None:
    response = flow.client.patch(
        f"/api/v1/users/{flow.user_id(username)}", json=values, headers=flow.auth("admin")
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def issued(flow: Flow) -> tuple[Flow, dict[str, Any]]:
    """The Surat Perintah validated (step 5 done); returns the order's JSON."""
    flow.run_to(5)
    order = flow.step5()
    return flow, order


@pytest.fixture(autouse=True)
def _fresh_verification_rate() -> None:
    """Every test starts with the public page's rate unused (the suite is one address)."""
    from app.documents import public

    public._buckets.clear()
