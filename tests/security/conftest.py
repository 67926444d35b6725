"""Shared pieces of the OWASP API Security Top 10 (2023) tests: problem checks, the operations
of the OpenAPI document, and an incident taken through all 11 steps so that every kind of
object (incident, orders, drafts, verifications, field reports, an attachment, the archive
record, timeline and events) exists."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.config import get_settings
from tests.lifecycle.flow import Flow

PROBLEMS = "https://trantib.tangerangkota.go.id/problems/"
API = "/api/v1"
METHODS = ("get", "put", "post", "patch", "delete")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
PATH_PARAM = re.compile(r"\{([^}]+)\}")


def problem(response: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    if kind is not None:
        assert body["type"] == PROBLEMS + kind, body
    assert body["status"] == status
    return body


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    scopes: frozenset[str]
    secured: bool
    body_schema: dict[str, Any] | None

    @property
    def params(self) -> list[str]:
        return PATH_PARAM.findall(self.path)

    def url(self, values: dict[str, str]) -> str:
        def value(name: str) -> str:
            if name in FIXED_PARAMS and name not in values:
                return FIXED_PARAMS[name]
            return values[name]

        return PATH_PARAM.sub(lambda m: value(m.group(1)), self.path)


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document."""
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            if list(op.get("responses", {}).get("200", {}).get("content", {})) == [
                "text/event-stream"
            ]:
                # The live stream never ends: an in-process client would wait for ever. Its
                # refusals and isolation are tested through a real server (tests/notifications).
                continue
            security = op.get("security") or []
            scopes = frozenset(s for req in security for names in req.values() for s in names)
            content = op.get("requestBody", {}).get("content", {})
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=op["operationId"],
                    scopes=scopes,
                    secured=bool(security),
                    body_schema=content.get("application/json", {}).get("schema"),
                )
            )
    return found


@pytest.fixture(scope="session")
def openapi(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    document: dict[str, Any] = app.openapi()
    return document


# Path parameters that are no object of their own: a draft version's number is read under its
# draft, whose id decides who may see it.
FIXED_PARAMS = {"number": "1"}


@dataclass
class Archived:
    """A Ciledug incident through step 11, and the ids of every object it made."""

    flow: Flow
    attachment_id: str
    record_id: str
    delegation_id: str

    @property
    def ids(self) -> dict[str, str]:
        return {
            "incident_id": self.flow.incident_id,
            "order_id": self.flow.order_id,
            "draft_id": self.flow.draft_id,
            "report_id": self.flow.field_report_ids[0],
            "attachment_id": self.attachment_id,
            "record_id": self.record_id,
            "delegation_id": self.delegation_id,
        }


def attach(flow: Flow, report_id: str, member: str = "anggota1") -> dict[str, Any]:
    return flow.ok(
        flow.client.post(
            f"{API}/field-reports/{report_id}/attachments",
            files={"file": ("foto.jpg", JPEG, "image/jpeg")},
            data={"caption": "Situasi di lokasi"},
            headers=flow.as_(member),
        ),
        201,
    )


@pytest.fixture
def archived(flow: Flow) -> Archived:
    flow.run_to(9)
    attachment = attach(flow, flow.field_report_ids[0])
    flow.step9()
    flow.step10()
    record = flow.step11()
    # The camat's Plh for a leave that starts tomorrow: an object of the kecamatan that gives
    # nobody any power today.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    delegation = flow.ok(
        flow.client.post(
            f"{API}/delegations",
            json={
                "position": "camat",
                "unit": flow.slug,
                "delegate_id": flow.uid("sekcam"),
                "kind": "plh",
                "starts_at": tomorrow.isoformat(),
                "ends_at": (tomorrow + timedelta(days=3)).isoformat(),
                "basis": {"number": "800.1.11.1/001/2026", "date": "2026-12-01"},
            },
            headers=flow.as_("camat"),
        ),
        201,
    )
    return Archived(flow, attachment["id"], record["id"], delegation["id"])


@pytest.fixture
def register_client(client, auth) -> Callable[[str | None], dict[str, str]]:  # type: ignore[no-untyped-def]
    """Register a service client with every scope a client may hold, bound to a kecamatan
    (or city-wide for None), and return the Authorization headers of a fresh token."""
    from app.clients.schemas import CLIENT_SCOPES

    def register(unit: str | None) -> dict[str, str]:
        body: dict[str, Any] = {"name": f"Sistem {unit or 'kota'}", "scopes": list(CLIENT_SCOPES)}
        if unit is not None:
            body["unit"] = unit
        created = client.post(f"{API}/clients", json=body, headers=auth("admin"))
        assert created.status_code == 201, created.text
        token = client.post(
            f"{API}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": created.json()["client_id"],
                "client_secret": created.json()["client_secret"],
            },
        )
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return register


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set TRANTIB_<NAME> variables for one test: settings_env(rate_limit_per_minute=5)."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            monkeypatch.setenv(f"TRANTIB_{name.upper()}", text)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
