"""Refusals of the incident and step endpoints: 401, 404 for another kecamatan, 409, 412, 422;
reading, filters, the task inbox, escalation history and cancellation."""

from __future__ import annotations

import uuid

import pytest

from tests.lifecycle.flow import INCIDENT, ORDER_DRAFT, WALIKOTA_ORDER, Flow

PROBLEM = "application/problem+json"


def problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/" + kind), body
    assert body["status"] == status
    return body


def test_anonymous_calls_are_401(flow: Flow) -> None:
    flow.run_to(1)
    inc = flow.incident_id
    for method, url in [
        ("GET", "/api/v1/incidents"),
        ("POST", "/api/v1/incidents"),
        ("GET", f"/api/v1/incidents/{inc}"),
        ("POST", f"/api/v1/incidents/{inc}/orders"),
        ("POST", f"/api/v1/incidents/{inc}/instructions"),
        ("POST", f"/api/v1/incidents/{inc}/drafts"),
        ("GET", "/api/v1/tasks"),
    ]:
        response = flow.client.request(method, url, json={})
        problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_kecamatan_sees_404_and_changes_nothing(flow: Flow, flow_for) -> None:
    flow.run_to(5)
    other = flow_for("larangan")
    inc = flow.incident_id
    for method, url, body, who in [
        ("GET", f"/api/v1/incidents/{inc}", None, "camat"),
        ("GET", f"/api/v1/incidents/{inc}/events", None, "camat"),
        ("GET", f"/api/v1/drafts/{flow.draft_id}", None, "danru"),
        ("GET", f"/api/v1/drafts/{flow.draft_id}/versions", None, "danru"),
        (
            "POST",
            f"/api/v1/incidents/{inc}/orders",
            {"kind": "surat_perintah", "draft_id": flow.draft_id},
            "camat",
        ),
        ("POST", f"/api/v1/incidents/{inc}/cancel", {"reason": "Bukan wilayah kami"}, "camat"),
        ("POST", f"/api/v1/drafts/{flow.draft_id}/verifications", {"decision": "approve"}, "kasi"),
        ("PATCH", f"/api/v1/drafts/{flow.draft_id}", {"plan": ORDER_DRAFT["plan"]}, "danru"),
    ]:
        response = flow.client.request(method, url, json=body, headers=other.as_(who))
        problem(response, 404, "not-found")
    assert flow.incident()["current_step"] == 5
    listed = flow.client.get("/api/v1/incidents", headers=other.as_("camat")).json()
    assert listed["total"] == 0


def test_pimpinan_reads_every_unit_and_writes_nothing(flow: Flow, auth) -> None:
    flow.run_to(2)
    read = flow.client.get(f"/api/v1/incidents/{flow.incident_id}", headers=auth("pimpinan"))
    assert read.status_code == 200 and read.json()["allowed_actions"] == []
    assert flow.client.get("/api/v1/incidents", headers=auth("pimpinan")).json()["total"] == 1
    write = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/instructions",
        json={"danru_id": flow.uid("danru")},
        headers=auth("pimpinan"),
    )
    problem(write, 403, "insufficient-scope")


def test_incident_body_validation(flow: Flow) -> None:
    cases = [
        {**INCIDENT, "status": "closed"},  # a server-owned field
        {**INCIDENT, "current_step": 9},
        {**INCIDENT, "kind": "pesta"},
        {**INCIDENT, "location": {**INCIDENT["location"], "kelurahan": "Cikokol"}},  # Tangerang's
        {**INCIDENT, "occurred_at": "2026-11-28T09:00:00"},  # no offset
        {**INCIDENT, "estimated_crowd": -1},
    ]
    for body in cases:
        response = flow.client.post("/api/v1/incidents", json=body, headers=flow.as_("kasi"))
        problem(response, 422, "validation-error")
    out_of_bounds = [
        {**INCIDENT, "reported_at": "2099-01-01T00:00:00+07:00"},
        {**INCIDENT, "reported_at": "0001-01-02T00:00:00+00:00"},
        {**INCIDENT, "occurred_at": "2000-01-01T00:00:00+07:00"},
    ]
    for body in out_of_bounds:
        response = flow.client.post("/api/v1/incidents", json=body, headers=flow.as_("kasi"))
        problem(response, 422, "occurred-at-out-of-bounds")
    assert flow.client.get("/api/v1/incidents", headers=flow.as_("kasi")).json()["total"] == 0
    malformed = flow.client.post(
        "/api/v1/incidents",
        content=b"{not json",
        headers={**flow.as_("kasi"), "Content-Type": "application/json"},
    )
    problem(malformed, 400, "malformed-json")


def test_danru_cannot_register_an_incident(flow: Flow) -> None:
    response = flow.client.post("/api/v1/incidents", json=INCIDENT, headers=flow.as_("danru"))
    problem(response, 403, "insufficient-scope")


