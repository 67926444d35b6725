"""Every action by every role at every step of every SOP version: the exact refusal.

The expectations come from each version's definition file (tests/lifecycle/sop.py), not from
the engine. For each step the incident is driven there over HTTP; then every (role, action)
pair that the definition does not allow is tried and must be refused with the status the
guard order promises: 403 for a role or scope that never takes the action, 409 for the right
role at the wrong step or stage, 403 for a member not in the briefing. Nothing refused may
change the incident.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.auth.roles import Role
from app.sop.catalogue import Action
from tests.lifecycle.flow import EQUIPMENT, ORDER_DRAFT, WALIKOTA_ORDER, Flow, field_report
from tests.lifecycle.sop import VERSIONS, active, definition, expected_refusal

ROLES = {
    "camat": Role.camat,
    "sekcam": Role.sekcam,
    "kasi": Role.kasi_trantib,
    "danru": Role.danru,
    "anggota1": Role.anggota,
    "anggota3": Role.anggota,
    "pimpinan": Role.pimpinan,
    "admin": Role.admin,
}
CASES = [(v, n) for v in VERSIONS for n in range(1, definition(v).last_step + 1)]


def request_for(flow: Flow, action: Action) -> tuple[str, str, dict[str, Any]] | None:
    """The HTTP call that takes an action on the flow's incident (None: no such target yet)."""
    inc = flow.incident_id
    danru = flow.uid("danru")
    if action is Action.order_walikota:
        return "POST", f"/api/v1/incidents/{inc}/orders", {**WALIKOTA_ORDER, "number": "X/1"}
    if action is Action.instruct:
        return "POST", f"/api/v1/incidents/{inc}/instructions", {"danru_id": danru}
    if action is Action.step_record:
        return "POST", f"/api/v1/incidents/{inc}/step-records", {"note": "Koordinasi"}
    if action is Action.draft_create:
        return "POST", f"/api/v1/incidents/{inc}/drafts", ORDER_DRAFT
    if action is Action.draft_submit:
        return ("POST", f"/api/v1/drafts/{flow.draft_id}/submit", {}) if flow.draft_id else None
    if action is Action.draft_update:
        if not flow.draft_id:
            return None
        return "PATCH", f"/api/v1/drafts/{flow.draft_id}", {"plan": ORDER_DRAFT["plan"]}
    if action is Action.verify:
        target = flow.report_draft_id or flow.draft_id
        if not target:
            return None
        return "POST", f"/api/v1/drafts/{target}/verifications", {"decision": "approve"}
    if action is Action.order_validate:
        draft = flow.draft_id or str(uuid.uuid4())
        return (
            "POST",
            f"/api/v1/incidents/{inc}/orders",
            {"kind": "surat_perintah", "draft_id": draft},
        )
    if action is Action.order_dispatch:
        if not flow.order_id:
            return None
        return "POST", f"/api/v1/orders/{flow.order_id}/dispatch", {"danru_id": danru}
    if action is Action.briefing:
        return (
            "POST",
            f"/api/v1/incidents/{inc}/briefings",
            {"members": [flow.uid("anggota1")], "equipment": EQUIPMENT},
        )
    if action is Action.field_report:
        return "POST", f"/api/v1/incidents/{inc}/field-reports", field_report()
    if action is Action.field_work_close:
        return "POST", f"/api/v1/incidents/{inc}/field-work/close", {"reason": "Massa bubar"}
    if action is Action.archive:
        return (
            "POST",
            f"/api/v1/incidents/{inc}/archive-records",
            {"classification_code": "300.1.2.1", "retention_years": 5},
        )
    if action is Action.cancel:
        return "POST", f"/api/v1/incidents/{inc}/cancel", {"reason": "Acara dibatalkan"}
    if action is Action.escalate:
        return "POST", f"/api/v1/incidents/{inc}/escalations", {"level": "kuning"}
    raise AssertionError(action)


@pytest.mark.parametrize(("version", "step"), CASES)
def test_every_refused_action_at_every_step(flow: Flow, version: str, step: int) -> None:
    sop = definition(version)
    with active(version):
        flow.create()
    flow.run_to(step)
    before = flow.incident()
    assert (before["sop_version"], before["current_step"]) == (version, step)
    briefing = next(s.number for s in sop.steps if "briefing" in s.completes_with)
    briefed = {"anggota1", "anggota2"} if step > briefing else set()
    tried = 0
    for action in Action:
        call = request_for(flow, action)
        if call is None:
            continue
        method, url, body = call
        for who, role in ROLES.items():
            status = expected_refusal(sop, action, who, role, step, before["stage"], briefed)
            if status is None:
                continue
            username = who if who in ("pimpinan", "admin") else f"{who}.{flow.slug}"
            response = flow.client.request(method, url, json=body, headers=flow.auth(username))
            assert response.status_code == status, (step, action, who, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            if status == 409 and response.json()["type"].endswith("/wrong-step"):
                assert response.json()["current_step"] == step
            tried += 1
    after = flow.incident()
    assert tried > 20
    assert (after["version"], after["current_step"], after["stage"]) == (
        before["version"],
        before["current_step"],
        before["stage"],
    )
