"""Every step action answers with the incident's new state, as the caller's next GET shows it:
a client moves an incident through the SOP without a second request after each step."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lifecycle.flow import ORDER_DRAFT, Flow
from tests.lifecycle.sop import V2, active


class CheckedFlow(Flow):
    """A flow that compares each action's `incident` with a GET by the same caller."""

    checked: list[str]

    def ok(self, response: Any, status: int) -> dict[str, Any]:
        body = super().ok(response, status)
        request = response.request
        if request.method == "GET" or request.url.path == "/api/v1/incidents":
            return body
        assert "incident" in body, f"{request.method} {request.url.path} answers no incident"
        seen = self.client.get(
            f"/api/v1/incidents/{self.incident_id}",
            headers={"Authorization": request.headers["Authorization"]},
        )
        assert seen.status_code == 200, seen.text
        assert body["incident"] == seen.json(), request.url.path
        assert seen.headers["ETag"] == f'"{body["incident"]["version"]}"'
        self.checked.append(f"{request.method} {request.url.path}")
        return body


@pytest.fixture
def checked(client, auth, user_id) -> CheckedFlow:  # type: ignore[no-untyped-def]
    flow = CheckedFlow(client, auth, user_id)
    flow.checked = []
    return flow


def test_each_answer_of_a_whole_incident_is_the_state_a_get_shows(checked: CheckedFlow) -> None:
    checked.create()
    answers = [checked.step1(), checked.step2(), checked.step3()]
    answers += [checked.verify(who) for who in ("kasi", "sekcam", "camat")]
    answers += [checked.step5(), checked.step6(), checked.step7()]
    checked.step8()
    answers += [checked.step9(), checked.step10(), checked.step11()]

    # Each answer names the step the incident moved to and whom it now waits on.
    steps = [a["incident"]["current_step"] for a in answers]
    assert steps == sorted(steps) and steps[0] == 2
    assert answers[0]["incident"]["waiting_on"] == "kasi_trantib"
    # The Kasi's instruction done, the step waits on the Danru: no instruction is offered.
    assert answers[1]["incident"]["waiting_on"] == "danru"
    assert "instruct" not in answers[1]["incident"]["allowed_actions"]
    assert answers[-1]["incident"]["status"] == "closed"
    assert answers[-1]["incident"]["allowed_actions"] == []
    # 16 actions: two drafts written and submitted, four verifications, two field reports.
    assert len(checked.checked) == 16


def test_a_return_a_revision_and_an_escalation_answer_with_the_state(
    checked: CheckedFlow,
) -> None:
    checked.run_to(4)
    returned = checked.verify("kasi", decision="return", note="Tambahkan titik kumpul cadangan")
    assert returned["incident"]["current_step"] == 3
    revised = checked.ok(
        checked.client.patch(
            f"/api/v1/drafts/{checked.draft_id}",
            json={"plan": {**ORDER_DRAFT["plan"], "assembly_point": "Halaman masjid"}},
            headers=checked.as_("danru"),
        ),
        200,
    )
    assert revised["incident"]["current_step"] == 3
    assert "draft_submit" in revised["incident"]["allowed_actions"]  # the Danru's next move
    escalated = checked.ok(
        checked.client.post(
            f"/api/v1/incidents/{checked.incident_id}/escalations",
            json={"level": "kuning", "note": "Massa bertambah"},
            headers=checked.as_("kasi"),
        ),
        201,
    )
    assert escalated["incident"]["escalation_level"] == "kuning"
    assert escalated["incident"]["version"] == revised["incident"]["version"] + 1


def test_closing_field_work_and_a_step_record_answer_with_the_state(checked: CheckedFlow) -> None:
    checked.run_to(8)
    checked.step8(members=("anggota1",))
    closed = checked.ok(
        checked.client.post(
            f"/api/v1/incidents/{checked.incident_id}/field-work/close",
            json={"reason": "Anggota kedua ditarik ke lokasi lain"},
            headers=checked.as_("danru"),
        ),
        200,
    )
    assert closed["incident"]["current_step"] == closed["current_step"]

    revised = CheckedFlow(checked.client, checked.auth, checked.user_id)
    revised.checked = []
    with active(V2):
        revised.create()
    revised.step1()
    recorded = revised.step_record()
    assert recorded["incident"]["current_step"] == 3
    assert revised.checked[-1].endswith("/step-records")
