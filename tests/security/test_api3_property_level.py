"""API3:2023 Broken Object Property Level Authorization.

Mass assignment: every request body refuses unknown members (422 `validation-error`, the
field named, `extra_forbidden`), so the fields the server owns (status, current_step,
created_by, unit_id, number, content_sha256, version, hash, ...) can never be set by a
client, and nothing is stored when one is tried. Excessive exposure: no answer of any GET
operation carries a password hash, a refresh-token hash, a client secret (or its hash) or a
webhook signing secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.auth.models import RefreshToken
from app.clients.models import ServiceClient
from app.users.models import User
from app.webhooks import delivery
from app.webhooks.models import WebhookSubscription
from tests.lifecycle.flow import INCIDENT, ORDER_DRAFT, Flow, field_report
from tests.security.conftest import API, Archived, operations, problem

SERVER_OWNED = {
    "id",
    "status",
    "current_step",
    "stage",
    "created_by",
    "created_at",
    "unit_id",
    "number",
    "register_number",
    "content_sha256",
    "version",
    "hash",
    "prev_hash",
    "author_id",
    "actor_id",
    "password_hash",
    "token_hash",
    "token_version",
    "secret",
    "secret_hash",
    "client_secret",
}
# Request members named like server-owned fields that a client does legitimately send.
CLIENT_CHOSEN = {
    ("users_create", "unit_id"): "the administrator puts the account in a kecamatan",
    ("users_update", "unit_id"): "the administrator moves the account",
    ("clients_create", "unit_id"): "the administrator binds the client to a kecamatan",
    ("orders_create", "number"): "the Surat Perintah Walikota's own number, from the letter",
    ("webhooks_subscriptions_create", "unit_id"): "the events of one kecamatan only",
}


def _schemas(document: dict[str, Any], schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The object schemas a request body may be (following $ref, oneOf and anyOf)."""
    components = document["components"]["schemas"]
    if "$ref" in schema:
        yield from _schemas(document, components[schema["$ref"].rsplit("/", 1)[-1]])
        return
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        for variant in variants:
            yield from _schemas(document, variant)
        return
    if schema.get("type") == "object" or "properties" in schema:
        yield schema


def test_every_json_body_refuses_unknown_members(openapi: dict[str, Any]) -> None:
    checked = 0
    for op in operations(openapi):
        if op.body_schema is None:
            continue
        for schema in _schemas(openapi, op.body_schema):
            if not schema.get("properties"):
                continue  # an empty body (e.g. submit without occurred_at)
            assert schema.get("additionalProperties") is False, (op.operation_id, schema)
            for name in set(schema["properties"]) & SERVER_OWNED:
                assert (op.operation_id, name) in CLIENT_CHOSEN, (op.operation_id, name)
            checked += 1
    assert checked >= 25


def refused(response: Any, *fields: str) -> None:
    found = problem(response, 422, "validation-error")
    # A discriminated union prefixes the variant: "order.status".
    errors = {(e["field"].rsplit(".", 1)[-1], e["type"]) for e in found["errors"]}
    for name in fields:
        assert (name, "extra_forbidden") in errors, found


def count(engine: Any, model: Any) -> int:
    with Session(engine) as session:
        return len(session.execute(select(model.id)).all())


OWNED_ON_INCIDENT = {
    "status": "closed",
    "current_step": 11,
    "created_by": str(uuid.uuid4()),
    "unit_id": 1,
    "register_number": "REG/1",
    "version": 7,
    "id": str(uuid.uuid4()),
    "created_at": "2026-01-01T00:00:00+07:00",
}


