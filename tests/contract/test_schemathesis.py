"""Schemathesis against the application in this process: every operation of the OpenAPI
document, with generated parameters and bodies, called as each kind of caller, must answer
without a server error, with a status the document lists for it, in a documented media type
and matching the documented schema.

Path parameters are either generated or taken from real objects (an incident through all 11
steps with its documents, an incident at step 8, a user, a service client, a webhook
subscription and delivery, a calendar day), so the answers include real 200s and the
refusals of real objects, not only 404s. A read of one of Ciledug's objects that Ciledug's
camat is given is replayed as Cipondoh's camat, who must get 404 (object level
authorization; schemathesis's own check of it needs its engine's value pool and runs no
request of its own on cases built here).

`make test` runs a few examples per operation; `make schemathesis` many more
(TRANTIB_SCHEMATHESIS_EXAMPLES). CI runs both databases.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth.roles import ROLE_SCOPES, Role
from app.core.config import get_settings
from tests.lifecycle.flow import Flow
from tests.security.conftest import API, attach

EXAMPLES = int(os.environ.get("TRANTIB_SCHEMATHESIS_EXAMPLES", "3"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
UNIT_OWNED = {"incident_id", "order_id", "draft_id", "report_id", "attachment_id", "record_id"}
# Without a token: a login verifies an argon2 hash whatever the input (slow), and a logout
# with one would end every token of that caller for the rest of the run.
ANONYMOUS_ONLY = {"auth_token", "auth_refresh", "auth_logout"}

pytestmark = pytest.mark.schemathesis


@pytest.fixture
def api_schema(app: Any) -> Any:
    # An explicit configuration: no schemathesis.toml found on the way changes the run, and
    # nothing is cached in the working tree.
    config = schemathesis.Config.from_dict({"cache": {"enabled": False}})
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture
def unlimited(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Thousands of requests a minute per caller: the rate limit has its own tests."""
    monkeypatch.setenv("TRANTIB_RATE_LIMIT_PER_MINUTE", "0")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@dataclass
class World:
    """Real objects to aim at, and the callers."""

    ids: dict[str, list[str]]
    callers: dict[str, dict[str, str]]
    owner: dict[str, str]
    stranger: dict[str, str]


@pytest.fixture
def world(client: Any, auth: Callable[[str], dict[str, str]], flow: Flow, flow_for: Any) -> World:
    from app.core.db import get_engine
    from app.webhooks import delivery

    admin = auth("admin")
    flow.run_to(9)
    attachment = attach(flow, flow.field_report_ids[0])
    flow.step9()
    flow.step10()
    record = flow.step11()
    active = flow_for("ciledug")
    active.run_to(8)
    active.step8(("anggota1",))

    def created(response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    target_user = created(
        client.post(
            f"{API}/users",
            json={
                "username": "sasaran.ciledug",
                "full_name": "Pengguna Sasaran",
                "password": "kata-sandi-sasaran",
                "role": "anggota",
                "unit": "ciledug",
            },
            headers=admin,
        )
    )
    target_client = created(
        client.post(
            f"{API}/clients",
            json={"name": "Sistem sasaran", "scopes": ["units:read"]},
            headers=admin,
        )
    )
    acting_client = created(
        client.post(
            f"{API}/clients",
            json={
                "name": "Aplikasi Kecamatan Ciledug",
                "scopes": ["incidents:read", "incidents:write", "orders:read", "sla:read"],
                "unit": "ciledug",
            },
            headers=admin,
        )
    )
    token = created(
        client.post(
            f"{API}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": acting_client["client_id"],
                "client_secret": acting_client["client_secret"],
            },
        )
    )
    subscription = created(
        client.post(
            f"{API}/webhooks/subscriptions",
            json={"url": "https://8.8.8.8/hook", "event_types": ["step.completed"]},
            headers=admin,
        )
    )
    active.client.post(
        f"{API}/incidents/{active.incident_id}/escalations",
        json={"level": "kuning"},
        headers=active.as_("kasi"),
    )
    delivery.fan_out(get_engine())
    deliveries = client.get(
        f"{API}/webhooks/subscriptions/{subscription['id']}/deliveries", headers=admin
    ).json()["items"]
    created(
        client.put(
            f"{API}/calendar/non-working-days/2026-12-24",
            json={"kind": "cuti_bersama", "name": "Cuti bersama Natal", "source": "SKB 3 Menteri"},
            headers=admin,
        )
    )
    ids = {
        "incident_id": [flow.incident_id, active.incident_id],
        "order_id": [flow.order_id],
        "draft_id": [flow.draft_id, flow.report_draft_id],
        "report_id": [flow.field_report_ids[0], active.field_report_ids[0]],
        "attachment_id": [attachment["id"]],
        "record_id": [record["id"]],
        "user_id": [target_user["id"]],
        "client_id": [target_client["client_id"]],
        "subscription_id": [subscription["id"]],
        "delivery_id": [d["id"] for d in deliveries][:1],
        "day": ["2026-12-24"],
        "code_or_slug": ["ciledug", "36.71.06"],
    }
    callers = {
        "anonymous": {},
        "camat": flow.as_("camat"),
        "kasi": flow.as_("kasi"),
        "danru": flow.as_("danru"),
        "anggota": flow.as_("anggota1"),
        "pimpinan": auth("pimpinan"),
        "admin": admin,
        "service client": {"Authorization": f"Bearer {token['access_token']}"},
        "camat of another kecamatan": auth("camat.cipondoh"),
    }
    return World(ids, callers, flow.as_("camat"), auth("camat.cipondoh"))


