"""What a service client's token may do: read within its kecamatan (or all), register
incidents, and nothing of the SOP's step actions or the administration."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.security import create_access_token
from app.incidents.models import Incident
from tests.clients.conftest import CLIENTS, READ_SCOPES, problem
from tests.lifecycle.flow import INCIDENT, WALIKOTA_ORDER

INCIDENTS = "/api/v1/incidents"
LARANGAN = {"address": "Jl. Raden Fatah No. 1", "kelurahan": "Cipadu"}
WRITER_SCOPES = [*READ_SCOPES, "incidents:write"]


@pytest.fixture
def incidents(flow, flow_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One incident in Ciledug (by its Kasi Trantib), one in Larangan."""
    ciledug = flow.create()["id"]
    larangan = flow_for("larangan").create(location=LARANGAN)["id"]
    return {"ciledug": ciledug, "larangan": larangan}


def ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


class TestReading:
    def test_unit_client_sees_only_its_kecamatan(self, client, register, bearer, incidents):
        headers = bearer(register(unit="ciledug"))
        listed = client.get(INCIDENTS, headers=headers)
        assert listed.status_code == 200, listed.text
        assert ids(listed.json()) == {incidents["ciledug"]}
        own = client.get(f"{INCIDENTS}/{incidents['ciledug']}", headers=headers)
        assert own.status_code == 200
        assert own.json()["allowed_actions"] == []
        timeline = client.get(f"{INCIDENTS}/{incidents['ciledug']}/timeline", headers=headers)
        assert timeline.status_code == 200, timeline.text
        assert [run["step"] for run in timeline.json()["runs"]] == [1]
        events = client.get(f"{INCIDENTS}/{incidents['ciledug']}/events", headers=headers)
        assert events.status_code == 200
        assert events.json()["chain_valid"] is True
        for suffix in ("", "/timeline", "/events"):
            other = client.get(f"{INCIDENTS}/{incidents['larangan']}{suffix}", headers=headers)
            problem(other, 404, "not-found")
        asked_for_other = client.get(INCIDENTS, params={"unit": "larangan"}, headers=headers)
        assert asked_for_other.json()["total"] == 0

    def test_city_wide_client_sees_every_kecamatan(self, client, register, bearer, incidents):
        headers = bearer(register())
        listed = client.get(INCIDENTS, headers=headers)
        assert ids(listed.json()) == set(incidents.values())
        for incident_id in incidents.values():
            assert client.get(f"{INCIDENTS}/{incident_id}", headers=headers).status_code == 200
            timeline = client.get(f"{INCIDENTS}/{incident_id}/timeline", headers=headers)
            assert timeline.status_code == 200, timeline.text
        by_unit = client.get(INCIDENTS, params={"unit": "36.71.13"}, headers=headers)
        assert ids(by_unit.json()) == {incidents["larangan"]}

    def test_reads_need_the_granted_scope(self, client, register, bearer, incidents):
        headers = bearer(register(scopes=["incidents:read"]))
        assert client.get(INCIDENTS, headers=headers).status_code == 200
        timeline = client.get(f"{INCIDENTS}/{incidents['ciledug']}/timeline", headers=headers)
        problem(timeline, 403, "insufficient-scope")
        problem(client.get("/api/v1/units", headers=headers), 403, "insufficient-scope")

    def test_a_narrowed_token_carries_only_what_it_asked(self, client, register, bearer, incidents):
        headers = bearer(register(), scope="incidents:read")
        assert client.get(INCIDENTS, headers=headers).status_code == 200
        timeline = client.get(f"{INCIDENTS}/{incidents['ciledug']}/timeline", headers=headers)
        problem(timeline, 403, "insufficient-scope")