class TestMassAssignment:
    def test_incident_fields_the_server_owns(self, client, auth) -> None:
        for field, value in OWNED_ON_INCIDENT.items():
            response = client.post(
                f"{API}/incidents", json={**INCIDENT, field: value}, headers=auth("kasi.ciledug")
            )
            refused(response, field)
        listed = client.get(f"{API}/incidents", headers=auth("camat.ciledug")).json()
        assert listed["total"] == 0

    def test_step_actions_and_documents(self, flow: Flow) -> None:
        flow.run_to(3)
        before = flow.incident()
        inc = flow.incident_id
        attempts = [
            ("POST", f"/incidents/{inc}/drafts", {**ORDER_DRAFT, "status": "approved"}, "status"),
            ("POST", f"/incidents/{inc}/drafts", {**ORDER_DRAFT, "version": 3}, "version"),
            (
                "POST",
                f"/incidents/{inc}/drafts",
                {**ORDER_DRAFT, "content_sha256": "0" * 64},
                "content_sha256",
            ),
            ("POST", f"/incidents/{inc}/drafts", {**ORDER_DRAFT, "author_id": "x"}, "author_id"),
            ("POST", f"/incidents/{inc}/escalations", {"level": "kuning", "step": 9}, "step"),
            (
                "POST",
                f"/incidents/{inc}/escalations",
                {"level": "kuning", "current_step": 9},
                "current_step",
            ),
        ]
        for method, path, body, field in attempts:
            who = "kasi" if "escalations" in path else "danru"
            refused(
                flow.client.request(method, API + path, json=body, headers=flow.as_(who)), field
            )
        after = flow.incident()
        assert (after["version"], after["current_step"]) == (
            before["version"],
            before["current_step"],
        )
        drafts = flow.client.get(f"{API}/incidents/{inc}/drafts", headers=flow.as_("danru"))
        assert drafts.json() in ([], {"items": [], "total": 0})

    def test_draft_patch_and_verification(self, flow: Flow) -> None:
        flow.run_to(4)
        draft = f"{API}/drafts/{flow.draft_id}"
        before = flow.client.get(draft, headers=flow.as_("danru")).json()
        for field, value in [
            ("status", "approved"),
            ("version", 99),
            ("current_version", 5),
            ("content_sha256", "0" * 64),
        ]:
            body = {"plan": ORDER_DRAFT["plan"], field: value}
            refused(flow.client.patch(draft, json=body, headers=flow.as_("danru")), field)
        for field, value in [("actor_id", str(uuid.uuid4())), ("step", 5), ("stage", "camat")]:
            refused(
                flow.client.post(
                    f"{draft}/verifications",
                    json={"decision": "approve", field: value},
                    headers=flow.as_("kasi"),
                ),
                field,
            )
        assert flow.client.get(draft, headers=flow.as_("danru")).json() == before

    def test_surat_perintah_number_is_the_servers(self, flow: Flow) -> None:
        flow.run_to(5)
        response = flow.client.post(
            f"{API}/incidents/{flow.incident_id}/orders",
            json={"kind": "surat_perintah", "draft_id": flow.draft_id, "number": "SP/0001"},
            headers=flow.as_("camat"),
        )
        refused(response, "number")
        assert flow.incident()["current_step"] == 5

    def test_field_report_and_archive(self, flow: Flow) -> None:
        flow.run_to(8)
        inc = flow.incident_id
        for field, value in [("created_by", str(uuid.uuid4())), ("unit_id", 2), ("status", "x")]:
            refused(
                flow.client.post(
                    f"{API}/incidents/{inc}/field-reports",
                    json={**field_report(), field: value},
                    headers=flow.as_("anggota1"),
                ),
                field,
            )
        assert flow.client.get(
            f"{API}/incidents/{inc}/field-reports", headers=flow.as_("camat")
        ).json() in ([], {"items": [], "total": 0})
        flow.step8()
        flow.step9()
        flow.step10()
        body = {"classification_code": "300.1.2.1", "retention_years": 5}
        for field, value in [("hash", "0" * 64), ("number", "A/1"), ("manifest", [])]:
            refused(
                flow.client.post(
                    f"{API}/incidents/{inc}/archive-records",
                    json={**body, field: value},
                    headers=flow.as_("kasi"),
                ),
                field,
            )
        assert flow.incident()["current_step"] == 11

    def test_admin_bodies(self, client, auth, engine) -> None:
        admin = auth("admin")
        user = client.get(f"{API}/users?limit=1", headers=admin).json()["items"][0]
        for field, value in [
            ("password_hash", "$argon2id$v=19$m=65536,t=3,p=4$x$y"),
            ("token_version", 0),
            ("is_demo", False),
            ("username", "renamed"),
        ]:
            refused(
                client.patch(f"{API}/users/{user['id']}", json={field: value}, headers=admin),
                field,
            )
        hook = {"url": "https://8.8.8.8/hook", "event_types": ["step.completed"]}
        for field in ("secret", "previous_secret", "id"):
            refused(
                client.post(
                    f"{API}/webhooks/subscriptions",
                    json={**hook, field: "whsec_AAAA"},
                    headers=admin,
                ),
                field,
            )
        registration = {"name": "Sistem kota", "scopes": ["incidents:read"]}
        for field in ("client_id", "client_secret", "secret_hash", "token_version"):
            refused(
                client.post(f"{API}/clients", json={**registration, field: "x"}, headers=admin),
                field,
            )
        assert count(engine, WebhookSubscription) == 0
        assert count(engine, ServiceClient) == 0


