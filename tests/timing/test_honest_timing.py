"""Honest timing: a claimed time is bounded, explained and measured beside the recorded one,
and a breach once announced stays on the record.

Bounds and thresholds come from the SOP definition file (tests/lifecycle/sop.py), never from
the engine.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from app.outbox.models import OutboxEvent
from app.timing import worker
from app.timing.calendars import WorkingDayCalendar, working_day_calendar
from app.timing.models import StepRun
from app.timing.sla import parse_sla
from tests.lifecycle.flow import WALIKOTA_ORDER, Flow, field_report
from tests.lifecycle.sop import V1, definition, step_of

SOP = definition(V1)
DESK = SOP.backdating_of(SOP.step(1))
FIELD = SOP.backdating_of(step_of(SOP, "field_report"))
LIMIT = timedelta(seconds=parse_sla(DESK.limit).seconds)
REASON_AFTER = timedelta(seconds=parse_sla(DESK.reason_after).seconds)
STEP1_SLA = timedelta(seconds=parse_sla(SOP.step(1).waktu).seconds)
MINUTE = timedelta(minutes=1)


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith(f"/{kind}"), body
    return body


def walikota(flow: Flow, when: datetime | None = None, reason: str | None = None) -> Any:
    body: dict[str, Any] = {**WALIKOTA_ORDER, "number": f"WK/{flow.incident_id[:8]}"}
    if when is not None:
        body["occurred_at"] = when.isoformat()
    if reason is not None:
        body["occurred_at_reason"] = reason
    return flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/orders", json=body, headers=flow.as_("camat")
    )


def timeline(flow: Flow) -> list[dict[str, Any]]:
    response = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/timeline", headers=flow.as_("camat")
    )
    assert response.status_code == 200, response.text
    return response.json()["runs"]


def test_desk_step_bounds_at_their_edges(flow_for: Any) -> None:
    """Just inside each bound is accepted, just outside is 422 naming the bound."""
    reported = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    flows = [flow_for("ciledug") for _ in range(3)]
    for f in flows:
        f.create(reported_at=reported)
    now = datetime.now(UTC)
    # Past the limit: refused, whatever the reason.
    body = problem(
        walikota(flows[0], now - LIMIT - MINUTE, "Lupa"), 422, "occurred-at-out-of-bounds"
    )
    assert body["limit_seconds"] == LIMIT.total_seconds()
    assert body["field"] == "occurred_at"
    # Inside the limit, past the reason threshold: a reason is required, then accepted.
    body = problem(walikota(flows[0], now - LIMIT + MINUTE), 422, "occurred-at-reason-required")
    assert body["reason_after_seconds"] == REASON_AFTER.total_seconds()
    assert walikota(flows[0], now - LIMIT + MINUTE, "Rapat koordinasi").status_code == 201
    # Inside the reason threshold: no reason needed, not flagged backdated.
    assert walikota(flows[1], now - REASON_AFTER + MINUTE).status_code == 201
    # In the future beyond the skew: refused.
    problem(walikota(flows[2], now + 10 * MINUTE), 422, "occurred-at-out-of-bounds")
    assert flows[2].incident()["current_step"] == 1
    first, second = timeline(flows[0])[0], timeline(flows[1])[0]
    assert (first["backdated"], first["backdated_reason"]) == (True, "Rapat koordinasi")
    assert (second["backdated"], second["backdated_reason"]) == (False, None)


def test_incident_times_within_the_horizon(flow: Flow) -> None:
    horizon = timedelta(days=30)  # the documented default of TRANTIB_REPORTED_AT_HORIZON_DAYS
    now = datetime.now(UTC)
    inside = flow.client.post(
        "/api/v1/incidents",
        json={**_incident(), "reported_at": (now - horizon + timedelta(hours=1)).isoformat()},
        headers=flow.as_("kasi"),
    )
    assert inside.status_code == 201, inside.text
    for field in ("reported_at", "occurred_at"):
        outside = flow.client.post(
            "/api/v1/incidents",
            json={**_incident(), field: (now - horizon - timedelta(hours=1)).isoformat()},
            headers=flow.as_("kasi"),
        )
        assert problem(outside, 422, "occurred-at-out-of-bounds")["field"] == field


def _incident() -> dict[str, Any]:
    from tests.lifecycle.flow import INCIDENT

    return dict(INCIDENT)


def test_announced_breach_stays_whatever_the_claim(flow: Flow, engine: Any) -> None:
    """The scenario of a claimed completion inside the standard after sla.breached went out:
    the run stays late, both clocks show, and the next step is not blamed."""
    reported = datetime.now(UTC) - STEP1_SLA - 10 * MINUTE
    flow.create(reported_at=reported.isoformat())
    report = worker.run_once()
    assert (report.at_risk, report.breached) == (1, 1)
    claimed = datetime.now(UTC) - LIMIT + 2 * MINUTE  # the most a claim may go back
    assert claimed - reported <= STEP1_SLA  # by the claim alone, step 1 would be on time
    assert walikota(flow, claimed, "Koordinasi dengan Polsek lewat telepon").status_code == 201

    first, second = timeline(flow)
    assert first["breach_announced_at"] is not None
    assert first["status"] == "late"
    assert (first["claimed_status"], first["recorded_status"]) == ("on_time", "late")
    assert first["backdated"] is True
    # The next step starts at the claimed time but is judged from when it was actionable.
    assert datetime.fromisoformat(second["started_at"]) == claimed.replace(
        microsecond=claimed.microsecond
    )
    assert datetime.fromisoformat(second["actionable_at"]) > claimed + LIMIT - 3 * MINUTE
    assert second["status"] == "running"

    summary = flow.client.get(
        "/api/v1/sla/summary", params={"step": 1}, headers=flow.as_("camat")
    ).json()
    (row,) = summary["by_step"]
    assert (row["on_time"], row["late"], row["on_time_rate"]) == (0, 1, 0.0)
    assert (row["on_time_by_claimed"], row["on_time_by_recorded"]) == (1, 0)
    assert (row["breach_announced"], row["backdated"]) == (1, 1)

    with Session(engine) as session:
        events = session.exec(
            select(OutboxEvent).where(OutboxEvent.event_type == "step.completed")
        ).all()
    done = [e.payload["data"] for e in events if str(e.incident_id) == flow.incident_id]
    assert [(p["status"], p["claimed_status"], p["breach_announced"]) for p in done] == [
        ("late", "on_time", True)
    ]


def test_summary_and_breach_csv_carry_both_clocks(flow: Flow) -> None:
    reported = datetime.now(UTC) - STEP1_SLA - 10 * MINUTE
    flow.create(reported_at=reported.isoformat())
    response = flow.client.get(
        "/api/v1/sla/breaches", headers={**flow.as_("camat"), "Accept": "text/csv"}
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    (row,) = [r for r in rows if r["incident_id"] == flow.incident_id]
    assert {"actionable_at", "claimed_elapsed_seconds"} <= set(row)
    worker.run_once()
    claimed = datetime.now(UTC) - LIMIT + 2 * MINUTE
    assert walikota(flow, claimed, "Terlambat dicatat").status_code == 201
    response = flow.client.get(
        "/api/v1/sla/summary",
        params={"step": 1},
        headers={**flow.as_("camat"), "Accept": "text/csv"},
    )
    (line,) = list(csv.DictReader(io.StringIO(response.text)))
    assert (line["on_time"], line["late"]) == ("0", "1")
    assert (line["on_time_by_claimed"], line["on_time_by_recorded"]) == ("1", "0")
    assert (line["breach_announced"], line["backdated"]) == ("1", "1")


def test_field_report_backdated_twenty_hours_with_a_reason(flow: Flow, engine: Any) -> None:
    """Members typed in their reports the next morning: accepted within the field bound, with
    a reason beyond its threshold, and refused beyond the bound."""
    field_work = step_of(SOP, "field_report").number
    flow.run_to(field_work)
    # The field work started yesterday evening (the steps before it were recorded then).
    evening = datetime.now(UTC) - timedelta(seconds=parse_sla(FIELD.limit).seconds) - 3 * MINUTE
    with Session(engine) as session:
        session.execute(
            update(StepRun)
            .where(StepRun.incident_id == uuid.UUID(flow.incident_id), StepRun.step == field_work)
            .values(started_at=evening, actionable_at=evening)
        )
        session.commit()
    now = datetime.now(UTC)
    twenty = (now - timedelta(hours=20)).isoformat()
    url = f"/api/v1/incidents/{flow.incident_id}/field-reports"
    without = flow.client.post(
        url, json=field_report(occurred_at=twenty), headers=flow.as_("anggota1")
    )
    problem(without, 422, "occurred-at-reason-required")
    too_far = (now - timedelta(seconds=parse_sla(FIELD.limit).seconds) - MINUTE).isoformat()
    beyond = flow.client.post(
        url,
        json=field_report(occurred_at=too_far, occurred_at_reason="Tidak ada sinyal"),
        headers=flow.as_("anggota1"),
    )
    problem(beyond, 422, "occurred-at-out-of-bounds")
    accepted = flow.client.post(
        url,
        json=field_report(occurred_at=twenty, occurred_at_reason="Tidak ada sinyal di lokasi"),
        headers=flow.as_("anggota1"),
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["occurred_at"].startswith(twenty[:16])


def _reference_elapsed(cal: WorkingDayCalendar, start: datetime, end: datetime) -> int:
    """Working seconds counted day by day, straight from the definition of a working day."""
    from app.core.clock import WIB

    begin, finish = start.astimezone(WIB), end.astimezone(WIB)
    total = 0.0
    day = begin.date()
    while day <= finish.date():
        if cal.is_working_day(day):
            low = max(begin, datetime(day.year, day.month, day.day, tzinfo=WIB))
            high = min(
                finish, datetime(day.year, day.month, day.day, tzinfo=WIB) + timedelta(days=1)
            )
            total += max(0.0, (high - low).total_seconds())
        day += timedelta(days=1)
    return int(total)


def test_working_seconds_agree_with_counting_day_by_day() -> None:
    cal = working_day_calendar()
    rng = random.Random(20261201)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(200):
        start = base + timedelta(seconds=rng.randrange(0, 3 * 365 * 86400))
        end = start + timedelta(seconds=rng.randrange(0, 400 * 86400))
        assert cal.elapsed_seconds(start, end) == _reference_elapsed(cal, start, end), (start, end)


def test_a_ten_year_span_costs_what_a_ten_day_one_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted in calls to the day test, not in seconds: the whole weeks are arithmetic."""
    cal = WorkingDayCalendar(overrides=lambda: [], ttl_seconds=3600)
    start = datetime(2026, 1, 5, 3, tzinfo=UTC)
    for span in (timedelta(days=10), timedelta(days=3650)):
        cal.elapsed_seconds(start, start + span)  # warm the per-year exceptions
    calls: list[date] = []
    original = cal.is_working_day

    def counted(day: date) -> bool:
        calls.append(day)
        return original(day)

    monkeypatch.setattr(cal, "is_working_day", counted)
    cost = {}
    for label, span in (("ten days", timedelta(days=10)), ("ten years", timedelta(days=3650))):
        calls.clear()
        cal.elapsed_seconds(start, start + span)
        cost[label] = len(calls)
    assert cost["ten years"] == cost["ten days"] <= 2
