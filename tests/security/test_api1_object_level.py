"""API1:2023 Broken Object Level Authorization.

Every operation that takes the id of a kecamatan's object is tried by the users (and a
service client) of another kecamatan on real objects of Ciledug: the answer is 404 (the object
is not revealed) for whoever holds the operation's scopes and 403 for whoever does not, and
nothing about the incident changes. The operations come from the OpenAPI document, so a new
id-taking route fails here until it is classified.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.auth.roles import ROLE_SCOPES, Role
from tests.lifecycle.flow import EQUIPMENT, ORDER_DRAFT, WALIKOTA_ORDER, field_report, report_draft
from tests.security.conftest import API, JPEG, Archived, Operation, operations, problem

# Path parameters naming an object that belongs to one kecamatan.
UNIT_OWNED = {"incident_id", "order_id", "draft_id", "report_id", "attachment_id", "record_id"}
# Path parameters that do not: city-level administration (users, webhooks, service clients,
# API5 covers who may call them), the public kecamatan list and calendar days.
NOT_UNIT_OWNED = {
    "user_id": "users:admin only",
    "code_or_slug": "the 13 kecamatan are public to every role",
    "unit": "a kecamatan's staff: another kecamatan is 403 forbidden-unit (tests/units)",
    "day": "the working-day calendar is city-wide",
    "subscription_id": "webhooks:admin only",
    "delivery_id": "webhooks:admin only",
    "push_subscription_id": "a person's own phone: another person's is 404 (tests/push)",
    "client_id": "clients:admin only",
    "version": "the SOP definitions are the same for every kecamatan",
    "delegation_id": "a kecamatan's Plh/Plt: another kecamatan is 404 (tests/delegations)",
    "number": "a draft version's number, read under its draft (draft_id decides)",
    "code": "an issued document's public verification code: whoever holds the paper may ask",
}
OTHER = "cipondoh"
ATTACKERS = {
    "camat": Role.camat,
    "sekcam": Role.sekcam,
    "kasi": Role.kasi_trantib,
    "danru": Role.danru,
    "anggota1": Role.anggota,
}
# Operations whose scope depends on the body, or whose scope other actions share (checked by
# the engine against the SOP definition): who would take them.
ACTOR = {"orders_create": "camat", "verifications_create": "kasi", "step_records_create": "kasi"}


def body_for(op: Operation, archived: Archived) -> dict[str, Any] | None:
    """A body valid for the operation, so that only the object decides the answer."""
    flow = archived.flow
    other_danru = flow.user_id(f"danru.{OTHER}")
    bodies: dict[str, Any] = {
        "incidents_escalate": {"level": "kuning"},
        "incidents_cancel": {"reason": "Acara dibatalkan"},
        "orders_create": {**WALIKOTA_ORDER, "number": "WK/1"},
        "orders_dispatch": {"danru_id": other_danru},
        "instructions_create": {"danru_id": other_danru},
        "step_records_create": {"note": "Koordinasi dengan Polsek"},
        "drafts_create": ORDER_DRAFT,
        "drafts_update": {"plan": ORDER_DRAFT["plan"]},
        "drafts_submit": {},
        "verifications_create": {"decision": "approve"},
        "briefings_create": {
            "members": [flow.user_id(f"anggota1.{OTHER}")],
            "equipment": EQUIPMENT,
        },
        "field_reports_create": field_report(),
        "field_work_close": {"reason": "Massa bubar"},
        "archive_records_create": {"classification_code": "300.1.2.1", "retention_years": 5},
        "archive_records_verify": {},
    }
    if op.operation_id == "drafts_create":
        return report_draft(flow.field_report_ids)
    return bodies.get(op.operation_id)


def call(archived: Archived, op: Operation, headers: dict[str, str]) -> Any:
    return call_with(archived, op, headers, archived.ids)


def call_with(
    archived: Archived, op: Operation, headers: dict[str, str], ids: dict[str, str]
) -> Any:
    client = archived.flow.client
    url = op.url(ids)
    if op.operation_id == "attachments_create":
        return client.post(url, files={"file": ("a.jpg", JPEG, "image/jpeg")}, headers=headers)
    body = body_for(op, archived)
    if op.method == "GET":
        return client.get(url, headers=headers)
    return client.request(op.method, url, json=body, headers=headers)


def strip(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, {k: v for k, v in response.json().items() if k != "instance"}


def snapshot(archived: Archived) -> str:
    """Everything the owner can read about the incident, as one string."""
    flow = archived.flow
    inc = flow.incident_id
    paths = [
        f"/incidents/{inc}",
        f"/incidents/{inc}/events",
        f"/incidents/{inc}/escalations",
        f"/incidents/{inc}/orders",
        f"/incidents/{inc}/instructions",
        f"/incidents/{inc}/step-records",
        f"/incidents/{inc}/drafts",
        f"/incidents/{inc}/verifications",
        f"/incidents/{inc}/briefings",
        f"/incidents/{inc}/field-reports",
        f"/incidents/{inc}/timeline",
        f"/drafts/{flow.draft_id}/versions",
        f"/field-reports/{flow.field_report_ids[0]}/attachments",
        f"/archive-records/{archived.record_id}",
    ]
    seen = {}
    for path in paths:
        response = flow.client.get(API + path, headers=flow.as_("camat"))
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        if isinstance(body, dict):
            body.pop("as_of", None)  # the timeline's "now"
        seen[path] = body
    return json.dumps(seen, sort_keys=True)


def revealed(response: Any, archived: Archived) -> set[str]:
    """The owned ids in the answer, apart from the path the caller sent itself."""
    body = {k: v for k, v in response.json().items() if k != "instance"}
    text = json.dumps(body)
    return {value for value in archived.ids.values() if value in text}


def test_every_id_taking_route_is_classified(openapi: dict[str, Any]) -> None:
    params = {p for op in operations(openapi) for p in op.params}
    assert params <= UNIT_OWNED | set(NOT_UNIT_OWNED), params - UNIT_OWNED - set(NOT_UNIT_OWNED)
    assert params >= UNIT_OWNED


def test_another_kecamatan_gets_404_on_every_object_and_changes_nothing(
    archived: Archived, openapi: dict[str, Any], register_client: Any
) -> None:
    targets = [op for op in operations(openapi) if set(op.params) & UNIT_OWNED]
    assert len(targets) >= 34
    before = snapshot(archived)
    flow = archived.flow
    service = register_client(OTHER)
    tried = 0
    for op in targets:
        found_404 = False
        for who, role in ATTACKERS.items():
            response = call(archived, op, flow.auth(f"{who}.{OTHER}"))
            granted = {str(s) for s in ROLE_SCOPES[role]}
            if op.scopes and not op.scopes <= granted:
                # Either refusal reveals nothing; which guard runs first is the route's.
                kind = "insufficient-scope" if response.status_code == 403 else "not-found"
                problem(response, response.status_code, kind)
                assert response.status_code in (403, 404)
            elif ACTOR.get(op.operation_id, who) == who and (op.scopes or op.operation_id in ACTOR):
                problem(response, 404, "not-found")
                found_404 = True
            else:
                assert response.status_code in (403, 404), (op.operation_id, who, response.text)
            assert not revealed(response, archived), (op.operation_id, who, response.text)
            tried += 1
        response = call(archived, op, service)
        assert response.status_code in (403, 404), (op.operation_id, response.text)
        if op.method == "GET":
            problem(response, 404, "not-found")
        assert found_404, op.operation_id
        # The same answer as for an id that does not exist at all.
        actor = ACTOR.get(op.operation_id, "camat")
        if not op.scopes or op.scopes <= {str(s) for s in ROLE_SCOPES[ATTACKERS[actor]]}:
            missing = {k: str(uuid.uuid4()) for k in archived.ids}
            real = call(archived, op, flow.auth(f"{actor}.{OTHER}"))
            fake = call_with(archived, op, flow.auth(f"{actor}.{OTHER}"), missing)
            assert strip(real) == strip(fake), (op.operation_id, real.text, fake.text)
    assert tried >= 5 * len(targets)
    assert snapshot(archived) == before


LISTS = [
    "/incidents",
    "/incidents?unit=ciledug",
    "/archive-records",
    "/archive-records?unit=ciledug",
    "/tasks",
    "/sla/breaches",
    "/sla/breaches?unit=ciledug",
    "/sla/summary?unit=ciledug",
]


def test_lists_never_show_another_kecamatan(archived: Archived) -> None:
    flow = archived.flow
    owned = set(archived.ids.values())
    for who in ("camat", "kasi", "danru", "anggota1"):
        for path in LISTS:
            response = flow.client.get(API + path, headers=flow.auth(f"{who}.{OTHER}"))
            assert response.status_code in (200, 403, 404), (path, response.text)
            assert not {i for i in owned if i in response.text}, (who, path, response.text)
    # The control case: Ciledug's camat does see them.
    listed = flow.client.get(f"{API}/incidents", headers=flow.as_("camat"))
    assert flow.incident_id in listed.text


def test_the_owner_sees_what_the_others_do_not(archived: Archived, openapi: dict[str, Any]) -> None:
    # The control case: the same GETs as Ciledug's camat answer 200.
    flow = archived.flow
    for op in operations(openapi):
        if op.method == "GET" and set(op.params) & UNIT_OWNED:
            response = flow.client.get(op.url(archived.ids), headers=flow.as_("camat"))
            assert response.status_code == 200, (op.operation_id, response.text)
