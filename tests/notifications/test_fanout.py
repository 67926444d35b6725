"""The fan-out: who is told what of each event, once, never of their own action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from tests.lifecycle.sop import definition

SOP = definition("unjuk-rasa-v1")


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    return [(n["kind"], n["data"].get("step")) for n in items]


def test_a_registered_incident_is_a_task_of_the_camat_not_of_the_kasi_who_registered_it(
    flow, fan_out, told
) -> None:
    flow.create()
    report = fan_out()
    assert report.events == 1
    first = SOP.step(1)
    camat = told("camat.ciledug")
    assert kinds(camat) == [("task.assigned", 1)]
    assert camat[0]["incident_id"] == flow.incident_id
    assert camat[0]["data"]["step_name"] == first.label
    assert camat[0]["data"]["role"] == first.actors[0]
    # Registered by the Kasi: not told of their own action; nothing waits on the others.
    for other in ("kasi", "sekcam", "danru", "anggota1"):
        assert told(f"{other}.ciledug") == []
    # Another kecamatan's people hear nothing.
    assert told("camat.cipondoh") == []


def test_a_completed_step_tells_the_next_actor_and_nobody_twice(flow, fan_out, told) -> None:
    flow.create()
    fan_out()
    flow.step1()
    fan_out()
    # The Camat completed step 1 (not told); the Kasi now has step 2.
    assert kinds(told("kasi.ciledug")) == [("task.assigned", 2)]
    assert kinds(told("camat.ciledug")) == [("task.assigned", 1)]
    again = fan_out()
    assert again.events == 0 and again.notifications == 0


def test_a_repeated_fan_out_writes_nothing_twice(flow, fan_out, told, engine) -> None:
    from app.notifications.models import Notification
    from app.outbox.models import OutboxEvent

    flow.create()
    flow.step1()
    fan_out()
    with Session(engine) as session:
        before = session.execute(select(func.count()).select_from(Notification)).scalar_one()
        # As after a crash between the commit and the worker's record of it: every event
        # is pending again.
        session.execute(OutboxEvent.__table__.update().values(notified_at=None))  # type: ignore[attr-defined]
        session.commit()
    again = fan_out()
    assert again.events == 2
    with Session(engine) as session:
        after = session.execute(select(func.count()).select_from(Notification)).scalar_one()
    assert after == before
    assert kinds(told("kasi.ciledug")) == [("task.assigned", 2)]


def test_a_returned_draft_tells_its_drafter_and_gives_the_step_back(flow, fan_out, told) -> None:
    flow.run_to(4)
    fan_out()
    seen, kasi_seen = len(told("danru.ciledug")), len(told("kasi.ciledug"))
    flow.verify("kasi", decision="return", note="Perbaiki rencana")
    fan_out()
    back = SOP.step(4).correction_returns_to
    new = told("danru.ciledug")[seen:]
    assert sorted(kinds(new)) == [("draft.returned", back), ("task.assigned", back)]
    returned = next(n for n in new if n["kind"] == "draft.returned")
    assert returned["data"]["draft_id"] == flow.draft_id
    # The Kasi returned it: not told of their own action.
    assert told("kasi.ciledug")[kasi_seen:] == []


def test_a_cancelled_incident_withdraws_the_task_and_tells_everyone_who_held_one(
    flow, fan_out, told
) -> None:
    flow.run_to(3)
    fan_out()
    response = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/cancel",
        json={"reason": "Massa membubarkan diri"},
        headers=flow.as_("camat"),
    )
    assert response.status_code == 200, response.text
    fan_out()
    # The Danru held step 3: withdrawn, and told the incident ended.
    assert sorted(kinds(told("danru.ciledug"))[-2:], key=str) == [
        ("incident.cancelled", None),
        ("task.withdrawn", 3),
    ]
    # The Kasi held step 2 before: told it ended. The Camat cancelled: told nothing of it.
    assert kinds(told("kasi.ciledug"))[-1] == ("incident.cancelled", None)
    assert all(n["kind"] != "incident.cancelled" for n in told("camat.ciledug"))
    # Members never held a task on it.
    assert told("anggota1.ciledug") == []


def test_a_deleted_highest_id_is_never_given_again(flow, fan_out, told, engine) -> None:
    # The id is the stream's event id: a client that saw it resumes after it, and would never
    # be sent a new row given the same id again.
    from app.notifications.models import Notification

    flow.create()
    fan_out()
    [seen] = told("camat.ciledug")
    with Session(engine) as session:
        session.execute(Notification.__table__.delete())  # type: ignore[attr-defined]
        session.commit()
    assert told("camat.ciledug") == []
    flow.step1()
    fan_out()
    [new] = told("kasi.ciledug")
    assert new["id"] > seen["id"]
