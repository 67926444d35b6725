"""Idempotency-Key on POST: one effect, the first answer replayed, misuse refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.field_reports.models import Attachment
from app.idempotency.models import IdempotencyRecord
from app.incidents.models import Incident
from tests.lifecycle.flow import INCIDENT, WALIKOTA_ORDER, Flow
from tests.security.conftest import JPEG


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_same_key_same_body_replays_and_acts_once(flow: Flow, engine) -> None:
    headers = {**flow.as_("kasi"), "Idempotency-Key": "create-1"}
    first = flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    second = flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert count(engine, Incident) == 1


def test_step_action_retried_with_one_key_changes_the_incident_once(flow: Flow, engine) -> None:
    flow.run_to(1)
    url = f"/api/v1/incidents/{flow.incident_id}/orders"
    headers = {**flow.as_("camat"), "Idempotency-Key": "order-1"}
    events_before = count(engine, AuditEvent)
    responses = [flow.client.post(url, json=WALIKOTA_ORDER, headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert count(engine, AuditEvent) == events_before + 1
    assert flow.incident()["current_step"] == 2


def test_same_key_other_body_is_422(flow: Flow) -> None:
    headers = {**flow.as_("kasi"), "Idempotency-Key": "k"}
    assert flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 201
    other = flow.client.post(
        "/api/v1/incidents", json={**INCIDENT, "title": "Lain"}, headers=headers
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")


def test_keys_are_scoped_to_the_caller(flow: Flow, engine) -> None:
    for who in ("kasi", "camat"):
        headers = {**flow.as_(who), "Idempotency-Key": "shared"}
        assert (
            flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 201
        )
    assert count(engine, Incident) == 2


def test_refusals_are_replayed_but_server_errors_are_not_stored(flow: Flow, engine) -> None:
    headers = {**flow.as_("danru"), "Idempotency-Key": "forbidden"}
    first = flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    again = flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert first.status_code == again.status_code == 403
    assert again.json() == first.json()


def test_bad_key_is_400(flow: Flow) -> None:
    headers = {**flow.as_("kasi"), "Idempotency-Key": "x" * 300}
    response = flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/bad-idempotency-key")


def test_in_flight_same_request_is_409(flow: Flow, engine) -> None:
    """Hold the claim as if the first request were still running, then retry it."""
    import hashlib
    import json as _json

    from app.core import clock

    body = _json.dumps(INCIDENT).encode()
    fingerprint = hashlib.sha256(b"POST /api/v1/incidents?\n" + body).hexdigest()
    caller = "user:" + flow.uid("kasi")
    now = clock.now()
    with Session(engine) as session:
        session.add(
            IdempotencyRecord(
                caller=caller,
                key="held",
                fingerprint=fingerprint,
                state="in_flight",
                created_at=now,
                expires_at=now.replace(year=now.year + 1),
            )
        )
        session.commit()
    response = flow.client.post(
        "/api/v1/incidents",
        content=body,
        headers={**flow.as_("kasi"), "Idempotency-Key": "held", "Content-Type": "application/json"},
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-in-flight")
    assert count(engine, Incident) == 0


def test_an_expired_key_starts_afresh(flow: Flow, engine) -> None:
    """After its 24 hours a key is free again: the next request with it acts and is stored."""
    from sqlalchemy import update

    from app.core import clock

    headers = {**flow.as_("kasi"), "Idempotency-Key": "daily"}
    assert flow.client.post("/api/v1/incidents", json=INCIDENT, headers=headers).status_code == 201
    with Session(engine) as session:
        session.execute(update(IdempotencyRecord).values(expires_at=clock.now().replace(year=2020)))
        session.commit()
    # Another body under the same key: not 422, since the old record has expired.
    again = flow.client.post(
        "/api/v1/incidents", json={**INCIDENT, "title": "Hari berikutnya"}, headers=headers
    )
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers
    assert count(engine, Incident) == 2
    replay = flow.client.post(
        "/api/v1/incidents", json={**INCIDENT, "title": "Hari berikutnya"}, headers=headers
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == again.json()["id"]
    assert count(engine, IdempotencyRecord) == 1


def test_a_revoked_token_gets_no_replay(client, auth, engine) -> None:
    """After logout the same POST with the same key must not hand the client secret out again."""
    from app.clients.models import ServiceClient

    admin = {**auth("admin"), "Idempotency-Key": "new-client"}
    body = {"name": "Dasbor Pemkot", "scopes": ["incidents:read"]}
    first = client.post("/api/v1/clients", json=body, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["client_secret"]
    assert client.post("/api/v1/auth/logout", headers=auth("admin")).status_code == 204
    again = client.post("/api/v1/clients", json=body, headers=admin)
    assert again.status_code == 401, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("/invalid-token")
    assert "idempotent-replayed" not in again.headers
    assert "client_secret" not in again.text
    assert count(engine, ServiceClient) == 1


def _multipart(boundary: str, content: bytes, caption: str = "Situasi") -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="foto.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _upload(app: Any, flow: Flow, report_id: str, key: str, boundary: str, content: bytes) -> Any:
    """The body handed to the service in 64 KiB pieces, as off a network (the test client
    would join them into one)."""
    body = _multipart(boundary, content)

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                f"/api/v1/field-reports/{report_id}/attachments",
                content=pieces(),
                headers={
                    **flow.as_("anggota1"),
                    "Idempotency-Key": key,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
            )

    return anyio.run(send)


@pytest.fixture
def report_id(flow: Flow) -> str:
    """A field report of anggota1, at step 8."""
    flow.run_to(8)
    flow.step8(("anggota1",))
    return flow.field_report_ids[0]


def test_a_retried_upload_with_a_new_boundary_is_the_same_request(
    flow: Flow, engine, app: Any, report_id: str
) -> None:
    first = _upload(app, flow, report_id, "photo-1", "first-boundary", JPEG)
    assert first.status_code == 201, first.text
    retried = _upload(app, flow, report_id, "photo-1", "another-boundary-42", JPEG)
    assert retried.status_code == 201, retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == first.json()
    assert count(engine, Attachment) == 1


def test_uploads_alike_in_their_first_mebibyte_are_different_requests(
    flow: Flow, engine, app: Any, report_id: str
) -> None:
    shared = JPEG + bytes(3 * 1024 * 1024 // 2)
    first = _upload(app, flow, report_id, "photo-2", "b1", shared + b"first")
    assert first.status_code == 201, first.text
    other = _upload(app, flow, report_id, "photo-2", "b1", shared + b"other")
    assert other.status_code == 422, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert count(engine, Attachment) == 1
