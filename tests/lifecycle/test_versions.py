"""Two SOP versions side by side on one server: each incident follows the version it started
under to its end, and its tasks, timeline, step records and SLA figures are that version's.

The revision (tests/fixtures/sop/unjuk-rasa-v2.toml) inserts "Koordinasi dengan Polri" after
the Camat's order, gives the report review 2 Hari and adds a Sekcam paraf to it.
"""

from __future__ import annotations

from typing import Any

from tests.lifecycle.flow import Flow
from tests.lifecycle.sop import V1, V2, active, definition, step_of

SUMMARY = "/api/v1/sla/summary"


def _task(flow: Flow, who: str) -> dict[str, Any] | None:
    response = flow.client.get("/api/v1/tasks", headers=flow.as_(who))
    assert response.status_code == 200, response.text
    return next((t for t in response.json()["items"] if t["incident_id"] == flow.incident_id), None)


def _timeline(flow: Flow) -> list[dict[str, Any]]:
    response = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/timeline", headers=flow.as_("camat")
    )
    assert response.status_code == 200, response.text
    return response.json()["runs"]


def test_each_incident_keeps_its_version_to_the_end(flow_for: Any) -> None:
    old, new = flow_for("ciledug"), flow_for("ciledug")
    old.create()
    old.step1()
    with active(V2):
        new.create()
    new.step1()
    assert (old.incident()["sop_version"], new.incident()["sop_version"]) == (V1, V2)

    # At step 2 the two versions wait on the same Kasi for different work.
    v1_step2, v2_step2 = definition(V1).step(2), definition(V2).step(2)
    assert (old.incident()["current_step_code"], new.incident()["current_step_code"]) == (
        v1_step2.code,
        v2_step2.code,
    )
    mine_old, mine_new = _task(old, "kasi"), _task(new, "kasi")
    assert mine_old is not None and mine_new is not None
    assert (mine_old["sop_version"], mine_old["step_code"]) == (V1, v1_step2.code)
    assert (mine_new["sop_version"], mine_new["step_code"]) == (V2, v2_step2.code)
    assert "instruct" in mine_old["actions"] and "step_record" not in mine_old["actions"]
    assert "step_record" in mine_new["actions"] and "instruct" not in mine_new["actions"]

    # The v1 incident refuses the revision's step record; the v2 one refuses the instruction.
    refused = old.client.post(
        f"/api/v1/incidents/{old.incident_id}/step-records",
        json={"note": "Koordinasi"},
        headers=old.as_("kasi"),
    )
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/wrong-step")
    refused = new.client.post(
        f"/api/v1/incidents/{new.incident_id}/instructions",
        json={"danru_id": new.uid("danru")},
        headers=new.as_("kasi"),
    )
    assert refused.status_code == 409
    assert refused.json()["current_step"] == 2

    new.complete_step()
    records = new.client.get(
        f"/api/v1/incidents/{new.incident_id}/step-records", headers=new.as_("camat")
    ).json()
    assert [(r["sop_version"], r["step"], r["step_code"]) for r in records] == [
        (V2, 2, v2_step2.code)
    ]

    # The revision's report review: the Kasi's review, then the Sekcam's paraf.
    review = step_of(definition(V2), "verify")  # the first verifying step: the order draft
    report_review = next(
        s for s in definition(V2).steps if s.draft == "report" and "verify" in s.completes_with
    )
    assert review.number < report_review.number
    new.run_to(report_review.number)
    assert new.incident()["stage"] == report_review.stages[0]
    new.verify("kasi", draft_id=new.report_draft_id)
    at_paraf = new.incident()
    assert (at_paraf["current_step"], at_paraf["stage"]) == (report_review.number, "paraf")
    assert at_paraf["waiting_on"] == "sekcam"
    task = _task(new, "sekcam")
    assert task is not None and task["stage"] == "paraf" and task["actions"] == ["verify"]
    assert _task(new, "kasi") is None
    # The running run now names the Sekcam: SLA warnings go to whom the step waits on.
    running = [r for r in _timeline(new) if r["completed_at"] is None]
    assert [(r["step"], r["role"]) for r in running] == [(report_review.number, "sekcam")]

    old.run_to(12)
    new.run_to(13)
    assert old.incident()["status"] == new.incident()["status"] == "closed"

    # Each timeline is its own version's steps, with their time standards.
    for flow, version in ((old, V1), (new, V2)):
        sop = definition(version)
        runs = _timeline(flow)
        assert [(r["step"], r["step_code"]) for r in runs] == [
            (s.number, s.code) for s in sop.steps
        ]
        assert [r["sla"] for r in runs] == [s.waktu for s in sop.steps]
        # A run names whom its step waits on: the members at the field work (no one person).
        field_work = step_of(sop, "field_report").number
        assert [(r["role"], r["assignee_id"]) for r in runs if r["step"] == field_work] == [
            ("anggota", None)
        ]
    assert definition(V1).step(10).waktu != definition(V2).step(11).waktu

    # The summary keeps the versions apart: one row per version and step.
    summary = old.client.get(SUMMARY, headers=old.as_("camat")).json()
    rows = [(r["sop_version"], r["step"], r["step_code"], r["runs"]) for r in summary["by_step"]]
    expected = [(v, s.number, s.code, 1) for v in (V1, V2) for s in definition(v).steps]
    assert rows == expected


def test_audit_events_name_version_and_step_code(flow: Flow) -> None:
    with active(V2):
        flow.create()
    flow.run_to(3)
    events = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
    ).json()
    assert events["chain_valid"]
    sop = definition(V2)
    assert [(e["sop_version"], e["step"], e["step_code"]) for e in events["events"]] == [
        (V2, None, None),
        (V2, 1, sop.step(1).code),
        (V2, 2, sop.step(2).code),
    ]


def test_an_action_no_known_version_uses_is_a_wrong_step(
    flow: Flow, tmp_path: Any, monkeypatch: Any
) -> None:
    """With only the shipped SOP loaded, nobody takes a step record anywhere: the answer says
    the incident's version has no such step instead of naming no scope."""
    from app.core.config import get_settings

    flow.create()
    monkeypatch.setenv("TRANTIB_SOP_DEFINITIONS_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        response = flow.client.post(
            f"/api/v1/incidents/{flow.incident_id}/step-records",
            json={"note": "Koordinasi"},
            headers=flow.as_("kasi"),
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["type"].endswith("/wrong-step")
    assert V1 in body["detail"] and body["current_step"] == 1
