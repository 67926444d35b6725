"""API5:2023 Broken Function Level Authorization.

From ROLE_SCOPES and the scopes each operation declares in the OpenAPI document: every role
(and a service client, city-wide or bound to a kecamatan) calling an operation it lacks a
scope for gets 403 `insufficient-scope`, and no row of any table changes. The objects are
the caller's own kecamatan's, so only the scope decides. Without a token every secured
operation is 401.

Step actions by role and step are in tests/lifecycle/test_matrix.py; added here, from the
same rules: a service client never takes a step action, whatever scopes it holds.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from app.auth.roles import ROLE_SCOPES, Role
from app.clients.schemas import CLIENT_SCOPES
from app.sop.engine import Action
from tests.lifecycle.test_matrix import request_for
from tests.security.conftest import API, JPEG, Archived, Operation, operations, problem

USERS = {
    "camat.ciledug": Role.camat,
    "sekcam.ciledug": Role.sekcam,
    "kasi.ciledug": Role.kasi_trantib,
    "danru.ciledug": Role.danru,
    "anggota1.ciledug": Role.anggota,
    "pimpinan": Role.pimpinan,
    "admin": Role.admin,
}
ADMIN_SCOPES = {"users:admin", "calendar:admin", "webhooks:admin", "clients:admin"}


def row_counts(engine: Engine) -> dict[str, int]:
    import app.models  # noqa: F401

    with Session(engine) as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


def send(client: Any, op: Operation, url: str, headers: dict[str, str]) -> Any:
    if op.operation_id == "attachments_create":
        return client.post(url, files={"file": ("a.jpg", JPEG, "image/jpeg")}, headers=headers)
    if op.method in ("GET", "DELETE"):
        return client.request(op.method, url, headers=headers)
    # A body of the right type: the scope is checked before the body is validated.
    return client.request(op.method, url, json={}, headers=headers)


@pytest.fixture
def ids(archived: Archived, client, auth, user_id, engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from app.webhooks import delivery

    admin = auth("admin")
    subscription = client.post(
        f"{API}/webhooks/subscriptions",
        json={"url": "https://8.8.8.8/hook", "event_types": ["incident.created"]},
        headers=admin,
    ).json()
    flow = archived.flow
    flow_b = type(flow)(flow.client, flow.auth, flow.user_id)
    flow_b.create()
    delivery.fan_out(engine)
    deliveries = client.get(
        f"{API}/webhooks/subscriptions/{subscription['id']}/deliveries", headers=admin
    ).json()["items"]
    registered = client.post(
        f"{API}/clients", json={"name": "Sistem kota", "scopes": ["units:read"]}, headers=admin
    ).json()
    return {
        **archived.ids,
        "user_id": user_id("danru.ciledug"),
        "code_or_slug": "ciledug",
        "unit": "ciledug",
        "day": "2026-12-24",
        "number": "1",
        "subscription_id": subscription["id"],
        "delivery_id": deliveries[0]["id"],
        "client_id": registered["client_id"],
    }


def test_every_role_is_refused_every_operation_it_lacks_a_scope_for(
    ids: dict[str, str], client, auth, openapi, engine, register_client
) -> None:
    callers: dict[str, tuple[dict[str, str], set[str]]] = {
        username: (auth(username), {str(s) for s in ROLE_SCOPES[role]})
        for username, role in USERS.items()
    }
    callers["client of ciledug"] = (register_client("ciledug"), set(CLIENT_SCOPES))
    callers["city-wide client"] = (register_client(None), set(CLIENT_SCOPES))
    before = row_counts(engine)
    refused = 0
    admin_refusals = 0
    for op in operations(openapi):
        if not op.scopes:
            continue
        url = op.url(ids)
        for headers, granted in callers.values():
            if op.scopes <= granted:
                continue
            response = send(client, op, url, headers)
            found = problem(response, 403, "insufficient-scope")
            # Names the scopes of the dependency that refused: some the caller lacks.
            required = set(found["required_scopes"])
            assert required <= op.scopes and required - granted, (op.operation_id, found)
            assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
            refused += 1
            admin_refusals += bool(op.scopes & ADMIN_SCOPES)
    assert row_counts(engine) == before
    assert refused > 200 and admin_refusals > 100, (refused, admin_refusals)


def test_admin_operations_are_admin_only(openapi) -> None:
    # The administration scopes belong to the admin role alone, never to a client.
    for role, scopes in ROLE_SCOPES.items():
        held = {str(s) for s in scopes} & ADMIN_SCOPES
        assert held == (ADMIN_SCOPES if role is Role.admin else set()), role
    admin_ops = [op for op in operations(openapi) if op.scopes & ADMIN_SCOPES]
    assert len(admin_ops) >= 20
    assert not set(CLIENT_SCOPES) & ADMIN_SCOPES


def test_every_secured_operation_wants_a_token(client, openapi) -> None:
    secured = [op for op in operations(openapi) if op.secured]
    assert len(secured) >= 60
    anything = defaultdict(
        lambda: str(uuid.uuid4()), day="2026-12-24", code_or_slug="ciledug", unit="ciledug"
    )
    for op in secured:
        response = send(client, op, op.url(anything), {})
        problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


STEPS_TRIED = (1, 5, 8)


@pytest.mark.parametrize("step", STEPS_TRIED)
def test_a_service_client_never_takes_a_step_action(
    flow, register_client, engine, step: int
) -> None:
    flow.run_to(step)
    service = register_client("ciledug")
    before = row_counts(engine)
    tried = 0
    for action in Action:
        call = request_for(flow, action)
        if call is None:
            continue
        method, url, body = call
        response = flow.client.request(method, url, json=body, headers=service)
        assert response.status_code == 403, (step, action, response.text)
        assert response.json()["type"].rsplit("/", 1)[-1] in ("insufficient-scope", "forbidden")
        tried += 1
    assert tried >= 10
    assert row_counts(engine) == before