# -- nothing secret in any answer ---------------------------------------------------------------

SECRET_KEYS = {
    "password",
    "password_hash",
    "token_hash",
    "secret",
    "previous_secret",
    "secret_hash",
    "client_secret",
    "refresh_token",
    "signing_key",
}


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_no_get_answer_carries_a_secret(
    archived: Archived, openapi: dict[str, Any], client, auth, engine, login_tokens
) -> None:
    admin = auth("admin")
    subscribed = client.post(
        f"{API}/webhooks/subscriptions",
        json={"url": "https://8.8.8.8/hook", "event_types": ["step.completed"]},
        headers=admin,
    ).json()
    client.post(f"{API}/webhooks/subscriptions/{subscribed['id']}/rotate-secret", headers=admin)
    registered = client.post(
        f"{API}/clients", json={"name": "Sistem kota", "scopes": ["incidents:read"]}, headers=admin
    ).json()
    flow = archived.flow
    flow.client.post(
        f"{API}/incidents/{flow.incident_id}/escalations",
        json={"level": "kuning"},
        headers=flow.as_("kasi"),
    )
    delivery.fan_out(engine)
    deliveries = client.get(
        f"{API}/webhooks/subscriptions/{subscribed['id']}/deliveries", headers=admin
    ).json()
    with Session(engine) as session:
        sub = session.get(WebhookSubscription, uuid.UUID(subscribed["id"]))
        assert sub is not None
        secrets = {sub.secret, sub.previous_secret or "", registered["client_secret"]}
        secrets |= {h for (h,) in session.execute(select(User.password_hash)).all()}
        secrets |= {h for (h,) in session.execute(select(RefreshToken.token_hash)).all()}
        secrets |= {h for (h,) in session.execute(select(ServiceClient.secret_hash)).all()}
    secrets |= set(login_tokens)
    secrets.discard("")
    assert len(secrets) >= 8

    values = {
        **archived.ids,
        "user_id": flow.uid("camat"),
        "code_or_slug": "ciledug",
        "unit": "ciledug",
        "subscription_id": subscribed["id"],
        "delivery_id": deliveries["items"][0]["id"]
        if "items" in deliveries
        else deliveries[0]["id"],
        "client_id": registered["client_id"],
        "version": "unjuk-rasa-v1",
        "code": flow.client.get(f"{API}/orders/{flow.order_id}", headers=flow.as_("camat"))
        .json()["verification_url"]
        .rsplit("/", 1)[1],
    }
    readers = [auth("admin"), auth("pimpinan"), flow.as_("camat"), flow.as_("anggota1")]
    scanned = 0
    for op in operations(openapi):
        if op.method != "GET" or "day" in op.params:
            continue
        for headers in readers:
            response = client.get(op.url(values), headers=headers)
            assert response.status_code < 500, (op.operation_id, response.text)
            text = response.text
            leaked = {s for s in secrets if s in text}
            assert not leaked, (op.operation_id, leaked)
            if response.headers.get("content-type", "").endswith("json"):
                keys = set(_keys(response.json())) & SECRET_KEYS
                assert not keys, (op.operation_id, keys)
            scanned += 1
    assert scanned > 100


@pytest.fixture
def login_tokens(client) -> list[str]:  # type: ignore[no-untyped-def]
    """Refresh tokens issued by real logins, which must never be shown again."""
    from app.core.config import get_settings

    tokens = []
    for username in ("camat.ciledug", "admin"):
        response = client.post(
            f"{API}/auth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": get_settings().demo_password,
            },
        )
        assert response.status_code == 200, response.text
        tokens.append(response.json()["refresh_token"])
    return tokens