class TestRegistering:
    def test_unit_client_registers_in_its_kecamatan(self, client, register, bearer, auth):
        created = register(name="Aplikasi Ciledug", scopes=WRITER_SCOPES, unit="ciledug")
        headers = bearer(created)
        response = client.post(INCIDENTS, json=INCIDENT, headers=headers)
        assert response.status_code == 201, response.text
        incident = response.json()
        assert incident["unit"]["code"] == "36.71.06"
        assert incident["register_number"].startswith("36.71.06/UR/")
        assert incident["created_by"] is None
        assert incident["created_by_client"] == created["client_id"]
        assert incident["current_step"] == 1
        assert incident["allowed_actions"] == []
        # The kecamatan sees it and works it like any other.
        seen = client.get(f"{INCIDENTS}/{incident['id']}", headers=auth("camat.ciledug"))
        assert seen.json()["allowed_actions"] == ["order_walikota", "cancel", "escalate"]
        events = client.get(f"{INCIDENTS}/{incident['id']}/events", headers=headers).json()
        assert events["chain_valid"] is True
        first = events["events"][0]
        assert first["action"] == "incident_create"
        assert first["actor_id"] is None
        assert first["actor_role"] == "service"
        assert first["data"]["client_id"] == created["client_id"]
        assert "unit" not in first["data"]["document"]

    @pytest.mark.parametrize("unit", ["ciledug", "36.71.06", "CILEDUG"])
    def test_unit_client_may_name_its_own_kecamatan(self, client, register, bearer, unit):
        headers = bearer(register(scopes=WRITER_SCOPES, unit="ciledug"))
        response = client.post(INCIDENTS, json={**INCIDENT, "unit": unit}, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["unit"]["code"] == "36.71.06"

    def test_unit_client_naming_another_kecamatan_is_403(self, client, register, bearer, engine):
        headers = bearer(register(scopes=WRITER_SCOPES, unit="ciledug"))
        body = {**INCIDENT, "location": LARANGAN, "unit": "larangan"}
        problem(client.post(INCIDENTS, json=body, headers=headers), 403, "forbidden")
        with Session(engine) as session:
            assert session.exec(select(Incident)).all() == []

    def test_city_wide_client_names_the_kecamatan(self, client, register, bearer, flow_for, engine):
        created = register(name="Command Center", scopes=WRITER_SCOPES)
        headers = bearer(created)
        body = {**INCIDENT, "location": LARANGAN, "unit": "larangan"}
        response = client.post(INCIDENTS, json=body, headers=headers)
        assert response.status_code == 201, response.text
        incident = response.json()
        assert incident["unit"]["code"] == "36.71.13"
        assert incident["created_by_client"] == created["client_id"]
        events = client.get(f"{INCIDENTS}/{incident['id']}/events", headers=headers).json()
        assert events["events"][0]["data"]["document"]["unit"] == "larangan"
        # The Camat of Larangan takes it from step 1.
        larangan = flow_for("larangan")
        larangan.incident_id = incident["id"]
        larangan.step1()
        assert larangan.incident()["current_step"] == 2
        with Session(engine) as session:
            row = session.get(Incident, uuid.UUID(incident["id"]))
            assert row is not None and row.created_by is None

    @pytest.mark.parametrize(
        ("unit", "kind"),
        [(None, "validation-error"), ("atlantis", "unknown-unit"), ("", "unknown-unit")],
    )
    def test_city_wide_client_without_a_known_kecamatan_is_422(
        self, client, register, bearer, unit, kind
    ):
        headers = bearer(register(scopes=WRITER_SCOPES))
        body = {**INCIDENT, **({} if unit is None else {"unit": unit})}
        body = problem(client.post(INCIDENTS, json=body, headers=headers), 422, kind)
        assert body["field"] == "unit"

    def test_kelurahan_must_belong_to_the_named_kecamatan(self, client, register, bearer):
        headers = bearer(register(scopes=WRITER_SCOPES))
        body = {**INCIDENT, "unit": "larangan"}  # Sudimara Timur is in Ciledug
        problem(client.post(INCIDENTS, json=body, headers=headers), 422, "validation-error")

    def test_registering_needs_incidents_write(self, client, register, bearer):
        headers = bearer(register(unit="ciledug"))
        response = client.post(INCIDENTS, json=INCIDENT, headers=headers)
        problem(response, 403, "insufficient-scope")

    def test_users_may_name_their_own_kecamatan_only(self, client, auth):
        own = client.post(
            INCIDENTS, json={**INCIDENT, "unit": "ciledug"}, headers=auth("kasi.ciledug")
        )
        assert own.status_code == 201, own.text
        assert own.json()["created_by_client"] is None
        body = {**INCIDENT, "location": LARANGAN, "unit": "larangan"}
        other = client.post(INCIDENTS, json=body, headers=auth("kasi.ciledug"))
        problem(other, 403, "forbidden")


class TestRefusals:
    def test_no_step_action(self, client, register, bearer, flow):
        incident_id = flow.create()["id"]
        headers = bearer(register(scopes=WRITER_SCOPES))
        attempts = [
            (f"{INCIDENTS}/{incident_id}/orders", WALIKOTA_ORDER, "insufficient-scope"),
            (
                f"{INCIDENTS}/{incident_id}/instructions",
                {"danru_id": flow.uid("danru")},
                "insufficient-scope",
            ),
            (
                f"{INCIDENTS}/{incident_id}/cancel",
                {"reason": "Dibatalkan sistem"},
                "insufficient-scope",
            ),
            # The client holds incidents:write, but escalation is the Camat's or Kasi's.
            (f"{INCIDENTS}/{incident_id}/escalations", {"level": "merah"}, "forbidden"),
        ]
        for url, body, kind in attempts:
            problem(client.post(url, json=body, headers=headers), 403, kind)
        after = flow.incident()
        assert (after["current_step"], after["version"], after["escalation_level"]) == (
            1,
            1,
            "hijau",
        )

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/users"),
            ("GET", CLIENTS),
            ("GET", "/api/v1/webhooks/subscriptions"),
            ("GET", "/api/v1/tasks"),
            ("POST", "/api/v1/users"),
        ],
    )
    def test_no_administration(self, client, register, bearer, method, path):
        headers = bearer(register(scopes=WRITER_SCOPES))
        response = client.request(method, path, json={}, headers=headers)
        problem(response, 403, "insufficient-scope")


