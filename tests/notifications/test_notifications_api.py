"""GET /notifications and POST /notifications/read: own only, and every refusal."""

from __future__ import annotations

import pytest

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"


def _problem(response, status: int, kind: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + kind


def test_anonymous_is_401(client) -> None:
    _problem(client.get("/api/v1/notifications"), 401, "unauthorized")


def test_an_administrator_is_told_nothing_403(client, auth) -> None:
    response = client.get("/api/v1/notifications", headers=auth("admin"))
    _problem(response, 403, "insufficient-scope")


@pytest.mark.parametrize("body", [{}, {"up_to_id": 3, "ids": [3]}, {"ids": []}])
def test_mark_read_needs_one_of_up_to_id_or_ids_422(client, auth, body) -> None:
    response = client.post("/api/v1/notifications/read", json=body, headers=auth("camat.ciledug"))
    _problem(response, 422, "validation-error")


# Notification ids are BIGINT: one past the largest is refused as input, never sent to the
# database (which answered a 500 with "bigint out of range").
TOO_LARGE = 2**63


@pytest.mark.parametrize(
    "body", [{"up_to_id": TOO_LARGE}, {"ids": [1, TOO_LARGE]}, {"up_to_id": 0}, {"ids": [-1]}]
)
def test_mark_read_refuses_an_id_no_notification_can_have_422(client, auth, body) -> None:
    response = client.post("/api/v1/notifications/read", json=body, headers=auth("camat.ciledug"))
    _problem(response, 422, "validation-error")


@pytest.mark.parametrize(
    ("path", "param"), [("/api/v1/notifications", "after_id"), ("/api/v1/stream", "last_event_id")]
)
def test_an_id_past_the_largest_in_the_query_is_422(client, auth, path, param) -> None:
    response = client.get(path, params={param: TOO_LARGE}, headers=auth("camat.ciledug"))
    _problem(response, 422, "validation-error")


def test_the_largest_id_marks_everything_read(flow, fan_out, told, client, auth) -> None:
    flow.create()
    fan_out()
    assert told("camat.ciledug", unread="true")
    response = client.post(
        "/api/v1/notifications/read",
        json={"up_to_id": TOO_LARGE - 1},
        headers=auth("camat.ciledug"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["unread"] == 0


def test_marking_read_touches_only_ones_own(flow, fan_out, told, client, auth) -> None:
    flow.create()
    fan_out()
    mine = told("camat.ciledug")
    assert [n["read_at"] for n in mine] == [None]
    # Another user marking every id read changes nothing of the Camat's.
    other = client.post(
        "/api/v1/notifications/read", json={"up_to_id": mine[0]["id"]}, headers=auth("kasi.ciledug")
    )
    assert other.json()["marked"] == 0
    assert told("camat.ciledug", unread="true") == mine
    marked = client.post(
        "/api/v1/notifications/read", json={"ids": [mine[0]["id"]]}, headers=auth("camat.ciledug")
    )
    assert marked.json() == {"marked": 1, "unread": 0}
    assert told("camat.ciledug", unread="true") == []
