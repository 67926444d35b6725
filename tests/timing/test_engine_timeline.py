"""A whole incident through the real engine, with the clock moved between actions: every run
(including correction attempts) measured on its calendar, as the timeline shows it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
import time_machine
from sqlmodel import Session, select

from app.timing.calendars import at_risk_instant
from app.timing.models import StepRun
from tests.lifecycle.flow import Flow, field_report
from tests.timing.factory import wib


@pytest.fixture
def travel() -> Iterator[Callable[[datetime], None]]:
    # The system clock moves too: tokens are checked against it as well as the service clock.
    traveller = time_machine.travel(wib(2026, 11, 27, 8), tick=False)
    shifted = traveller.start()

    def to(moment: datetime) -> None:
        shifted.move_to(moment)

    yield to
    traveller.stop()


def test_whole_incident_timeline(client, token_for, user_id, travel, db) -> None:  # type: ignore[no-untyped-def]
    # A fresh token per request: the clock jumps by hours and days.
    flow = Flow(client, lambda u: {"Authorization": f"Bearer {token_for(u)}"}, user_id)
    flow.create()  # Friday 27 November 2026, 08:00 WIB
    travel(wib(2026, 11, 27, 8, 40))
    flow.step1(
        issued_on="2026-11-27",
        police_coordination={
            "officer": "AKP Rahmat",
            "police_unit": "Polsek Ciledug",
            "contacted_at": "2026-11-27T07:30:00+07:00",
        },
    )
    travel(wib(2026, 11, 27, 10))  # 80 minutes for a 1 Jam step: late
    flow.step2()
    travel(wib(2026, 11, 27, 10, 30))
    flow.step3()
    travel(wib(2026, 11, 27, 11))
    flow.verify("kasi")
    travel(wib(2026, 11, 27, 11, 30))
    flow.verify("sekcam", "return", "Dasar belum lengkap")  # back to step 3
    travel(wib(2026, 11, 27, 12))
    patched = client.patch(
        f"/api/v1/drafts/{flow.draft_id}",
        json={
            "plan": {
                "summary": "Diperbaiki",
                "personnel_count": 14,
                "assembly_point": "Halaman kantor kecamatan",
            }
        },
        headers=flow.as_("danru"),
    )
    assert patched.status_code == 200, patched.text
    flow.step3()
    for moment, who in (
        (wib(2026, 11, 27, 12, 30), "kasi"),
        (wib(2026, 11, 27, 13), "sekcam"),
        (wib(2026, 11, 27, 13, 30), "camat"),
    ):
        travel(moment)
        flow.verify(who)
    travel(wib(2026, 11, 27, 14))
    flow.step5()
    travel(wib(2026, 11, 27, 14, 30))
    flow.step6()
    travel(wib(2026, 11, 27, 14, 50))
    flow.step7()
    travel(wib(2026, 11, 27, 15, 30))
    for member in ("anggota1", "anggota2"):
        report = field_report(
            started_at="2026-11-27T14:55:00+07:00", ended_at="2026-11-27T15:25:00+07:00"
        )
        response = client.post(
            f"/api/v1/incidents/{flow.incident_id}/field-reports",
            json=report,
            headers=flow.as_(member),
        )
        assert response.status_code == 201, response.text
        flow.field_report_ids.append(response.json()["id"])
    travel(wib(2026, 11, 30, 10))  # Monday: 8.5 + 10 working hours of a 2 Hari step
    flow.step9()
    travel(wib(2026, 11, 30, 12))
    flow.verify("kasi", "return", "Lengkapi kronologi", draft_id=flow.report_draft_id)
    travel(wib(2026, 12, 1, 12))
    patched = client.patch(
        f"/api/v1/drafts/{flow.report_draft_id}",
        json={"summary": "Unjuk rasa berjalan tertib; kronologi dilengkapi."},
        headers=flow.as_("danru"),
    )
    assert patched.status_code == 200, patched.text
    flow.step9()
    travel(wib(2026, 12, 2, 13))  # 25 working hours for a 1 Hari step: late
    flow.step10()
    travel(wib(2026, 12, 2, 13, 5))
    flow.step11()

    travel(wib(2026, 12, 3, 9))
    response = client.get(
        f"/api/v1/incidents/{flow.incident_id}/timeline", headers=flow.as_("camat")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    runs = body["runs"]
    minutes = 60
    hours = 3600
    assert [
        (r["step"], r["attempt"], r["sla"], r["calendar"], r["elapsed_seconds"], r["status"])
        for r in runs
    ] == [
        (1, 1, "1 Jam", "wall", 40 * minutes, "on_time"),
        (2, 1, "1 Jam", "wall", 80 * minutes, "late"),
        (3, 1, "1 Jam", "wall", 30 * minutes, "on_time"),
        (4, 1, "2 Jam", "wall", 60 * minutes, "on_time"),
        (3, 2, "1 Jam", "wall", 30 * minutes, "on_time"),
        (4, 2, "2 Jam", "wall", 90 * minutes, "on_time"),
        (5, 1, "2 Jam", "wall", 30 * minutes, "on_time"),
        (6, 1, "1 Jam", "wall", 30 * minutes, "on_time"),
        (7, 1, "30 Menit", "wall", 20 * minutes, "on_time"),
        (8, 1, "1 Jam", "wall", 40 * minutes, "on_time"),
        (9, 1, "2 Hari", "working_days", 18 * hours + 30 * minutes, "on_time"),
        (10, 1, "1 Hari", "working_days", 2 * hours, "on_time"),
        (9, 2, "2 Hari", "working_days", 24 * hours, "on_time"),
        (10, 2, "1 Hari", "working_days", 25 * hours, "late"),
        (11, 1, "10 Menit", "wall", 5 * minutes, "on_time"),
    ]
    # Each run starts when the one before it completes; step 1 at the report.
    for before, after in zip(runs, runs[1:], strict=False):
        assert after["started_at"] == before["completed_at"]
    assert runs[0]["started_at"].startswith("2026-11-27T01:00:00")
    assert runs[1]["overdue_seconds"] == 20 * minutes
    assert runs[13]["overdue_seconds"] == hours
    assert runs[13]["elapsed_text"] == "1 hari 1 jam"
    # Friday 15:30 plus 2 working days is Tuesday 15:30.
    assert runs[10]["due_at"].startswith("2026-12-01T08:30:00")
    totals = body["totals"]
    assert totals["ended_at"].startswith("2026-12-02T06:05:00")
    assert totals["statuses"] == {
        "on_time": 13,
        "late": 2,
        "running": 0,
        "at_risk": 0,
        "breached": 0,
        "cancelled": 0,
    }
    # The engine's inserts get the 75% instant that reports and the worker compare in SQL.
    with Session(db) as session:
        stored = session.exec(
            select(StepRun).where(StepRun.incident_id == uuid.UUID(flow.incident_id))
        ).all()
    assert len(stored) == 15
    for run in stored:
        assert run.at_risk_at == at_risk_instant(run.calendar, run.started_at, run.sla_seconds)