def test_step_body_validation_and_bounds(flow: Flow) -> None:
    flow.run_to(1)
    url = f"/api/v1/incidents/{flow.incident_id}/orders"
    no_police = {k: v for k, v in WALIKOTA_ORDER.items() if k != "police_coordination"}
    problem(
        flow.client.post(url, json=no_police, headers=flow.as_("camat")), 422, "validation-error"
    )
    future = {**WALIKOTA_ORDER, "occurred_at": "2099-01-01T00:00:00+00:00"}
    body = problem(
        flow.client.post(url, json=future, headers=flow.as_("camat")),
        422,
        "occurred-at-out-of-bounds",
    )
    assert "future" in body["detail"]
    early = {**WALIKOTA_ORDER, "occurred_at": "2000-01-01T00:00:00+00:00"}
    body = problem(
        flow.client.post(url, json=early, headers=flow.as_("camat")),
        422,
        "occurred-at-out-of-bounds",
    )
    assert "before the step started" in body["detail"] and body["bound"]
    assert flow.incident()["current_step"] == 1


def test_instruction_needs_a_danru_of_the_unit(flow: Flow, user_id) -> None:
    flow.run_to(2)
    url = f"/api/v1/incidents/{flow.incident_id}/instructions"
    for danru in (user_id("danru.larangan"), flow.uid("anggota1"), str(uuid.uuid4())):
        problem(
            flow.client.post(url, json={"danru_id": danru}, headers=flow.as_("kasi")),
            422,
            "validation-error",
        )
    assert flow.incident()["current_step"] == 2


def test_only_the_instructed_danru_drafts(flow: Flow, engine) -> None:
    flow.run_to(3)
    from sqlmodel import Session

    from app.users.models import User

    with Session(engine) as session:
        other = User(
            username="danru2.ciledug",
            full_name="Danru 2",
            role="danru",
            unit_id=6,
            password_hash="x",
        )
        session.add(other)
        session.commit()
    response = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/drafts",
        json=ORDER_DRAFT,
        headers=flow.auth("danru2.ciledug"),
    )
    problem(response, 403, "not-assigned")


def test_return_needs_a_note_and_order_is_kept(flow: Flow) -> None:
    flow.run_to(4)
    url = f"/api/v1/drafts/{flow.draft_id}/verifications"
    problem(
        flow.client.post(url, json={"decision": "return"}, headers=flow.as_("kasi")),
        422,
        "validation-error",
    )
    out_of_order = flow.client.post(url, json={"decision": "approve"}, headers=flow.as_("camat"))
    body = problem(out_of_order, 409, "wrong-step")
    assert body["current_step"] == 4 and body["stage"] == "review"
    assert body["waiting_on"] == "kasi_trantib"


def test_returned_draft_must_be_revised_before_resubmitting(flow: Flow) -> None:
    flow.run_to(4)
    flow.verify("kasi", "return", "Perbaiki")
    response = flow.client.post(f"/api/v1/drafts/{flow.draft_id}/submit", headers=flow.as_("danru"))
    problem(response, 409, "draft-not-revised")


def test_draft_patch_refusals(flow: Flow) -> None:
    flow.run_to(3)
    created = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/drafts", json=ORDER_DRAFT, headers=flow.as_("danru")
    )
    draft = created.json()
    url = f"/api/v1/drafts/{draft['id']}"
    assert created.headers["ETag"] == f'"{draft["version"]}"'
    problem(
        flow.client.patch(url, json={"summary": "x" * 10}, headers=flow.as_("danru")),
        422,
        "validation-error",
    )
    problem(
        flow.client.patch(url, json={"status": "approved"}, headers=flow.as_("danru")),
        422,
        "validation-error",
    )
    stale = flow.client.patch(
        url, json={"plan": ORDER_DRAFT["plan"]}, headers={**flow.as_("danru"), "If-Match": '"999"'}
    )
    problem(stale, 412, "precondition-failed")
    fresh = flow.client.patch(
        url,
        json={"plan": {**ORDER_DRAFT["plan"], "personnel_count": 9}},
        headers={**flow.as_("danru"), "If-Match": f'"{draft["version"]}"'},
    )
    assert fresh.status_code == 200 and fresh.json()["current_version"] == 1
    assert fresh.json()["content"]["plan"]["personnel_count"] == 9
    again = problem(
        flow.client.post(
            f"/api/v1/incidents/{flow.incident_id}/drafts",
            json=ORDER_DRAFT,
            headers=flow.as_("danru"),
        ),
        409,
        "draft-exists",
    )
    assert again["detail"]
    flow.client.post(f"{url}/submit", headers=flow.as_("danru"))
    problem(
        flow.client.patch(url, json={"plan": ORDER_DRAFT["plan"]}, headers=flow.as_("danru")),
        409,
        "wrong-step",
    )


def test_author_cannot_verify_own_draft(flow: Flow, engine) -> None:
    """A kasi who also drafted (acting as danru) may not verify: enforced by author id."""
    flow.run_to(4)
    from sqlalchemy import text

    kasi = flow.uid("kasi")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE drafts SET author_id = :a"),
            {"a": kasi.replace("-", "") if engine.dialect.name == "sqlite" else kasi},
        )
    response = flow.client.post(
        f"/api/v1/drafts/{flow.draft_id}/verifications",
        json={"decision": "approve"},
        headers=flow.as_("kasi"),
    )
    problem(response, 403, "own-draft")


