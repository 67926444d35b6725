"""A whole incident through all 11 steps over HTTP, as seven different users, with a return at
step 4 (by the sekcam) and one at step 10, checking state, documents and the audit trail."""

from __future__ import annotations

from sqlalchemy import text

from app.audit.service import verify_chain
from tests.lifecycle.flow import ORDER_DRAFT, Flow


def state(flow: Flow) -> tuple[int | None, str | None, str]:
    inc = flow.incident()
    return inc["current_step"], inc["stage"], inc["status"]


def test_whole_incident_with_two_corrections(flow: Flow, engine) -> None:
    created = flow.create()
    assert created["current_step"] == 1 and created["waiting_on"] == "camat"
    assert created["register_number"] == f"36.71.06/UR/{created['reported_at'][:4]}/0001"
    assert created["location"]["kelurahan_code"] == "36.71.06.1003"

    flow.step1()
    assert state(flow) == (2, None, "active")
    flow.step2()
    assert state(flow) == (3, None, "active")
    submitted = flow.step3()
    assert submitted["status"] == "submitted" and submitted["current_version"] == 1
    assert state(flow) == (4, "review", "active")

    flow.verify("kasi")
    assert state(flow) == (4, "paraf", "active")
    returned = flow.verify("sekcam", "return", "Dasar belum mencantumkan nomor SP Walikota")
    assert returned["stage"] == "paraf" and returned["draft_version"] == 1
    assert state(flow) == (3, None, "active")

    # The danru revises: a new version; the first one stays readable.
    revised = flow.client.patch(
        f"/api/v1/drafts/{flow.draft_id}",
        json={
            "plan": {
                "summary": "Rencana diperbaiki",
                "personnel_count": 14,
                "assembly_point": "Halaman kantor kecamatan",
            }
        },
        headers=flow.as_("danru"),
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["current_version"] == 2 and revised.json()["status"] == "editing"
    flow.step3()
    assert state(flow) == (4, "review", "active")
    flow.step4()
    assert state(flow) == (5, None, "active")

    versions = flow.client.get(
        f"/api/v1/drafts/{flow.draft_id}/versions", headers=flow.as_("camat")
    ).json()["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["content"]["plan"]["personnel_count"] == 12
    assert versions[1]["content"]["plan"]["personnel_count"] == 14
    decisions = flow.client.get(
        f"/api/v1/drafts/{flow.draft_id}/verifications", headers=flow.as_("camat")
    ).json()
    assert [(d["stage"], d["decision"], d["draft_version"]) for d in decisions] == [
        ("review", "approve", 1),
        ("paraf", "return", 1),
        ("review", "approve", 2),
        ("paraf", "approve", 2),
        ("verify", "approve", 2),
    ]

    order = flow.step5()
    assert order["kind"] == "surat_perintah" and order["draft_version"] == 2
    assert order["number"] == f"300.1.2.1/0001/36.71.06/{order['issued_on'][:4]}"
    frozen = flow.client.patch(
        f"/api/v1/drafts/{flow.draft_id}",
        json={"plan": ORDER_DRAFT["plan"]},
        headers=flow.as_("danru"),
    )
    assert frozen.status_code == 409 and frozen.json()["type"].endswith("/draft-frozen")

    flow.step6()
    assert state(flow) == (7, None, "active")
    flow.step7()
    assert state(flow) == (8, None, "active")
    flow.step8()
    assert state(flow) == (9, None, "active")
    flow.step9()
    assert state(flow) == (10, "review", "active")
    flow.verify("kasi", "return", "Lengkapi kronologi", draft_id=flow.report_draft_id)
    assert state(flow) == (9, None, "active")
    patched = flow.client.patch(
        f"/api/v1/drafts/{flow.report_draft_id}",
        json={
            "chronology": [
                {
                    "at": "2026-11-28T09:05:00+07:00",
                    "description": "Massa tiba",
                    "escalation_level": "hijau",
                }
            ]
        },
        headers=flow.as_("danru"),
    )
    assert patched.status_code == 200, patched.text
    flow.step9()
    flow.step10()
    assert state(flow) == (11, None, "active")
    report = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/report", headers=flow.as_("camat")
    )
    assert report.status_code == 200 and report.json()["number"] == 2
    archive = flow.step11()
    assert state(flow) == (None, None, "closed") or state(flow)[2] == "closed"
    assert archive["manifest_sha256"]

    trail = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
    ).json()
    actions = [e["action"] for e in trail["events"]]
    assert actions[0] == "incident_create" and actions[-1] == "archive"
    assert actions.count("verify") == 7
    assert trail["chain_valid"] is True
    assert [e["seq"] for e in trail["events"]] == list(range(1, len(actions) + 1))
    assert {e["actor_role"] for e in trail["events"]} >= {
        "camat",
        "sekcam",
        "kasi_trantib",
        "danru",
        "anggota",
    }

    # The step runs: step 3 and 4 ran twice, 9 and 10 twice, the rest once.
    with engine.connect() as conn:
        runs = conn.execute(
            text(
                "SELECT step, count(*) FROM step_runs WHERE incident_id = :i GROUP BY step "
                "ORDER BY step"
            ),
            {
                "i": flow.incident_id.replace("-", "")
                if engine.dialect.name == "sqlite"
                else flow.incident_id
            },
        ).all()
    assert dict(runs) == {1: 1, 2: 1, 3: 2, 4: 2, 5: 1, 6: 1, 7: 1, 8: 1, 9: 2, 10: 2, 11: 1}

    closed = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/escalations",
        json={"level": "merah"},
        headers=flow.as_("camat"),
    )
    assert closed.status_code == 409 and closed.json()["type"].endswith("/incident-closed")


def test_audit_chain_detects_tampering(flow: Flow, engine) -> None:
    flow.run_to(3)
    import uuid

    from sqlmodel import Session

    incident_id = uuid.UUID(flow.incident_id)
    with Session(engine) as session:
        assert verify_chain(session, incident_id).valid
    if engine.dialect.name == "postgresql":
        # The trigger refuses the edit outright.
        import pytest
        from sqlalchemy.exc import DBAPIError

        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET action = 'x' WHERE seq = 2"))
        return
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET data = '{}' WHERE seq = 2"))
    with Session(engine) as session:
        report = verify_chain(session, incident_id)
    assert not report.valid and report.first_broken_seq == 2
