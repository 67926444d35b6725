"""The escalation worker records one sla.at_risk and one sla.breached event per run."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.audit.service import verify_chain
from app.core import clock
from app.outbox.models import OutboxEvent
from app.timing import worker
from app.timing.models import StepRun
from tests.timing.factory import wib

H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
T0 = wib(2026, 11, 25, 10)  # a Wednesday without holidays


def at(moment: datetime) -> worker.WorkerReport:
    clock.set_now(lambda: moment)
    return worker.run_once(now=moment)


def audit_actions(engine, incident: uuid.UUID) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.incident_id == incident).order_by(AuditEvent.seq)
        ).all()
        return [(r.action, r.step) for r in rows]


def outbox_types(engine, incident: uuid.UUID) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxEvent.event_type)
            .where(OutboxEvent.incident_id == incident)
            .order_by(OutboxEvent.created_at)
        ).all()
        return list(rows)


def test_wall_run_crosses_75_then_100_percent_once_each(seed, db) -> None:  # type: ignore[no-untyped-def]
    incident = seed.incident("ciledug", T0)
    run_id = seed.run(incident, 2, T0, sla="1 Jam", role="kasi_trantib")

    assert at(T0 + 45 * M - S).at_risk == 0
    report = at(T0 + 45 * M)
    assert (report.at_risk, report.breached) == (1, 0)
    assert at(T0 + 50 * M).at_risk == 0
    assert at(T0 + H).breached == 0  # used up exactly: not yet past the SLA
    report = at(T0 + H + S)
    assert (report.at_risk, report.breached) == (0, 1)
    assert at(T0 + 3 * H) == worker.WorkerReport()

    assert audit_actions(db, incident) == [("sla.at_risk", 2), ("sla.breached", 2)]
    assert outbox_types(db, incident) == ["sla.at_risk", "sla.breached"]
    with Session(db) as session:
        run = session.get(StepRun, run_id)
        assert run is not None
        assert run.at_risk_event_at == T0 + 45 * M
        assert run.breached_event_at == T0 + H + S
        events = session.exec(
            select(AuditEvent).where(AuditEvent.incident_id == incident).order_by(AuditEvent.seq)
        ).all()
        assert events[0].occurred_at == T0 + 45 * M
        assert events[1].occurred_at == T0 + H
        assert events[1].actor_id is None
        assert events[1].data is not None
        assert events[1].data["run_id"] == str(run_id)
        assert events[1].data["sla"] == "1 Jam"
        payload = session.exec(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "sla.breached")
        ).one()
        assert payload["data"]["incident_id"] == str(incident)
        assert payload["data"]["step"] == 2
        assert verify_chain(session, incident).valid


def test_a_worker_that_was_down_records_both_in_order(seed, db) -> None:  # type: ignore[no-untyped-def]
    incident = seed.incident("ciledug", T0)
    seed.run(incident, 7, T0, sla="30 Menit", role="danru")
    report = at(T0 + 5 * H)
    assert (report.at_risk, report.breached) == (1, 1)
    assert audit_actions(db, incident) == [("sla.at_risk", 7), ("sla.breached", 7)]


def test_finished_and_cancelled_runs_are_left_alone(seed, db) -> None:  # type: ignore[no-untyped-def]
    incident = seed.incident("ciledug", T0)
    seed.run(incident, 1, T0, elapsed=2 * 3600)
    seed.run(incident, 2, T0 + 2 * H, elapsed=60, cancelled=True)
    assert at(T0 + 10 * H) == worker.WorkerReport()
    assert audit_actions(db, incident) == []


def test_working_day_run_by_its_calendar(seed, db) -> None:  # type: ignore[no-untyped-def]
    # 1 Hari from Friday 16:00 WIB: 75% (18 working hours) on Monday 10:00, due 16:00.
    friday = wib(2026, 11, 27, 16)
    incident = seed.incident("ciledug", friday)
    seed.run(incident, 10, friday, sla="1 Hari", calendar="working_days", role="kasi_trantib")
    assert at(wib(2026, 11, 29, 23, 59)).at_risk == 0  # the weekend counts nothing
    assert at(wib(2026, 11, 30, 10) - S).at_risk == 0
    assert at(wib(2026, 11, 30, 10)).at_risk == 1
    assert at(wib(2026, 11, 30, 16)).breached == 0
    assert at(wib(2026, 11, 30, 16) + S).breached == 1
    assert audit_actions(db, incident) == [("sla.at_risk", 10), ("sla.breached", 10)]


@pytest.mark.parametrize("workers", [2, 3])
def test_concurrent_workers_record_each_event_exactly_once(seed, db, workers) -> None:  # type: ignore[no-untyped-def]
    incidents = []
    for number in range(8):
        incident = seed.incident("ciledug" if number % 2 else "tangerang", T0)
        seed.run(incident, 1, T0 + number * M)
        incidents.append(incident)
    friday = wib(2026, 11, 27, 16)
    for _ in range(2):
        incident = seed.incident("benda", friday)
        seed.run(incident, 9, friday, sla="1 Hari", calendar="working_days", role="danru")
        incidents.append(incident)
    now = wib(2026, 12, 1, 12)
    clock.set_now(lambda: now)
    barrier = threading.Barrier(workers)
    reports: list[worker.WorkerReport] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            reports.append(worker.run_once(now=now))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert sum(r.at_risk for r in reports) == len(incidents)
    assert sum(r.breached for r in reports) == len(incidents)
    with Session(db) as session:
        audit = Counter(
            (row.incident_id, row.action) for row in session.exec(select(AuditEvent)).all()
        )
        outbox = Counter(
            (row.incident_id, row.event_type) for row in session.exec(select(OutboxEvent)).all()
        )
        for incident in incidents:
            for action in ("sla.at_risk", "sla.breached"):
                assert audit[(incident, action)] == 1
                assert outbox[(incident, action)] == 1
            assert verify_chain(session, incident).valid
    assert sum(audit.values()) == sum(outbox.values()) == 2 * len(incidents)


def test_run_forever_loops_until_stopped(seed, db) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    incident = seed.incident("ciledug", now - 2 * H)
    run_id = seed.run(incident, 1, now - 2 * H)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(0.05, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Session(db) as session:
                run = session.get(StepRun, run_id)
                if run is not None and run.breached_event_at is not None:
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert audit_actions(db, incident) == [("sla.at_risk", 1), ("sla.breached", 1)]


def test_cli_worker_once(seed, db, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    now = datetime.now(UTC)
    incident = seed.incident("ciledug", now - 2 * H)
    seed.run(incident, 1, now - 2 * H)
    assert main(["worker", "--once"]) == 0
    assert "recorded 1 at-risk and 1 breached events" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    assert "recorded 0 at-risk and 0 breached events" in capsys.readouterr().out
