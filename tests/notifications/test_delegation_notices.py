"""A deputy is told of the post's waiting work when the delegation starts, and that it is gone
when the delegation ends or is revoked; what they were told always matches their GET /tasks.
The holder keeps their own work throughout, so is told nothing of either edge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.core import clock
from tests.lifecycle.flow import Flow
from tests.lifecycle.sop import definition

SOP = definition("unjuk-rasa-v1")
Auth = Callable[[str], dict[str, str]]
# By the definition: an incident is registered at a step of the Camat's, and the next one
# waits on the Kasi Trantib.
CAMAT_STEP = SOP.steps[0].number
KASI_STEP = SOP.steps[1].number
assert SOP.steps[0].actors == ("camat",) and SOP.steps[1].actors == ("kasi_trantib",)


def tasks_of(client: TestClient, headers: dict[str, str]) -> list[tuple[str, int]]:
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200, response.text
    return [(t["incident_id"], t["step"]) for t in response.json()["items"]]


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    return [(n["kind"], n["incident_id"], n["data"].get("step")) for n in items]


def revoke(client: TestClient, auth: Auth, delegation_id: str, by: str = "admin") -> None:
    response = client.post(
        f"/api/v1/delegations/{delegation_id}/revoke",
        json={"reason": "Camat kembali lebih awal"},
        headers=auth(by),
    )
    assert response.status_code == 200, response.text


def test_a_plh_named_now_is_told_of_the_waiting_work_and_of_its_end_when_revoked(
    flow: Flow, delegate, danru2: str, client: TestClient, auth: Auth, fan_out, told
) -> None:
    flow.create()
    fan_out()
    camat_before = told("camat.ciledug")
    assert told("danru2.ciledug") == []

    created = delegate(danru2, by="camat.ciledug")
    assert created.status_code == 201, created.text
    fan_out()
    deputy = told("danru2.ciledug")
    assert kinds(deputy) == [("task.assigned", flow.incident_id, CAMAT_STEP)]
    assert deputy[0]["data"]["role"] == "camat"
    assert tasks_of(client, auth("danru2.ciledug")) == [(flow.incident_id, CAMAT_STEP)]
    # The Camat named the deputy and keeps the work: told nothing of either.
    assert told("camat.ciledug") == camat_before
    assert tasks_of(client, auth("camat.ciledug")) == [(flow.incident_id, CAMAT_STEP)]

    revoke(client, auth, created.json()["id"], by="camat.ciledug")
    fan_out()
    assert kinds(told("danru2.ciledug"))[1:] == [("task.withdrawn", flow.incident_id, CAMAT_STEP)]
    assert tasks_of(client, auth("danru2.ciledug")) == []
    assert told("camat.ciledug") == camat_before
    # Nothing is told twice.
    again = fan_out()
    assert again.notifications == 0


def test_a_delegation_set_in_advance_tells_at_its_start_and_at_its_end(
    flow: Flow, delegate, danru2: str, client: TestClient, auth: Auth, at, fan_out, told
) -> None:
    flow.create()
    other = Flow(flow.client, flow.auth, flow.user_id)
    other.create()
    other.step1()
    fan_out()
    start = clock.now() + timedelta(minutes=2)
    end = start + timedelta(minutes=3)
    created = delegate(danru2, starts_at=start, ends_at=end)
    assert created.status_code == 201, created.text
    fan_out()
    assert told("danru2.ciledug") == []

    at(start + timedelta(seconds=1))
    report = fan_out()
    # Only the incident waiting on the Camat's post; the other one waits on the Kasi.
    assert kinds(told("danru2.ciledug")) == [("task.assigned", flow.incident_id, CAMAT_STEP)]
    assert report.notifications == 1
    headers = auth("danru2.ciledug")
    assert tasks_of(client, headers) == [(flow.incident_id, CAMAT_STEP)]

    at(end)
    fan_out()
    assert kinds(told("danru2.ciledug"))[1:] == [("task.withdrawn", flow.incident_id, CAMAT_STEP)]
    assert tasks_of(client, headers) == []
    assert fan_out().notifications == 0


def test_a_deputy_of_a_post_not_waited_on_yet_is_told_when_the_step_reaches_it(
    flow: Flow, delegate, danru2: str, client: TestClient, auth: Auth, fan_out, told
) -> None:
    flow.create()
    assert delegate(danru2, position="kasi_trantib", by="kasi.ciledug").status_code == 201
    fan_out()
    assert told("danru2.ciledug") == []
    flow.step1()
    fan_out()
    # The step after the Camat's waits on the Kasi Trantib: the holder and the deputy both.
    expected = [("task.assigned", flow.incident_id, KASI_STEP)]
    assert kinds(told("danru2.ciledug")) == expected
    assert kinds(told("kasi.ciledug")) == expected
    assert tasks_of(client, auth("danru2.ciledug")) == [(flow.incident_id, KASI_STEP)]


def test_a_delegation_revoked_before_it_starts_tells_nobody_anything(
    flow: Flow, delegate, danru2: str, client: TestClient, auth: Auth, at, fan_out, told
) -> None:
    flow.create()
    start = clock.now() + timedelta(minutes=2)
    created = delegate(danru2, starts_at=start, ends_at=start + timedelta(minutes=3))
    assert created.status_code == 201, created.text
    revoke(client, auth, created.json()["id"])
    assert told("danru2.ciledug") == []
    at(start + timedelta(minutes=1))
    fan_out()
    at(start + timedelta(minutes=4))
    fan_out()
    assert told("danru2.ciledug") == []


def test_a_deputy_who_acted_is_not_told_and_the_holder_is_told_it_went(
    flow: Flow, delegate, danru2: str, client: TestClient, auth: Auth, fan_out, told
) -> None:
    flow.create()
    assert delegate(danru2).status_code == 201
    fan_out()
    camat_seen = len(told("camat.ciledug"))
    flow.stand_in = {"camat": "danru2"}
    flow.step1()
    fan_out()
    # The deputy took the Camat's step: the Camat no longer has it and is told so.
    assert kinds(told("camat.ciledug"))[camat_seen:] == [
        ("task.withdrawn", flow.incident_id, KASI_STEP)
    ]
    assert tasks_of(client, auth("camat.ciledug")) == []
    assert kinds(told("danru2.ciledug")) == [("task.assigned", flow.incident_id, CAMAT_STEP)]