def test_walikota_number_cannot_be_reused(flow: Flow, flow_for) -> None:
    flow.run_to(2)
    second = flow_for("ciledug")
    second.create()
    number = f"WK/{flow.incident_id[:8]}"
    response = second.client.post(
        f"/api/v1/incidents/{second.incident_id}/orders",
        json={**WALIKOTA_ORDER, "number": number},
        headers=second.as_("camat"),
    )
    problem(response, 409, "number-taken")


def test_if_match_on_step_actions(flow: Flow) -> None:
    flow.run_to(2)
    got = flow.client.get(f"/api/v1/incidents/{flow.incident_id}", headers=flow.as_("kasi"))
    etag = got.headers["ETag"]
    url = f"/api/v1/incidents/{flow.incident_id}/instructions"
    body = {"danru_id": flow.uid("danru")}
    problem(
        flow.client.post(url, json=body, headers={**flow.as_("kasi"), "If-Match": '"1"'}),
        412,
        "precondition-failed",
    )
    ok = flow.client.post(url, json=body, headers={**flow.as_("kasi"), "If-Match": etag})
    assert ok.status_code == 201


def test_cancel_before_field_work_only(flow: Flow, flow_for) -> None:
    flow.run_to(3)
    url = f"/api/v1/incidents/{flow.incident_id}/cancel"
    problem(flow.client.post(url, json={}, headers=flow.as_("camat")), 422, "validation-error")
    problem(
        flow.client.post(url, json={"reason": "Acara batal"}, headers=flow.as_("kasi")),
        403,
        "insufficient-scope",
    )
    cancelled = flow.client.post(
        url, json={"reason": "Acara dibatalkan panitia"}, headers=flow.as_("camat")
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    problem(
        flow.client.post(url, json={"reason": "Acara batal lagi"}, headers=flow.as_("camat")),
        409,
        "incident-closed",
    )
    late = flow_for("ciledug")
    late.run_to(8)
    body = problem(
        late.client.post(
            f"/api/v1/incidents/{late.incident_id}/cancel",
            json={"reason": "Terlambat"},
            headers=late.as_("camat"),
        ),
        409,
        "wrong-step",
    )
    assert body["current_step"] == 8


def test_escalation_history(flow: Flow) -> None:
    flow.run_to(2)
    url = f"/api/v1/incidents/{flow.incident_id}/escalations"
    for level in ("kuning", "merah"):
        response = flow.client.post(
            url, json={"level": level, "note": "Massa bertambah"}, headers=flow.as_("kasi")
        )
        assert response.status_code == 201
    problem(
        flow.client.post(url, json={"level": "hitam"}, headers=flow.as_("kasi")),
        422,
        "validation-error",
    )
    problem(
        flow.client.post(url, json={"level": "hijau"}, headers=flow.as_("danru")),
        403,
        "insufficient-scope",
    )
    history = flow.client.get(url, headers=flow.as_("danru")).json()
    assert [(h["from_level"], h["to_level"]) for h in history] == [
        ("hijau", "kuning"),
        ("kuning", "merah"),
    ]
    assert flow.incident()["escalation_level"] == "merah"
    assert flow.incident()["current_step"] == 2


def test_list_filters_and_page_cap(flow: Flow, flow_for) -> None:
    flow.run_to(3)
    other = flow_for("ciledug")
    other.create(kind="kerusuhan")
    headers = flow.as_("camat")
    get = flow.client.get
    assert get("/api/v1/incidents", headers=headers).json()["total"] == 2
    assert get("/api/v1/incidents?step=3", headers=headers).json()["total"] == 1
    assert get("/api/v1/incidents?kind=kerusuhan", headers=headers).json()["total"] == 1
    assert get("/api/v1/incidents?status=closed", headers=headers).json()["total"] == 0
    assert get("/api/v1/incidents?limit=1000", headers=headers).json()["limit"] == 100
    problem(get("/api/v1/incidents?limit=0", headers=headers), 422, "validation-error")
    # A definition holds at most 99 steps.
    problem(get("/api/v1/incidents?step=100", headers=headers), 422, "validation-error")


@pytest.mark.parametrize(("who", "expected"), [("camat", 2), ("kasi", 0), ("danru", 0)])
def test_tasks_inbox_at_step_1(flow: Flow, who: str, expected: int) -> None:
    flow.run_to(1)
    flow.create()
    items = flow.client.get("/api/v1/tasks", headers=flow.as_(who)).json()["items"]
    assert len(items) == expected
    if items:
        assert items[0]["step"] == 1 and "order_walikota" in items[0]["actions"]
        assert items[0]["waiting_since"] <= items[1]["waiting_since"]


def test_tasks_for_members_only_when_briefed(flow: Flow) -> None:
    flow.run_to(8)

    def tasks(who: str) -> list:
        return flow.client.get("/api/v1/tasks", headers=flow.as_(who)).json()["items"]

    assert [t["step"] for t in tasks("anggota1")] == [8]
    assert tasks("anggota3") == []
    flow.step8(("anggota1",))
    assert tasks("anggota1") == []
    assert [t["step"] for t in tasks("anggota2")] == [8]
