"""API6:2023 Unrestricted Access to Sensitive Business Flows.

The SOP's order is the business flow: a step cannot be skipped (409 `wrong-step`, naming the
step the incident is at), an accepted step action sent again is 409 and changes nothing, a
Surat Perintah Walikota number is recorded once per kecamatan (409 `number-taken`), the
Surat Perintah number is the server's and given once, and an incident is archived once.
Every role at every step is in tests/lifecycle/test_matrix.py; these follow one incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import UniqueConstraint, func, select
from sqlmodel import Session

from app.archive.models import ArchiveRecord
from app.orders.models import Order
from tests.lifecycle.flow import EQUIPMENT, ORDER_DRAFT, WALIKOTA_ORDER, Flow, field_report
from tests.security.conftest import API, problem


@dataclass
class Recorder:
    """The test client, remembering every POST so that it can be sent again as it was."""

    client: Any
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def post(self, url: str, **kwargs: Any) -> Any:
        self.posts.append((url, kwargs))
        return self.client.post(url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_every_accepted_step_action_sent_again_is_409(client, auth, user_id) -> None:
    recorder = Recorder(client)
    flow = Flow(recorder, auth, user_id)  # type: ignore[arg-type]
    flow.create()
    steps = [
        flow.step1,
        flow.step2,
        flow.step3,
        flow.step4,
        flow.step5,
        flow.step6,
        flow.step7,
        flow.step8,
        flow.step9,
        flow.step10,
        flow.step11,
    ]
    replayed = 0
    for number, step in enumerate(steps, start=1):
        recorder.posts.clear()
        step()
        state = flow.incident()
        for url, kwargs in list(recorder.posts):
            response = client.post(url, **kwargs)
            assert response.status_code == 409, (number, url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            replayed += 1
        after = flow.incident()
        assert (after["version"], after["current_step"], after["status"]) == (
            state["version"],
            state["current_step"],
            state["status"],
        ), number
    assert replayed >= 14


def test_a_step_cannot_be_skipped(flow: Flow) -> None:
    flow.create()
    inc = flow.incident_id
    later = [
        ("danru", "drafts", ORDER_DRAFT),
        ("danru", "briefings", {"members": [flow.uid("anggota1")], "equipment": EQUIPMENT}),
        ("anggota1", "field-reports", field_report()),
        ("kasi", "archive-records", {"classification_code": "300.1.2.1", "retention_years": 5}),
    ]
    for who, resource, body in later:
        response = flow.client.post(
            f"{API}/incidents/{inc}/{resource}", json=body, headers=flow.as_(who)
        )
        found = problem(response, 409, "wrong-step")
        assert found["current_step"] == 1, (resource, found)
    # The Surat Perintah cannot be validated before a draft exists and is verified.
    flow.step1()
    flow.step2()
    response = flow.client.post(
        f"{API}/incidents/{inc}/orders",
        json={"kind": "surat_perintah", "draft_id": flow.uid("danru")},
        headers=flow.as_("camat"),
    )
    assert response.status_code in (404, 409), response.text
    assert flow.incident()["current_step"] == 3


def test_a_walikota_number_is_recorded_once_per_kecamatan(flow_for) -> None:
    first, second = flow_for("ciledug"), flow_for("ciledug")
    first.create()
    second.create()
    first.step1(number="300/77/WK/2026")
    before = second.incident()
    found = problem(
        second.client.post(
            f"{API}/incidents/{second.incident_id}/orders",
            json={**WALIKOTA_ORDER, "number": "  300/77/WK/2026 "},
            headers=second.as_("camat"),
        ),
        409,
        "number-taken",
    )
    assert "300/77/WK/2026" in found["detail"]
    after = second.incident()
    assert (after["version"], after["current_step"]) == (before["version"], 1)


def test_surat_perintah_numbers_are_the_servers_and_never_given_twice(flow_for, engine) -> None:
    first, second = flow_for("ciledug"), flow_for("ciledug")
    first.run_to(5)
    second.run_to(5)
    one = first.step5()
    again = first.client.post(
        f"{API}/incidents/{first.incident_id}/orders",
        json={"kind": "surat_perintah", "draft_id": first.draft_id},
        headers=first.as_("camat"),
    )
    assert again.status_code == 409, again.text
    two = second.step5()
    assert one["number"] != two["number"]
    constraints = {
        tuple(c.columns.keys())
        for c in Order.__table__.constraints  # type: ignore[attr-defined]
        if isinstance(c, UniqueConstraint)
    }
    assert ("unit_id", "year", "sequence") in constraints
    assert ("unit_id", "kind", "number") in constraints


def test_an_incident_is_archived_once(flow: Flow, engine) -> None:
    flow.run_to(11)
    flow.step11()
    response = flow.client.post(
        f"{API}/incidents/{flow.incident_id}/archive-records",
        json={"classification_code": "300.1.2.1", "retention_years": 5},
        headers=flow.as_("kasi"),
    )
    assert response.status_code == 409, response.text
    with Session(engine) as session:
        records = session.execute(select(func.count()).select_from(ArchiveRecord)).scalar_one()
    assert records == 1
    assert ArchiveRecord.__table__.c.incident_id.unique  # type: ignore[attr-defined]
