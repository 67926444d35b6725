"""A late step is told up the chain of command: sla.at_risk to the step's actor, sla.breached
to the actor and their superior (anggota -> the dispatching Danru, Danru -> Kasi Trantib,
Kasi Trantib and Sekcam -> Camat, Camat -> pimpinan), and to nobody else.

Each incident is moved through the API to the step under test; the escalation worker then
runs at moments past 75 % and past 100 % of the step's standard (from the SOP's step table:
1 Jam, 2 Jam for step 4, measured from the run's start), and a fan-out pass tells."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from app.core import clock
from app.timing import worker
from app.timing.models import StepRun

# Everyone who could be told: the kecamatan's people (with a second Danru, neither instructed
# nor dispatched) and the city's pimpinan.
PEOPLE = ("camat", "sekcam", "kasi", "danru", "danru2", "anggota1", "anggota2")
PIMPINAN = "pimpinan"
SLA_KINDS = ("sla.at_risk", "sla.breached")

# Per step (and stage): its actors, and who answers for them when it is late, by the SOP.
CASES = {
    "step 1, the Camat's": (1, None, ["camat"], ["pimpinan"], timedelta(hours=1)),
    "step 2, the Kasi Trantib's": (2, None, ["kasi"], ["camat"], timedelta(hours=1)),
    "step 3, the instructed Danru's": (3, None, ["danru"], ["kasi"], timedelta(hours=1)),
    "step 4 at the Sekcam's paraf": (4, "paraf", ["sekcam"], ["camat"], timedelta(hours=2)),
    "step 8, the briefed members'": (
        8,
        None,
        ["anggota1", "anggota2"],
        ["danru"],
        timedelta(hours=1),
    ),
}


def run_worker_at(moment: datetime) -> worker.WorkerReport:
    clock.set_now(lambda: moment)
    try:
        return worker.run_once(now=moment)
    finally:
        clock.set_now(None)


def started_at(engine, incident_id: str) -> datetime:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        run = session.exec(
            select(StepRun)
            .where(StepRun.incident_id == uuid.UUID(incident_id))  # type: ignore[arg-type]
            .where(StepRun.completed_at.is_(None))  # type: ignore[union-attr]
        ).one()
        return clock.as_utc(run.started_at)


def sla_notices(told: Callable[..., list[dict[str, Any]]], flow) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    """Each demo user's SLA notifications of the incident: (kind, step, superior)."""
    heard: dict[str, list[Any]] = {}
    for name in (*PEOPLE, PIMPINAN):
        username = name if name == PIMPINAN else f"{name}.{flow.slug}"
        heard[name] = [
            (n["kind"], n["data"]["step"], n["data"].get("superior"))
            for n in told(username)
            if n["kind"] in SLA_KINDS and n["incident_id"] == flow.incident_id
        ]
    return heard


@pytest.mark.parametrize("case", CASES)
def test_a_late_step_is_told_to_its_actor_then_up_the_chain(
    case: str, flow, fan_out, told, engine, danru2
) -> None:
    step, stage, actors, superiors, standard = CASES[case]
    flow.run_to(step)
    if stage == "paraf":
        flow.verify("kasi")  # the Kasi's review: the step waits on the Sekcam's paraf
    incident = flow.incident()
    assert (incident["current_step"], incident["stage"]) == (step, stage)
    started = started_at(engine, flow.incident_id)
    fan_out()  # the tasks so far, told before the clock moves

    assert run_worker_at(started + standard * 0.75 + timedelta(seconds=1)).at_risk == 1
    fan_out()
    warned = sla_notices(told, flow)
    assert run_worker_at(started + standard + timedelta(seconds=1)).breached == 1
    fan_out()
    heard = sla_notices(told, flow)

    at_risk = ("sla.at_risk", step, None)
    assert {name: notes for name, notes in warned.items() if notes} == {
        name: [at_risk] for name in actors
    }
    expected = {name: [at_risk, ("sla.breached", step, False)] for name in actors}
    expected.update({name: [("sla.breached", step, True)] for name in superiors})
    assert {name: notes for name, notes in heard.items() if notes} == expected
