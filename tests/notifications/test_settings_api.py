"""GET/PATCH /users/me/notification-settings: every kind pushed by default, own only."""

from __future__ import annotations

import pytest

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
URL = "/api/v1/users/me/notification-settings"


def _problem(response, status: int, kind: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + kind


def test_everything_is_pushed_by_default(client, auth) -> None:
    response = client.get(URL, headers=auth("camat.ciledug"))
    assert response.status_code == 200, response.text
    assert response.json() == {"push_muted": [], "updated_at": None}


def test_a_choice_is_stored_for_the_caller_only(client, auth) -> None:
    body = {"push_muted": ["incident.archived", "task.withdrawn", "incident.archived"]}
    changed = client.patch(URL, json=body, headers=auth("camat.ciledug"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["push_muted"] == ["incident.archived", "task.withdrawn"]
    assert changed.json()["updated_at"].endswith("Z") or "+" in changed.json()["updated_at"]
    assert client.get(URL, headers=auth("camat.ciledug")).json() == changed.json()
    assert client.get(URL, headers=auth("kasi.ciledug")).json()["push_muted"] == []
    again = client.patch(URL, json={"push_muted": []}, headers=auth("camat.ciledug"))
    assert again.json()["push_muted"] == []


def test_anonymous_is_401(client) -> None:
    _problem(client.get(URL), 401, "unauthorized")
    _problem(client.patch(URL, json={"push_muted": []}), 401, "unauthorized")


def test_an_administrator_has_no_notifications_403(client, auth) -> None:
    _problem(client.get(URL, headers=auth("admin")), 403, "insufficient-scope")
    response = client.patch(URL, json={"push_muted": []}, headers=auth("admin"))
    _problem(response, 403, "insufficient-scope")


@pytest.mark.parametrize("body", [{}, {"push_muted": ["no.such.kind"]}, {"push_muted": "all"}])
def test_an_unknown_kind_is_422(client, auth, body) -> None:
    response = client.patch(URL, json=body, headers=auth("camat.ciledug"))
    _problem(response, 422, "validation-error")
