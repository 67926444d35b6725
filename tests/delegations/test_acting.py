"""A deputy in force takes the post's actions, on every request, and every record says so:
a whole incident under a Plh Camat, the period's edges, revocation, other kecamatan, four
eyes on a draft version, the vacancy rule, the task inbox and the role matrix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.delegations.test_delegations_api import problem
from tests.documents.conftest import pdf_of
from tests.documents.pdf import text
from tests.lifecycle.flow import WALIKOTA_ORDER, Flow
from tests.lifecycle.sop import VERSIONS, active, definition

Auth = Callable[[str], dict[str, str]]


def capacity(client: TestClient, auth: Auth, kind: str, jabatan: str) -> str:
    unit = client.get("/api/v1/units/ciledug", headers=auth("admin")).json()
    return f"{kind}. {jabatan} {unit['name'].upper()}"


def audit(flow: Flow) -> list[dict[str, Any]]:
    response = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("kasi")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["chain_valid"] is True
    return list(body["events"])


def test_a_whole_incident_under_a_plh_camat_named_by_the_camat(
    flow: Flow, delegate: Callable[..., Any], danru2: str, client: TestClient, auth: Auth
) -> None:
    created = delegate(danru2, by="camat.ciledug")
    assert created.status_code == 201, created.text
    delegation_id = created.json()["id"]
    flow.stand_in = {"camat": "danru2"}
    flow.create()
    flow.step1()
    flow.step2()
    flow.step3()
    flow.step4()
    order = flow.step5()
    for step in (flow.step6, flow.step7, flow.step8, flow.step9, flow.step10):
        step()
    flow.step11()
    assert flow.incident()["status"] == "closed"

    expected = {
        "position": "camat",
        "kind": "plh",
        "delegation_id": delegation_id,
        "capacity": capacity(client, auth, "Plh", "CAMAT"),
        "name": "Rudi Hartono",
        "nip": "198001012006041002",
    }
    camat_steps = {
        s.number
        for s in definition("unjuk-rasa-v1").steps
        for r in s.rules
        if r.role == "camat" and set(r.actions) & set(s.completes_with)
    }
    by_deputy = [e for e in audit(flow) if e["actor_id"] == danru2]
    assert {e["step"] for e in by_deputy} == camat_steps
    for event in by_deputy:
        assert event["actor_role"] == "danru"
        assert event["acting_as"] == expected
    others = [e for e in audit(flow) if e["actor_id"] != danru2]
    assert all(e["acting_as"] is None for e in others)

    assert order["acting_as"] == expected
    verifications = client.get(
        f"/api/v1/drafts/{flow.draft_id}/verifications", headers=auth("kasi.ciledug")
    ).json()
    verify_stage = [v for v in verifications if v["actor_id"] == danru2]
    assert len(verify_stage) == 1 and verify_stage[0]["acting_as"] == expected
    assert all(v["acting_as"] is None for v in verifications if v["actor_id"] != danru2)


def test_the_holder_keeps_their_own_power(
    flow: Flow, delegate: Callable[..., Any], danru2: str
) -> None:
    assert delegate(danru2, by="camat.ciledug").status_code == 201
    flow.create()
    flow.step1()  # the camat, back early
    camat = [e for e in audit(flow) if e["action"] == "order_walikota"]
    assert camat[0]["actor_id"] == flow.uid("camat") and camat[0]["acting_as"] is None


def walikota(flow: Flow, who: str) -> Any:
    return flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/orders",
        json={**WALIKOTA_ORDER, "number": f"WK/{flow.incident_id[:8]}"},
        headers=flow.auth(f"{who}.ciledug"),
    )


def test_the_period_edges_and_a_token_issued_before_the_start(
    flow: Flow,
    delegate: Callable[..., Any],
    danru2: str,
    at: Callable[[datetime], None],
    now: datetime,
    client: TestClient,
    auth: Auth,
) -> None:
    start, end = now + timedelta(minutes=3), now + timedelta(minutes=6)
    assert delegate(danru2, starts_at=start, ends_at=end).status_code == 201
    token = auth("danru2.ciledug")  # issued now, before the delegation starts
    for prefix in ("kasi", "sekcam", "danru"):
        flow.as_(prefix)  # every token issued at the real time, before the clock moves
    flow.create()

    at(start - timedelta(seconds=1))
    problem(walikota(flow, "danru2"), 403, "insufficient-scope")
    me = client.get("/api/v1/users/me", headers=token).json()
    assert [p["position"] for p in me["posts"]] == ["danru"]

    at(start)
    me = client.get("/api/v1/users/me", headers=token).json()
    assert [(p["position"], p["kind"]) for p in me["posts"]] == [("danru", "own"), ("camat", "plh")]
    assert "orders:command" in me["scopes"]
    assert walikota(flow, "danru2").status_code == 201
    flow.step2()
    flow.step3()
    flow.verify("kasi")
    flow.verify("sekcam")

    at(end)
    problem(
        flow.client.post(
            f"/api/v1/drafts/{flow.draft_id}/verifications",
            json={"decision": "approve"},
            headers=token,
        ),
        403,
        "insufficient-scope",
    )
    at(end - timedelta(seconds=1))
    assert (
        flow.client.post(
            f"/api/v1/drafts/{flow.draft_id}/verifications",
            json={"decision": "approve"},
            headers=token,
        ).status_code
        == 201
    )


def test_revoked_in_the_middle_of_an_incident(
    flow: Flow, delegate: Callable[..., Any], danru2: str, client: TestClient, auth: Auth
) -> None:
    delegation = delegate(danru2, by="camat.ciledug").json()
    flow.stand_in = {"camat": "danru2"}
    flow.create()
    flow.step1()
    flow.step2()
    flow.step3()
    flow.verify("kasi")
    flow.verify("sekcam")
    revoked = client.post(
        f"/api/v1/delegations/{delegation['id']}/revoke",
        json={"reason": "Camat kembali lebih awal"},
        headers=auth("camat.ciledug"),
    )
    assert revoked.status_code == 200, revoked.text
    response = client.post(
        f"/api/v1/drafts/{flow.draft_id}/verifications",
        json={"decision": "approve"},
        headers=auth("danru2.ciledug"),
    )
    problem(response, 403, "insufficient-scope")
    flow.stand_in = {}
    flow.verify("camat")
    # What the deputy did stays on the record, in their capacity.
    first = [e for e in audit(flow) if e["action"] == "order_walikota"][0]
    assert first["actor_id"] == danru2 and first["acting_as"]["delegation_id"] == delegation["id"]


def test_a_delegation_never_reaches_another_kecamatan(
    flow_for: Callable[[str], Flow], delegate: Callable[..., Any], danru2: str, auth: Auth
) -> None:
    assert delegate(danru2).status_code == 201
    other = flow_for("cibodas")
    other.create(location={"address": "Jl. Cibodas Raya", "kelurahan": "Cibodas"})
    response = other.client.post(
        f"/api/v1/incidents/{other.incident_id}/orders",
        json={**WALIKOTA_ORDER, "number": "WK/LAIN"},
        headers=auth("danru2.ciledug"),
    )
    problem(response, 404, "not-found")
    response = other.client.get(
        f"/api/v1/incidents/{other.incident_id}", headers=auth("danru2.ciledug")
    )
    problem(response, 404, "not-found")


def test_one_person_never_takes_two_stages_of_a_draft_version(
    flow: Flow, delegate: Callable[..., Any], user_id: Callable[[str], str]
) -> None:
    assert delegate(user_id("sekcam.ciledug"), by="camat.ciledug").status_code == 201
    flow.run_to(4)
    flow.verify("kasi")
    flow.verify("sekcam")
    response = flow.client.post(
        f"/api/v1/drafts/{flow.draft_id}/verifications",
        json={"decision": "approve"},
        headers=flow.as_("sekcam"),
    )
    body = problem(response, 403, "same-person-twice")
    assert "another official" in body["detail"]
    assert flow.incident()["stage"] == body["stage"]
    flow.verify("camat")
    assert flow.incident()["current_step"] == 5


def test_tasks_and_me_show_the_acting_post(
    flow: Flow, delegate: Callable[..., Any], danru2: str, client: TestClient, auth: Auth
) -> None:
    delegation = delegate(danru2, by="camat.ciledug").json()
    flow.create()
    tasks = client.get("/api/v1/tasks", headers=auth("danru2.ciledug"))
    assert tasks.status_code == 200, tasks.text
    items = tasks.json()["items"]
    assert [t["incident_id"] for t in items] == [flow.incident_id]
    assert items[0]["acting_as"]["delegation_id"] == delegation["id"]
    assert items[0]["acting_as"]["capacity"] == capacity(client, auth, "Plh", "CAMAT")
    assert "order_walikota" in items[0]["actions"]
    camat = client.get("/api/v1/tasks", headers=auth("camat.ciledug")).json()["items"]
    assert camat[0]["acting_as"] is None
    me = client.get("/api/v1/users/me", headers=auth("danru2.ciledug")).json()
    assert me["posts"][1]["capacity"] == capacity(client, auth, "Plh", "CAMAT")


def test_positions_show_holder_deputy_or_vacancy(
    client: TestClient, auth: Auth, delegate: Callable[..., Any], danru2: str
) -> None:
    assert delegate(danru2, position="sekcam").status_code == 201
    response = client.get("/api/v1/units/ciledug/positions", headers=auth("danru.ciledug"))
    assert response.status_code == 200, response.text
    posts = {p["position"]: p for p in response.json()}
    assert list(posts) == ["camat", "sekcam", "kasi_trantib"]
    assert posts["camat"]["holder"]["username"] == "camat.ciledug"
    assert posts["camat"]["acting"] is None and posts["camat"]["vacant"] is False
    assert posts["sekcam"]["acting"]["delegate"]["id"] == danru2
    problem(
        client.get("/api/v1/units/ciledug/positions", headers=auth("danru.cibodas")),
        403,
        "forbidden-unit",
    )
    problem(client.get("/api/v1/units/atlantis/positions", headers=auth("admin")), 404, "not-found")


class TestNoSilentVacancy:
    def _deactivate(self, client: TestClient, auth: Auth, user: str, **params: str) -> Any:
        return client.patch(
            f"/api/v1/users/{user}",
            json={"active": False},
            params=params,
            headers=auth("admin"),
        )

    def test_refused_while_incidents_wait_then_forced(
        self, flow: Flow, client: TestClient, auth: Auth, now: datetime
    ) -> None:
        flow.create(reported_at=(now - timedelta(hours=2)).isoformat())
        camat = flow.uid("camat")
        body = problem(self._deactivate(client, auth, camat), 409, "position-would-be-vacant")
        assert [i["id"] for i in body["incidents"]] == [flow.incident_id]
        assert body["position"] == "camat"
        # Nothing changed.
        assert client.get(f"/api/v1/users/{camat}", headers=auth("admin")).json()["active"]
        forced = self._deactivate(client, auth, camat, allow_vacancy="true")
        assert forced.status_code == 200, forced.text
        posts = {
            p["position"]: p
            for p in client.get(
                "/api/v1/units/ciledug/positions", headers=auth("kasi.ciledug")
            ).json()
        }
        assert posts["camat"]["vacant"] is True and posts["camat"]["holder"] is None
        board = client.get("/api/v1/sla/breaches", headers=auth("pimpinan"))
        assert board.status_code == 200, board.text
        item = next(i for i in board.json()["items"] if i["incident_id"] == flow.incident_id)
        assert item["role"] == "camat" and item["post_vacant"] is True

    def test_a_plt_in_force_covers_it(
        self, flow: Flow, client: TestClient, auth: Auth, delegate: Callable[..., Any], danru2: str
    ) -> None:
        flow.create()
        assert delegate(danru2, kind="plt", ends_at=None).status_code == 201
        assert self._deactivate(client, auth, flow.uid("camat")).status_code == 200
        posts = {
            p["position"]: p
            for p in client.get(
                "/api/v1/units/ciledug/positions", headers=auth("kasi.ciledug")
            ).json()
        }
        assert posts["camat"]["vacant"] is False and posts["camat"]["acting"]["kind"] == "plt"

    def test_nothing_waiting_nothing_refused(
        self, flow: Flow, client: TestClient, auth: Auth
    ) -> None:
        flow.create()  # waits on the camat, not on the sekcam
        assert self._deactivate(client, auth, flow.uid("sekcam")).status_code == 200


POST_USERS = {"camat": "camat", "sekcam": "sekcam", "kasi_trantib": "kasi"}
MATRIX = [
    (version, step.number, rule.role)
    for version in VERSIONS
    for step in definition(version).steps
    for rule in step.rules
    if rule.role in POST_USERS and rule.stage in (None, *step.stages[:1])
]


@pytest.mark.parametrize(("version", "step", "position"), sorted(set(MATRIX)))
def test_a_deputy_takes_what_the_definition_gives_the_post(
    flow: Flow,
    delegate: Callable[..., Any],
    danru2: str,
    client: TestClient,
    auth: Auth,
    version: str,
    step: int,
    position: str,
) -> None:
    """At every step where a post acts (at the step's first stage), its deputy may take
    exactly the post's actions there, as the definition file lists them."""
    with active(version):
        flow.run_to(step)
    sop = definition(version)
    here = sop.step(step)
    stage = here.stages[0] if here.stages else None
    expected = {
        a for r in here.rules if r.role == position and r.stage in (None, stage) for a in r.actions
    } | {
        i.action
        for i in sop.incident_actions
        if i.role == position and i.from_step <= step <= (i.to_step or sop.last_step)
    }
    before = client.get(f"/api/v1/incidents/{flow.incident_id}", headers=auth("danru2.ciledug"))
    assert before.status_code == 200
    assert delegate(danru2, position=position).status_code == 201
    after = client.get(f"/api/v1/incidents/{flow.incident_id}", headers=auth("danru2.ciledug"))
    gained = set(after.json()["allowed_actions"]) - set(before.json()["allowed_actions"])
    assert gained == expected - set(before.json()["allowed_actions"])
    assert expected <= set(after.json()["allowed_actions"])


def test_a_surat_perintah_validated_by_a_plh_camat_is_signed_in_that_capacity(
    flow: Flow, delegate: Callable[..., Any], danru2: str, client: TestClient, auth: Auth
) -> None:
    """The signer block reads "Plh. CAMAT <NAME>" with the deputy's own name and NIP, never
    the absent Camat's (DOMAIN §8: the deputy signs with the capacity before the post)."""
    assert delegate(danru2, by="camat.ciledug").status_code == 201
    flow.stand_in = {"camat": "danru2"}
    flow.run_to(6)
    response = client.get(f"/api/v1/orders/{flow.order_id}/document", headers=auth("kasi.ciledug"))
    printed = " ".join(text(pdf_of(response)).split())
    assert capacity(client, auth, "Plh", "CAMAT") in printed
    assert "Rudi Hartono" in printed
    assert "NIP. 19800101 200604 1 002" in printed
    camat = client.get("/api/v1/users/me", headers=auth("camat.ciledug")).json()
    assert camat["full_name"] not in printed