@dataclass
class Findings:
    seen: dict[tuple[str, str, str], str] = field(default_factory=dict)
    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.calls += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def add(self, operation: str, caller: str, error: BaseException) -> None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        key = (operation, caller, type(error).__name__ + ": " + first[:120])
        self.seen.setdefault(key, str(error)[:2000])

    def report(self) -> str:
        return "\n\n".join(
            f"{op} as {who}: {what}\n{full}" for (op, who, what), full in self.seen.items()
        )


def strategy_for(operation: Any, ids: dict[str, list[str]]) -> Any:
    """Generated cases, and as many with the path aimed at real objects."""
    names = [p.name for p in operation.path_parameters]
    generated = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if not names or any(name not in ids or not ids[name] for name in names):
        return st.one_of(*generated)
    aimed = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names}).flatmap(
        lambda values: operation.as_strategy(path_parameters=values)
    )
    return st.one_of(*generated, aimed, aimed)


def run_operation(operation: Any, index: int, world: World, findings: Findings) -> None:
    """EXAMPLES generated cases, each sent by the next caller in turn."""
    label = operation.label
    operation_id = operation.definition.raw.get("operationId", label)
    names = ["anonymous"] if operation_id in ANONYMOUS_ONLY else list(world.callers)
    owned = {p.name for p in operation.path_parameters} & UNIT_OWNED
    is_read = operation.method.upper() == "GET"
    turn = [index]

    @given(case=strategy_for(operation, world.ids))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def examples(case: Any) -> None:
        who = names[turn[0] % len(names)]
        turn[0] += 1
        headers = world.callers[who]
        try:
            response = case.call(headers=headers)
            findings.count(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)
        # Failed checks come as an exception group; every one is reported at the end.
        except (Exception, BaseExceptionGroup) as error:
            findings.add(label, who, error)
            return
        aimed = all(str(case.path_parameters.get(name)) in world.ids[name] for name in owned)
        if owned and aimed and is_read and who != "camat of another kecamatan":
            # Whatever this caller was given, Cipondoh's camat gets a 404 for Ciledug's object.
            other = case.call(headers=world.stranger)
            findings.count(other.status_code)
            if other.status_code != 404:
                findings.add(
                    label,
                    "camat of another kecamatan (replay)",
                    AssertionError(f"{other.status_code}: {other.text[:300]}"),
                )

    examples()


def test_every_operation_as_every_caller(api_schema: Any, world: World, unlimited: None) -> None:
    findings = Findings()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 70
    for index, operation in enumerate(operations):
        run_operation(operation, index, world, findings)
    # Hypothesis stops early where there is little to vary (an operation without parameters).
    assert findings.calls >= len(operations) * min(EXAMPLES, 2)
    assert sum(n for status, n in findings.statuses.items() if status < 300) > 20, findings.statuses
    assert not findings.seen, f"{len(findings.seen)} findings:\n\n" + findings.report()


@pytest.mark.parametrize("who", ["kasi.ciledug", "admin"])
def test_stateful_links(api_schema: Any, auth: Any, unlimited: None, who: str) -> None:
    """Sequences that follow the links schemathesis infers from the document (an id one
    answer returns, used by the next request), as a kecamatan user and as the administrator."""
    headers = auth(who)
    statuses: list[int] = []
    role = Role.admin if who == "admin" else Role.kasi_trantib
    granted = {str(scope) for scope in ROLE_SCOPES[role]}
    # Only what the caller may do: sequences of 403s follow no link.
    allowed = [
        f"{method.upper()} {path}"
        for path, item in api_schema.raw_schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        and operation.get("security")
        and {s for req in operation["security"] for names in req.values() for s in names} <= granted
    ]
    machine = api_schema.include(name=allowed).as_state_machine()

    class AsCaller(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            statuses.append(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)

    run_state_machine_as_test(
        AsCaller,
        settings=settings(
            max_examples=max(3, EXAMPLES),
            stateful_step_count=8 if EXAMPLES < 10 else 15,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert len(statuses) >= max(3, EXAMPLES), statuses
    assert any(status < 300 for status in statuses), statuses