class TestTokenLifetime:
    def test_disabled_client_gets_no_token_and_its_live_token_stops(
        self, client, auth, register, bearer, request_token
    ):
        created = register()
        headers = bearer(created)
        assert client.get(INCIDENTS, headers=headers).status_code == 200
        path = f"{CLIENTS}/{created['client_id']}"
        client.patch(path, json={"active": False}, headers=auth("admin"))
        problem(client.get(INCIDENTS, headers=headers), 401, "invalid-token")
        again = request_token(created["client_id"], created["client_secret"])
        problem(again, 401, "invalid-client")
        # Enabled again: new tokens work, the one from before stays dead.
        client.patch(path, json={"active": True}, headers=auth("admin"))
        problem(client.get(INCIDENTS, headers=headers), 401, "invalid-token")
        assert client.get(INCIDENTS, headers=bearer(created)).status_code == 200

    def test_rotation_ends_the_old_secret_and_tokens(
        self, client, auth, register, bearer, request_token
    ):
        created = register()
        old_headers = bearer(created)
        rotated = client.post(
            f"{CLIENTS}/{created['client_id']}/rotate-secret", headers=auth("admin")
        ).json()
        problem(client.get(INCIDENTS, headers=old_headers), 401, "invalid-token")
        old = request_token(created["client_id"], created["client_secret"])
        problem(old, 401, "invalid-client")
        old_basic = request_token(created["client_id"], created["client_secret"], use_basic=True)
        problem(old_basic, 401, "invalid-client")
        new_headers = bearer({**created, "client_secret": rotated["client_secret"]})
        assert client.get(INCIDENTS, headers=new_headers).status_code == 200

    def test_scopes_taken_away_stop_in_live_tokens(self, client, auth, register, bearer, flow):
        incident_id = flow.create()["id"]
        created = register()
        headers = bearer(created)
        timeline = f"{INCIDENTS}/{incident_id}/timeline"
        assert client.get(timeline, headers=headers).status_code == 200
        client.patch(
            f"{CLIENTS}/{created['client_id']}",
            json={"scopes": ["incidents:read"]},
            headers=auth("admin"),
        )
        problem(client.get(timeline, headers=headers), 403, "insufficient-scope")
        assert client.get(INCIDENTS, headers=headers).status_code == 200

    def test_logout_revokes_the_client_token(self, client, register, bearer):
        headers = bearer(register())
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        problem(client.get(INCIDENTS, headers=headers), 401, "invalid-token")


class TestForgedTokens:
    def sign(self, subject: str, role: str = "service", version: int = 0) -> dict[str, str]:
        token, _ = create_access_token(
            get_settings(),
            subject=subject,
            role=role,
            unit=None,
            scopes=WRITER_SCOPES,
            token_version=version,
            client=True,
        )
        return {"Authorization": f"Bearer {token}"}

    def test_unknown_client_is_401(self, client):
        problem(client.get(INCIDENTS, headers=self.sign("cli_ghost")), 401, "invalid-token")

    def test_a_client_token_with_a_human_role_is_401(self, client, register):
        created = register()
        headers = self.sign(created["client_id"], role="pimpinan")
        problem(client.get(INCIDENTS, headers=headers), 401, "invalid-token")

    def test_a_user_id_as_a_client_is_401(self, client, user_id):
        headers = self.sign(user_id("pimpinan"), role="service")
        problem(client.get(INCIDENTS, headers=headers), 401, "invalid-token")

    def test_scopes_beyond_the_client_record_are_not_honoured(self, client, register, flow):
        incident_id = flow.create()["id"]
        created = register(scopes=["incidents:read"])
        headers = self.sign(created["client_id"])
        assert client.get(INCIDENTS, headers=headers).status_code == 200
        timeline = client.get(f"{INCIDENTS}/{incident_id}/timeline", headers=headers)
        problem(timeline, 403, "insufficient-scope")


class TestServiceRoleIsNotForUsers:
    def test_creating_a_service_user_is_422(self, client, auth):
        body = {
            "username": "sistem.pemkot",
            "full_name": "Sistem Pemkot",
            "role": "service",
            "password": "a-long-enough-password",
        }
        response = client.post("/api/v1/users", json=body, headers=auth("admin"))
        problem(response, 422, "validation-error")

    def test_changing_a_user_to_service_is_422(self, client, auth, user_id):
        response = client.patch(
            f"/api/v1/users/{user_id('anggota1.ciledug')}",
            json={"role": "service"},
            headers=auth("admin"),
        )
        problem(response, 422, "validation-error")
