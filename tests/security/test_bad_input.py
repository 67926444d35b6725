"""Input that reached the database or a conversion unchecked and answered 500: each is 422 (or
the conflict it really is), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL
from tests.lifecycle.flow import INCIDENT, WALIKOTA_ORDER
from tests.lifecycle.flow import report_draft as report_body
from tests.security.conftest import problem

API = "/api/v1"
# NUL, another C0 control, DEL, a C1 control and a lone surrogate.
NOT_TEXT = ["\x00", "\x1b", "\x7f", "\x85", "\ud800"]


def post_json(client, path: str, body: Any, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    # json.dumps spells a lone surrogate as \ud800, which httpx's own encoder would refuse.
    data = json.dumps(body)
    return client.post(path, content=data, headers={**headers, "Content-Type": "application/json"})


class TestControlCharacters:
    @pytest.mark.parametrize("bad", NOT_TEXT, ids=["nul", "esc", "del", "c1", "surrogate"])
    @pytest.mark.parametrize(
        "field",
        ["title", "notes", "location", "demands", "organizer"],
    )
    def test_incident_strings(self, client, auth, field, bad):
        body: dict[str, Any] = {**INCIDENT, "notes": "catatan"}
        value = f"Jl. Raya{bad} 1"
        if field == "location":
            body["location"] = {**INCIDENT["location"], "address": value}
        elif field == "demands":
            body["demands"] = ["Kenaikan upah", value]
        elif field == "organizer":
            body["organizer"] = {**INCIDENT["organizer"], "name": value}
        else:
            body[field] = value
        response = post_json(client, f"{API}/incidents", body, auth("kasi.ciledug"))
        problem(response, 422, "validation-error")
        listed = client.get(f"{API}/incidents", headers=auth("kasi.ciledug")).json()
        assert listed["total"] == 0

    def test_newlines_and_tabs_stay_in_multi_line_text(self, client, auth):
        notes = "Massa berkumpul.\n\tPukul 09.00 bubar.\r\nTertib."
        response = client.post(
            f"{API}/incidents", json={**INCIDENT, "notes": notes}, headers=auth("kasi.ciledug")
        )
        assert response.status_code == 201, response.text
        assert response.json()["notes"] == notes

    @pytest.mark.parametrize("bad", ["\x00", "\n", "\t", "\x1f"], ids=["nul", "lf", "tab", "us"])
    def test_login_username(self, client, bad):
        form = {"grant_type": "password", "username": f"camat{bad}.ciledug", "password": "x" * 12}
        problem(client.post(f"{API}/auth/token", data=form), 422, "validation-error")

    def test_client_id(self, client):
        form = {"grant_type": "client_credentials", "client_id": "cli_\x00", "client_secret": "s"}
        problem(client.post(f"{API}/auth/token", data=form), 422, "validation-error")

    @pytest.mark.parametrize(
        ("who", "path", "params"),
        [
            ("pimpinan", "/incidents", {"unit": "cile\x00dug"}),
            ("admin", "/users", {"q": "cam\x00at"}),
            ("admin", "/users", {"unit": "\x00"}),
            ("pimpinan", "/incidents", {"unit\x00": "ciledug"}),
            ("pimpinan", "/sla/summary", {"unit": "ciledug\n"}),
        ],
        ids=["incidents-unit", "users-q", "users-unit", "parameter-name", "sla-unit-newline"],
    )
    def test_query_parameters(self, client, auth, who, path, params):
        response = client.get(f"{API}{path}", params=params, headers=auth(who))
        body = problem(response, 422, "validation-error")
        assert body["errors"][0]["loc"][0] == "query"

    @pytest.mark.parametrize("slug", ["%00", "cile%00dug", "ciledug%0A", "%C2%85"])
    def test_unit_path(self, client, auth, slug):
        response = client.get(f"{API}/units/{slug}", headers=auth("camat.ciledug"))
        body = problem(response, 422, "validation-error")
        assert body["errors"][0]["loc"] == ["path", "code_or_slug"]

    def test_a_clean_unit_path_still_answers(self, client, auth):
        response = client.get(f"{API}/units/ciledug", headers=auth("camat.ciledug"))
        assert response.status_code == 200
        assert response.json()["code"] == "36.71.06"


class TestTimestampsOutsideTheCalendar:
    """Valid ISO 8601 whose offset takes it before year 1 or after year 9999 in UTC."""

    @pytest.mark.parametrize("when", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
    @pytest.mark.parametrize("path", ["/incidents", "/sla/summary", "/archive-records"])
    def test_query_bounds(self, client, auth, path, when):
        for bound in ("from", "to"):
            response = client.get(f"{API}{path}", params={bound: when}, headers=auth("pimpinan"))
            body = problem(response, 422, "validation-error")
            assert body["errors"][0]["loc"] == ["query", bound]

    @pytest.mark.parametrize("field", ["reported_at", "occurred_at"])
    def test_incident_body(self, client, auth, field):
        body = {**INCIDENT, field: "9999-12-31T23:59:59-23:59"}
        response = client.post(f"{API}/incidents", json=body, headers=auth("kasi.ciledug"))
        problem(response, 422, "validation-error")

    def test_archive_record_body(self, client, flow):
        flow.run_to(11)
        response = client.post(
            f"{API}/incidents/{flow.incident_id}/archive-records",
            json={
                "classification_code": "300.1.2.1",
                "retention_years": 5,
                "occurred_at": "0001-01-01T00:00:00+23:59",
            },
            headers=flow.as_("kasi"),
        )
        problem(response, 422, "validation-error")


ORDER_DRAFT_CHANGES = [{"plan": None}, {"letter": None}]
REPORT_DRAFT_CHANGES = [
    {"summary": None},
    {"final_situation": None},
    {"chronology": None},
    {"field_report_ids": None},
    {"follow_up": "x" * 4001},
    {"recommendations": "x" * 4001},
    {
        "chronology": [
            {"at": "2026-11-28T09:00:00+07:00", "description": f"Kejadian {n}"} for n in range(201)
        ]
    },
]


def report_draft(client, flow) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The incident at step 9 with its report drafted (follow-up included)."""
    flow.run_to(9)
    created = client.post(
        f"{API}/incidents/{flow.incident_id}/drafts",
        json={**report_body(flow.field_report_ids), "follow_up": "Pemantauan lanjutan"},
        headers=flow.as_("danru"),
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


class TestDraftChanges:
    @pytest.mark.parametrize("change", ORDER_DRAFT_CHANGES, ids=lambda c: next(iter(c)))
    def test_order_draft(self, client, flow, change):
        flow.run_to(3)
        flow.step3()  # written and submitted; a return reopens it for edits
        flow.verify("kasi", decision="return", note="Perbaiki rencana")
        before = client.get(f"{API}/drafts/{flow.draft_id}", headers=flow.as_("danru")).json()
        response = client.patch(
            f"{API}/drafts/{flow.draft_id}", json=change, headers=flow.as_("danru")
        )
        problem(response, 422, "validation-error")
        after = client.get(f"{API}/drafts/{flow.draft_id}", headers=flow.as_("danru")).json()
        assert after["content"] == before["content"]

    @pytest.mark.parametrize(
        "change",
        REPORT_DRAFT_CHANGES,
        ids=[
            "summary",
            "final_situation",
            "chronology",
            "field_report_ids",
            "follow_up-long",
            "recommendations-long",
            "chronology-201",
        ],
    )
    def test_report_draft(self, client, flow, change):
        draft = report_draft(client, flow)
        response = client.patch(
            f"{API}/drafts/{draft['id']}", json=change, headers=flow.as_("danru")
        )
        problem(response, 422, "validation-error")
        after = client.get(f"{API}/drafts/{draft['id']}", headers=flow.as_("danru")).json()
        assert after["content"] == draft["content"]

    def test_follow_up_may_be_cleared(self, client, flow):
        created = report_draft(client, flow)
        response = client.patch(
            f"{API}/drafts/{created['id']}", json={"follow_up": None}, headers=flow.as_("danru")
        )
        assert response.status_code == 200, response.text
        assert response.json()["content"]["follow_up"] is None


@pytest.mark.skipif(not PG_URL, reason="SQLite takes one writer at a time: no two inserts race")
def test_two_camats_recording_one_walikota_number_at_once(client, flow_for, engine):
    """Both requests pass the check for the number before either has written it; the unique
    constraint then refuses the second, which must be the 409 the check would have given."""
    first, second = flow_for("ciledug"), flow_for("ciledug")
    first.create()
    second.create()
    body = {**WALIKOTA_ORDER, "number": "300.1.2.1/777/Trantib/2026"}
    # Hold every insert into orders until both requests wait on it, then let them go.
    with engine.connect() as blocker:
        transaction = blocker.begin()
        blocker.execute(text("LOCK TABLE orders IN EXCLUSIVE MODE"))
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(
                    client.post,
                    f"{API}/incidents/{f.incident_id}/orders",
                    json=body,
                    headers=f.as_("camat"),
                )
                for f in (first, second)
            ]
            deadline = time.monotonic() + 30
            waiting = 0
            while waiting < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
                with engine.connect() as probe:
                    waiting = probe.execute(
                        text(
                            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                            " WHERE c.relname = 'orders' AND NOT l.granted"
                        )
                    ).scalar_one()
            transaction.commit()
            responses = [future.result(timeout=60) for future in futures]
    assert waiting == 2, "both requests should have reached the insert"
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409)
    problem(refused, 409, "number-taken")
