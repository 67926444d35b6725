"""Random actions by random users, and deputies named and revoked, never bring an incident
into an impossible state, under every SOP version (its moves, loops and stages read from the
version's definition file); what each user was told always equals their GET /tasks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from app.sop.catalogue import Action
from tests.lifecycle.flow import Flow, report_draft
from tests.lifecycle.sop import ROLE_USER, VERSIONS, active, definition, step_of
from tests.lifecycle.test_matrix import request_for

pytestmark = pytest.mark.slow

# What a client takes to end a task it was told of.
ENDS_TASK = ("task.withdrawn", "incident.cancelled", "incident.archived")
USERS = ("camat", "sekcam", "kasi", "danru", "anggota1", "anggota2", "anggota3")
# Posts a deputy may take, and who might be named (the holder and anggota are refused: 422).
POSTS = ("camat", "sekcam", "kasi_trantib")
DEPUTIES = ("camat", "sekcam", "kasi", "danru", "anggota1")
LETTER = {"number": "800.1.11.1/012/Kec/2026", "date": "2026-12-01"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_random_actions_keep_incidents_consistent(
    client, auth, user_id, engine, version: str
) -> None:
    from app.notifications.fanout import run_pass

    sop = definition(version)
    loops = {s.number: s.correction_returns_to for s in sop.steps if s.correction_returns_to}
    field_work = step_of(sop, "field_report").number
    dispatch = step_of(sop, "order_dispatch").number

    def allowed_move(before: int | None, after: int | None) -> bool:
        if after is None or before == after:
            return True
        assert before is not None
        return after == before + 1 or loops.get(before) == after

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.flow = Flow(client, auth, user_id)
            # Each run starts with no deputy in force (a run before may have left one).
            self.delegations: list[str] = []
            listing = client.get(
                "/api/v1/delegations",
                params={"unit": "ciledug", "active_at": datetime.now(UTC).isoformat()},
                headers=auth("admin"),
            )
            assert listing.status_code == 200, listing.text
            for item in listing.json()["items"]:
                self.delegations.append(item["id"])
                self.revoke()
            with active(version):
                self.flow.create()
            self.accepted: list[tuple[str, str]] = []
            self.reported: set[str] = set()
            # What each user's app believes waits on them on this incident, from the
            # notifications it was sent: (step, stage), or None.
            self.believed: dict[str, tuple[int, str | None] | None] = dict.fromkeys(USERS)
            self.last_id = {who: self.newest(who) for who in USERS}
            self.seen_seq = 0
            self.ids = {user_id(f"{who}.ciledug"): who for who in USERS}

        def newest(self, who: str) -> int:
            items = client.get("/api/v1/notifications?limit=1", headers=self.flow.as_(who)).json()[
                "items"
            ]
            return items[0]["id"] if items else 0

        def waiting(self, who: str) -> tuple[int, str | None] | None:
            """This incident's entry of GET /tasks for the user."""
            response = client.get("/api/v1/tasks", headers=self.flow.as_(who))
            assert response.status_code == 200, response.text
            for task in response.json()["items"]:
                if task["incident_id"] == self.flow.incident_id:
                    return task["step"], task["stage"]
            return None

        @rule(
            action=st.sampled_from(list(Action)),
            who=st.sampled_from(USERS),
            decision=st.sampled_from(["approve", "approve", "return"]),
        )
        def act(self, action: Action, who: str, decision: str) -> None:
            flow = self.flow
            at = flow.incident()["current_step"]
            if action is Action.draft_create and at and sop.step(at).draft == "report":
                call: Any = (
                    "POST",
                    f"/api/v1/incidents/{flow.incident_id}/drafts",
                    report_draft(flow.field_report_ids or ["00000000-0000-0000-0000-000000000000"]),
                )
            else:
                call = request_for(flow, action)
            if call is None:
                return
            method, url, body = call
            if action is Action.verify:
                body = {"decision": decision, "note": "Perbaiki" if decision == "return" else None}
            response = client.request(method, url, json=body, headers=flow.as_(who))
            assert response.status_code < 500, response.text
            if response.status_code >= 300:
                assert response.headers["content-type"] == "application/problem+json"
                return
            self.accepted.append((action, who))
            data = response.json()
            if action is Action.draft_create:
                if data["kind"] == "order":
                    flow.draft_id = data["id"]
                else:
                    flow.report_draft_id = data["id"]
            elif action is Action.order_validate:
                flow.order_id = data["id"]
            elif action is Action.field_report:
                flow.field_report_ids.append(data["id"])
                self.reported.add(who)
            elif action is Action.draft_update or (
                action is Action.verify and decision == "return"
            ):
                pass

        @rule(position=st.sampled_from(POSTS), deputy=st.sampled_from(DEPUTIES))
        def delegate(self, position: str, deputy: str) -> None:
            """An administrator names a Plh from now on: they hold the post's waiting work."""
            body = {
                "position": position,
                "unit": "ciledug",
                "delegate_id": user_id(f"{deputy}.ciledug"),
                "kind": "plh",
                "basis": LETTER,
                "ends_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            }
            response = client.post("/api/v1/delegations", json=body, headers=auth("admin"))
            # The holder or an anggota (422), or the post already has a deputy (409).
            assert response.status_code in (201, 409, 422), response.text
            if response.status_code == 201:
                self.delegations.append(response.json()["id"])

        @rule()
        def revoke(self) -> None:
            """The newest deputy's delegation ends now: the work they held is no longer theirs."""
            if not self.delegations:
                return
            delegation_id = self.delegations.pop()
            response = client.post(
                f"/api/v1/delegations/{delegation_id}/revoke",
                json={"reason": "Pejabat definitif kembali"},
                headers=auth("admin"),
            )
            assert response.status_code == 200, response.text

        @rule()
        def advance(self) -> None:
            """Take the step the incident waits for, so runs reach the later steps too."""
            flow = self.flow
            incident = flow.incident()
            if incident["status"] != "active":
                return
            step, stage = sop.step(incident["current_step"]), incident["stage"]
            drafts = {"order": flow.draft_id, "report": flow.report_draft_id}
            if step.draft and drafts[step.draft] and Action.draft_submit in step.completes_with:
                draft = client.get(
                    f"/api/v1/drafts/{drafts[step.draft]}", headers=flow.as_("danru")
                )
                if draft.json()["status"] == "returned":
                    field = (
                        {"summary": "Diperbaiki sesuai catatan"}
                        if step.draft == "report"
                        else {"plan": {**draft.json()["content"]["plan"], "summary": "Diperbaiki"}}
                    )
                    flow.ok(
                        client.patch(
                            f"/api/v1/drafts/{drafts[step.draft]}",
                            json=field,
                            headers=flow.as_("danru"),
                        ),
                        200,
                    )
            if Action.verify in step.completes_with:
                assert step.draft is not None
                who = ROLE_USER[step.waiting_role(stage)]
                flow.verify(who, draft_id=drafts[step.draft])
            elif Action.field_report in step.completes_with:
                # The next briefed member who has not reported (either may have, through act).
                member = next(m for m in ("anggota1", "anggota2") if m not in self.reported)
                flow.step8((member,))
                self.reported.add(member)
            else:
                flow.complete_step()

        @invariant()
        def consistent(self) -> None:
            flow = self.flow
            incident = flow.incident()
            trail = client.get(
                f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
            ).json()
            assert trail["chain_valid"]
            self.told_agrees_with_tasks(trail["events"])
            steps = [e["after"]["step"] for e in trail["events"]]
            for before, after in zip(steps, steps[1:], strict=False):
                assert allowed_move(before, after), steps
            if incident["status"] == "active" and incident["current_step"] > field_work:
                # Field work never closes without a report: step 9's report is built from them.
                assert flow.field_report_ids
            if incident["status"] == "closed":
                report = client.get(
                    f"/api/v1/incidents/{flow.incident_id}/report", headers=flow.as_("camat")
                )
                assert report.status_code == 200
                assert "archive" in [e["action"] for e in trail["events"]]
            if incident["status"] == "active" and incident["current_step"] >= dispatch:
                orders = client.get(
                    f"/api/v1/incidents/{flow.incident_id}/orders", headers=flow.as_("camat")
                ).json()
                kinds = sorted(o["kind"] for o in orders)
                assert kinds == ["surat_perintah", "walikota"], kinds

        def told_agrees_with_tasks(self, events: list[dict[str, Any]]) -> None:
            """After a fan-out pass, what each user was told of this incident is what GET
            /tasks shows them. Who acted is not told of it: their app refetches /tasks after
            its own action, as the SPA does."""
            run_pass(engine)
            acted = {
                self.ids[e["actor_id"]]
                for e in events
                if e["seq"] > self.seen_seq and e["actor_id"] in self.ids
            }
            self.seen_seq = max((e["seq"] for e in events), default=self.seen_seq)
            for who in USERS:
                items = client.get(
                    "/api/v1/notifications",
                    params={"after_id": self.last_id[who], "limit": 100},
                    headers=self.flow.as_(who),
                ).json()["items"]
                for note in reversed(items):
                    self.last_id[who] = note["id"]
                    if note["incident_id"] != self.flow.incident_id:
                        continue
                    if note["kind"] == "task.assigned":
                        self.believed[who] = (note["data"]["step"], note["data"]["stage"])
                    elif note["kind"] in ENDS_TASK:
                        self.believed[who] = None
            for who in USERS:
                now = self.waiting(who)
                if who in acted:
                    self.believed[who] = now
                assert self.believed[who] == now, (who, self.believed, acted)

    Machine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    runner = Machine.TestCase()
    runner.runTest()
    # Surat Perintah numbers across every incident made are unique and gap-free.
    numbers = []
    listing = client.get("/api/v1/incidents?limit=100", headers=auth("camat.ciledug")).json()
    for item in listing["items"]:
        for order in client.get(
            f"/api/v1/incidents/{item['id']}/orders", headers=auth("camat.ciledug")
        ).json():
            if order["kind"] == "surat_perintah":
                numbers.append(int(re.split("/", order["number"])[1]))
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
