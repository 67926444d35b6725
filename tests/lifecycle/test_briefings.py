"""Step 7: the dispatched Danru briefs the members and declares the kelengkapan."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.lifecycle.flow import EQUIPMENT, Flow

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM + kind, body
    return body


def url(flow: Flow) -> str:
    return f"/api/v1/incidents/{flow.incident_id}/briefings"


def body(flow: Flow, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "members": [flow.uid("anggota1"), flow.uid("anggota2")],
        "equipment": EQUIPMENT,
        "note": "Apel pagi di halaman kantor kecamatan",
    }
    data.update(overrides)
    return data


@pytest.fixture
def at_step7(flow: Flow) -> Flow:
    flow.run_to(7)
    return flow


class TestCreateRefusals:
    def test_anonymous_is_401(self, at_step7: Flow) -> None:
        flow = at_step7
        problem(flow.client.post(url(flow), json=body(flow)), 401, "unauthorized")

    @pytest.mark.parametrize("who", ["camat", "kasi", "anggota1"])
    def test_roles_without_the_scope_are_403(self, at_step7: Flow, who: str) -> None:
        flow = at_step7
        response = flow.client.post(url(flow), json=body(flow), headers=flow.as_(who))
        problem(response, 403, "insufficient-scope")

    def test_pimpinan_reads_but_cannot_brief(self, at_step7: Flow) -> None:
        flow = at_step7
        response = flow.client.post(url(flow), json=body(flow), headers=flow.auth("pimpinan"))
        problem(response, 403, "insufficient-scope")

    def test_a_danru_not_given_the_order_is_403(self, at_step7: Flow) -> None:
        flow = at_step7
        created = flow.client.post(
            "/api/v1/users",
            json={
                "username": "danru2.ciledug",
                "full_name": "Danru Dua",
                "role": "danru",
                "unit": "ciledug",
                "password": "danru-dua-sandi-01",
            },
            headers=flow.auth("admin"),
        )
        assert created.status_code == 201, created.text
        response = flow.client.post(url(flow), json=body(flow), headers=flow.auth("danru2.ciledug"))
        problem(response, 403, "not-assigned")

    def test_another_kecamatan_is_404(self, at_step7: Flow) -> None:
        flow = at_step7
        response = flow.client.post(url(flow), json=body(flow), headers=flow.auth("danru.cipondoh"))
        problem(response, 404, "not-found")
        missing = f"/api/v1/incidents/{uuid.uuid4()}/briefings"
        problem(
            flow.client.post(missing, json=body(flow), headers=flow.as_("danru")), 404, "not-found"
        )

    def test_before_the_execution_order_is_409(self, flow: Flow) -> None:
        flow.run_to(6)
        response = flow.client.post(url(flow), json=body(flow), headers=flow.as_("danru"))
        detail = problem(response, 409, "wrong-step")
        assert detail["current_step"] == 6

    def test_a_second_briefing_is_409(self, at_step7: Flow) -> None:
        flow = at_step7
        flow.step7()
        response = flow.client.post(url(flow), json=body(flow), headers=flow.as_("danru"))
        assert problem(response, 409, "wrong-step")["current_step"] == 8


class TestCreateValidation:
    def test_missing_equipment_is_named(self, at_step7: Flow) -> None:
        flow = at_step7
        equipment = {k: v for k, v in EQUIPMENT.items() if k not in ("kendaraan", "seragam")}
        response = flow.client.post(
            url(flow), json=body(flow, equipment=equipment), headers=flow.as_("danru")
        )
        detail = problem(response, 422, "validation-error")
        assert detail["missing_equipment"] == ["seragam", "kendaraan"]
        assert "seragam" in detail["detail"] and "kendaraan" in detail["detail"]

    @pytest.mark.parametrize(
        "item", [{"count": 0}, {"available": False}, {"count": 0, "notes": "rusak"}]
    )
    def test_equipment_declared_unavailable_is_missing(
        self, at_step7: Flow, item: dict[str, Any]
    ) -> None:
        flow = at_step7
        equipment = {**EQUIPMENT, "alat_penertiban": item}
        response = flow.client.post(
            url(flow), json=body(flow, equipment=equipment), headers=flow.as_("danru")
        )
        assert problem(response, 422, "validation-error")["missing_equipment"] == [
            "alat_penertiban"
        ]

    @pytest.mark.parametrize(
        "equipment",
        [
            {**EQUIPMENT, "seragam": {"notes": "lengkap"}},  # neither count nor available
            {**EQUIPMENT, "kendaraan": {"count": -1}},
            {**EQUIPMENT, "tenda": {"available": True}},  # not a kelengkapan of the SOP
            {**EQUIPMENT, "seragam": {"available": True, "warna": "coklat"}},
        ],
    )
    def test_malformed_equipment_is_422(self, at_step7: Flow, equipment: dict[str, Any]) -> None:
        flow = at_step7
        response = flow.client.post(
            url(flow), json=body(flow, equipment=equipment), headers=flow.as_("danru")
        )
        problem(response, 422, "validation-error")

    def test_members_that_are_not_active_anggota_of_the_unit_are_named(
        self, at_step7: Flow
    ) -> None:
        flow = at_step7
        deactivated = flow.uid("anggota3")
        patched = flow.client.patch(
            f"/api/v1/users/{deactivated}", json={"active": False}, headers=flow.auth("admin")
        )
        assert patched.status_code == 200, patched.text
        bad = [
            flow.uid("camat"),  # not an anggota
            flow.user_id("anggota1.cipondoh"),  # another kecamatan
            str(uuid.uuid4()),  # nobody
            deactivated,
        ]
        response = flow.client.post(
            url(flow),
            json=body(flow, members=[flow.uid("anggota1"), *bad]),
            headers=flow.as_("danru"),
        )
        detail = problem(response, 422, "validation-error")
        assert detail["field"] == "members"
        assert detail["invalid_ids"] == bad

    @pytest.mark.parametrize("members", [[], "dupe", "many", ["not-a-uuid"]])
    def test_member_list_shape_is_checked(self, at_step7: Flow, members: Any) -> None:
        flow = at_step7
        if members == "dupe":
            members = [flow.uid("anggota1"), flow.uid("anggota1")]
        elif members == "many":
            members = [str(uuid.uuid4()) for _ in range(31)]
        response = flow.client.post(
            url(flow), json=body(flow, members=members), headers=flow.as_("danru")
        )
        problem(response, 422, "validation-error")

    def test_unknown_fields_and_future_times_are_422(self, at_step7: Flow) -> None:
        flow = at_step7
        response = flow.client.post(
            url(flow), json=body(flow, status="done"), headers=flow.as_("danru")
        )
        problem(response, 422, "validation-error")
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        response = flow.client.post(
            url(flow), json=body(flow, occurred_at=future), headers=flow.as_("danru")
        )
        assert problem(response, 422, "occurred-at-out-of-bounds")["field"] == "occurred_at"

    def test_refusals_leave_the_incident_at_step_7(self, at_step7: Flow) -> None:
        flow = at_step7
        before = flow.incident()
        flow.client.post(url(flow), json=body(flow, members=[]), headers=flow.as_("danru"))
        flow.client.post(url(flow), json=body(flow, equipment={}), headers=flow.as_("danru"))
        after = flow.incident()
        assert after["current_step"] == 7
        assert after["version"] == before["version"]
        listed = flow.client.get(url(flow), headers=flow.as_("danru"))
        assert listed.json() == []


class TestHappyPath:
    def test_briefing_starts_field_work_and_assigns_the_members(self, at_step7: Flow) -> None:
        flow = at_step7
        response = flow.client.post(url(flow), json=body(flow), headers=flow.as_("danru"))
        assert response.status_code == 201, response.text
        data = response.json()
        assert data["incident_id"] == flow.incident_id
        assert data["members"] == [flow.uid("anggota1"), flow.uid("anggota2")]
        assert data["equipment"]["kendaraan"] == EQUIPMENT["kendaraan"]
        assert data["created_by"] == flow.uid("danru")
        assert response.headers["Location"] == url(flow)

        incident = flow.incident()
        assert incident["current_step"] == 8
        assert incident["waiting_on"] == "anggota"
        member = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}", headers=flow.as_("anggota1")
        ).json()
        assert member["allowed_actions"] == ["field_report"]
        outsider = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}", headers=flow.as_("anggota3")
        ).json()
        assert outsider["allowed_actions"] == []

        events = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
        ).json()
        assert events["chain_valid"] is True
        last = events["events"][-1]
        assert last["action"] == "briefing"
        assert last["data"]["document"]["id"] == data["id"]
        assert last["data"]["completed_run"]["step"] == 7

    def test_the_briefing_is_listed_for_readers_of_the_unit(self, at_step7: Flow) -> None:
        flow = at_step7
        created = flow.step7(members=("anggota3",))
        for headers in (flow.as_("camat"), flow.as_("anggota3"), flow.auth("pimpinan")):
            listed = flow.client.get(url(flow), headers=headers)
            assert listed.status_code == 200, listed.text
            assert [b["id"] for b in listed.json()] == [created["id"]]
        problem(flow.client.get(url(flow)), 401, "unauthorized")
        problem(flow.client.get(url(flow), headers=flow.auth("kasi.cipondoh")), 404, "not-found")
        problem(flow.client.get(url(flow), headers=flow.auth("admin")), 403, "insufficient-scope")

    def test_occurred_at_is_kept_beside_the_recording_time(self, at_step7: Flow) -> None:
        flow = at_step7
        when = datetime.now(UTC)
        response = flow.client.post(
            url(flow), json=body(flow, occurred_at=when.isoformat()), headers=flow.as_("danru")
        )
        assert response.status_code == 201, response.text
        data = response.json()
        assert datetime.fromisoformat(data["occurred_at"]) == when
        assert datetime.fromisoformat(data["recorded_at"]) >= when

    def test_occurred_at_before_the_step_started_is_422(self, at_step7: Flow) -> None:
        flow = at_step7
        when = datetime.now(UTC) - timedelta(hours=1)
        response = flow.client.post(
            url(flow), json=body(flow, occurred_at=when.isoformat()), headers=flow.as_("danru")
        )
        assert problem(response, 422, "occurred-at-out-of-bounds")["field"] == "occurred_at"
