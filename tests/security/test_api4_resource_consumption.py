"""API4:2023 Unrestricted Resource Consumption.

- Request bodies: over `max_body_bytes` is 413 `payload-too-large`, from the Content-Length
  before a byte is read, or while a body without one streams, as soon as the limit is
  passed; multipart uploads get the attachment limit instead (tests/lifecycle/
  test_field_reports.py checks the attachment size and count limits themselves).
- A zip bomb sent as a photo is refused by its magic bytes (415) before it is stored.
- Pages are capped at `page_size_max` whatever `limit` asks for.
- A token subject is limited to `rate_limit_per_minute` requests (429 with Retry-After).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app.core.config import get_settings
from app.core.limits import MULTIPART_OVERHEAD, TokenBuckets
from app.idempotency.models import IdempotencyRecord
from tests.lifecycle.flow import INCIDENT, Flow
from tests.security.conftest import API, JPEG, operations, problem

INCIDENTS = f"{API}/incidents"
MB = 1024 * 1024


def json_of_size(size: int) -> bytes:
    """A syntactically valid incident body padded to `size` bytes."""
    head = json.dumps({**INCIDENT, "notes": ""}).encode()
    padding = size - len(head)
    assert padding > 0
    return head.replace(b'"notes": ""', b'"notes": "' + b"a" * padding + b'"')


# -- body size ----------------------------------------------------------------------------------


def test_a_json_body_over_the_limit_is_413(client, auth, engine) -> None:
    limit = get_settings().max_body_bytes
    body = json_of_size(limit + 1)
    headers = {**auth("kasi.ciledug"), "Content-Type": "application/json"}
    found = problem(client.post(INCIDENTS, content=body, headers=headers), 413, "payload-too-large")
    assert found["max_bytes"] == limit
    # With an Idempotency-Key too: nothing is claimed for a refused body.
    keyed = {**headers, "Idempotency-Key": "big-body-1"}
    problem(client.post(INCIDENTS, content=body, headers=keyed), 413, "payload-too-large")
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar() == 0
    assert client.get(INCIDENTS, headers=auth("camat.ciledug")).json()["total"] == 0


def test_a_body_at_the_limit_is_read(client, auth) -> None:
    limit = get_settings().max_body_bytes
    headers = {**auth("kasi.ciledug"), "Content-Type": "application/json"}
    # Read and judged by its schema (notes are at most a few thousand characters): not a 413.
    problem(
        client.post(INCIDENTS, content=json_of_size(limit), headers=headers),
        422,
        "validation-error",
    )


def test_ten_megabytes_of_json_is_refused_before_it_is_read(app, token_for) -> None:
    status, consumed, body = drive(
        app,
        token_for("kasi.ciledug"),
        chunks=[b"x" * 65536] * 160,
        content_length=160 * 65536,
    )
    assert status == 413
    assert consumed == 0
    assert json.loads(body)["type"].endswith("/payload-too-large")


def test_a_streamed_body_without_length_is_cut_at_the_limit(app, token_for) -> None:
    chunk = 64 * 1024
    chunks = [b'{"notes": "'] + [b"a" * chunk] * 160
    status, consumed, body = drive(app, token_for("kasi.ciledug"), chunks=chunks)
    assert status == 413
    limit = get_settings().max_body_bytes
    assert consumed <= limit // chunk + 2 < len(chunks)
    assert json.loads(body)["type"].endswith("/payload-too-large")


def test_a_streamed_body_is_cut_even_for_anonymous_callers(app) -> None:
    status, consumed, _ = drive(app, None, chunks=[b"a" * 65536] * 160)
    assert status in (401, 413)
    assert consumed <= get_settings().max_body_bytes // 65536 + 2


def drive(
    app: Any, token: str | None, chunks: list[bytes], content_length: int | None = None
) -> tuple[int, int, bytes]:
    """Send a POST straight to the ASGI app, counting the body chunks it pulls."""
    consumed = 0
    pending = iter(chunks)
    status = 0
    body = bytearray()
    headers = [(b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        chunk = next(pending, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        consumed += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": INCIDENTS,
        "raw_path": INCIDENTS.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    return status, consumed, bytes(body)


# -- uploads ------------------------------------------------------------------------------------


@pytest.fixture
def report(flow: Flow) -> tuple[Flow, str]:
    flow.run_to(8)
    flow.step8(("anggota1",))
    return flow, flow.field_report_ids[0]


def upload(flow: Flow, report_id: str, content: bytes, name: str = "foto.jpg") -> Any:
    return flow.client.post(
        f"{API}/field-reports/{report_id}/attachments",
        files={"file": (name, content, "image/jpeg")},
        headers=flow.as_("anggota1"),
    )


def test_an_upload_is_held_to_the_attachment_limit_not_the_json_one(report) -> None:
    flow, report_id = report
    content = JPEG + bytes(get_settings().max_body_bytes + MB // 2)
    assert upload(flow, report_id, content).status_code == 201


def test_an_upload_over_the_attachment_limit_is_413_by_its_length(report, monkeypatch) -> None:
    flow, report_id = report
    monkeypatch.setattr(get_settings(), "attachment_max_bytes", 64 * 1024)
    content = JPEG + bytes(64 * 1024 + MULTIPART_OVERHEAD)
    found = problem(upload(flow, report_id, content), 413, "payload-too-large")
    assert found["max_bytes"] in (64 * 1024, 64 * 1024 + MULTIPART_OVERHEAD)


def zip_bomb() -> bytes:
    """A small zip that inflates to 64 MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("foto.jpg", bytes(64 * MB))
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_by_its_magic_bytes(report) -> None:
    flow, report_id = report
    bomb = zip_bomb()
    assert bomb[:4] == b"PK\x03\x04" and len(bomb) < MB
    for name in ("foto.jpg", "laporan.zip", "foto.jpg.zip"):
        problem(upload(flow, report_id, bomb, name), 415, "unsupported-media-type")
    listed = flow.client.get(
        f"{API}/field-reports/{report_id}/attachments", headers=flow.as_("camat")
    )
    assert listed.json() == []


# -- page size ----------------------------------------------------------------------------------


def test_every_page_is_capped(
    flow_for: Callable[[str], Flow], client, auth, openapi, settings_env
) -> None:
    for slug in ("ciledug", "ciledug", "ciledug", "ciledug"):
        flow_for(slug).create()
    subscription = client.post(
        f"{API}/webhooks/subscriptions",
        json={"url": "https://8.8.8.8/hook", "event_types": ["incident.created"]},
        headers=auth("admin"),
    ).json()
    settings_env(page_size_max=3)
    paged = [
        op
        for op in operations(openapi)
        if op.method == "GET"
        and any(
            p.get("name") == "limit" for p in openapi["paths"][op.path]["get"].get("parameters", [])
        )
    ]
    assert len(paged) >= 7
    readers = {"users": "admin", "webhooks": "admin", "clients": "admin"}
    for op in paged:
        url = op.url({"subscription_id": subscription["id"]})
        area = op.path.split("/")[3]
        who = readers.get(area, "camat.ciledug")
        page = client.get(url, params={"limit": 1000}, headers=auth(who))
        assert page.status_code == 200, (op.operation_id, page.text)
        if page.headers["content-type"].startswith("text/csv"):
            # A CSV file is a page too: its header line, then at most the cap's rows.
            assert len(page.text.splitlines()) - 1 <= 3, op.operation_id
        else:
            data = page.json()
            assert data["limit"] == 3, (op.operation_id, data)
            assert len(data["items"]) <= 3
        problem(client.get(url, params={"limit": 1001}, headers=auth(who)), 422, "validation-error")
    users = client.get(f"{API}/users", params={"limit": 1000}, headers=auth("admin")).json()
    assert users["total"] > 3 and len(users["items"]) == 3


# -- rate -----------------------------------------------------------------------------------------


def test_a_token_subject_is_limited_per_minute(client, auth, settings_env) -> None:
    settings_env(rate_limit_per_minute=5)
    camat = auth("camat.ciledug")
    for _ in range(5):
        assert client.get(INCIDENTS, headers=camat).status_code == 200
    found = problem(client.get(INCIDENTS, headers=camat), 429, "rate-limited")
    retry_after = client.get(INCIDENTS, headers=camat).headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    assert found["limit_per_minute"] == 5
    # Refused before the body is read or the route runs: a write is not done either.
    refused = client.post(INCIDENTS, json=INCIDENT, headers=auth("camat.ciledug"))
    problem(refused, 429, "rate-limited")
    # Other callers are not held up by this one.
    assert client.get(INCIDENTS, headers=auth("camat.benda")).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_probes_answer_a_caller_whose_rate_is_spent(client, auth, settings_env) -> None:
    # A load balancer or an operator may probe with the token it has at hand: the probes are
    # documented without 429 and must tell whether the process is up and ready all the same.
    settings_env(rate_limit_per_minute=2)
    camat = auth("camat.ciledug")
    for _ in range(2):
        assert client.get(INCIDENTS, headers=camat).status_code == 200
    problem(client.get(INCIDENTS, headers=camat), 429, "rate-limited")
    for _ in range(3):
        assert client.get("/healthz", headers=camat).status_code == 200
        assert client.get("/readyz", headers=camat).json() == {"status": "ready"}
    # Nor do the probes spend the rate: the next minute's budget is the caller's alone.
    problem(client.get(INCIDENTS, headers=camat), 429, "rate-limited")


def test_a_new_token_of_the_same_user_shares_the_limit(client, token_for, settings_env) -> None:
    settings_env(rate_limit_per_minute=3)
    for _ in range(3):
        fresh = {"Authorization": f"Bearer {token_for('kasi.ciledug')}"}
        assert client.get(INCIDENTS, headers=fresh).status_code == 200
    fresh = {"Authorization": f"Bearer {token_for('kasi.ciledug')}"}
    problem(client.get(INCIDENTS, headers=fresh), 429, "rate-limited")


def test_with_the_limit_on_a_revoked_token_is_still_refused(
    client, auth, user_id, settings_env
) -> None:
    # The limiter verifies the token first and hands its claims on; the endpoint must still
    # look the user up, so deactivation ends the token at once.
    settings_env(rate_limit_per_minute=100)
    camat = auth("camat.ciledug")
    assert client.get(INCIDENTS, headers=camat).status_code == 200
    deactivated = client.patch(
        f"{API}/users/{user_id('camat.ciledug')}", json={"active": False}, headers=auth("admin")
    )
    assert deactivated.status_code == 200, deactivated.text
    problem(client.get(INCIDENTS, headers=camat), 401, "invalid-token")


def test_zero_turns_the_limit_off(client, auth, settings_env) -> None:
    settings_env(rate_limit_per_minute=0)
    camat = auth("camat.ciledug")
    for _ in range(30):
        assert client.get(f"{API}/units", headers=camat).status_code == 200


def test_buckets_refill_at_the_rate() -> None:
    now = [1000.0]
    buckets = TokenBuckets(lambda: now[0])
    assert [buckets.take("a", 60) for _ in range(60)] == [0.0] * 60
    assert buckets.take("a", 60) == pytest.approx(1.0)
    now[0] += 0.5
    assert buckets.take("a", 60) == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("a", 60) == 0.0
    assert buckets.take("b", 60) == 0.0
    now[0] += 3600
    assert [buckets.take("a", 60) for _ in range(60)] == [0.0] * 60
    assert buckets.take("a", 60) > 0


def test_idle_buckets_are_dropped(monkeypatch) -> None:
    now = [0.0]
    buckets = TokenBuckets(lambda: now[0])
    monkeypatch.setattr(TokenBuckets, "PRUNE_AT", 100)
    for i in range(100):
        buckets.take(f"user:{i}", 600)
    now[0] += 61
    buckets.take("user:new", 600)
    assert len(buckets._buckets) == 1


# -- requests in progress -----------------------------------------------------------------------


def _held_and_queued(app, write_lock, kasi: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A POST held inside the application (it waits for a database lock the test holds),
    GETs sent until one finds no turn free, then the probes; the lock is let go at the end."""
    import httpx

    async def scenario() -> dict[str, Any]:
        answers: dict[str, Any] = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:

            async def hold() -> None:
                answers["held"] = await ac.post(INCIDENTS, json=INCIDENT, headers=kasi)

            async with anyio.create_task_group() as tasks:
                with write_lock():
                    tasks.start_soon(hold)
                    # The POST takes the only turn at some point; until then GETs get in.
                    deadline = anyio.current_time() + 10
                    while anyio.current_time() < deadline:
                        answers["queued"] = await ac.get(f"{API}/units", headers=kasi)
                        if answers["queued"].status_code != 200:
                            break
                    answers["health"] = await ac.get("/healthz")
                    answers["ready"] = await ac.get("/readyz")
                    answers["held_while_probed"] = "held" not in answers
                # The lock is gone: the held POST finishes.
        return answers

    return anyio.run(scenario)


def test_a_request_over_the_limit_waits_its_turn_then_gets_503(
    app, auth, settings_env, write_lock
) -> None:
    settings_env(max_requests_in_progress=1, queue_timeout_seconds=0.3)
    answers = _held_and_queued(app, write_lock, auth("kasi.ciledug"))
    queued = answers["queued"]
    found = problem(queued, 503, "service-unavailable")
    assert queued.headers["retry-after"] == "5"
    assert "capacity" in found["detail"]
    # Neither probe waits for a turn, and readiness reads past the writer's lock.
    assert answers["held_while_probed"]
    assert answers["health"].status_code == 200
    assert answers["ready"].status_code == 200, answers["ready"].text
    # The held request finishes on its own terms once the lock is gone.
    assert answers["held"].status_code == 201, answers["held"].text


def test_a_burst_over_the_limit_is_served_in_turn(app, auth, settings_env) -> None:
    import httpx

    settings_env(max_requests_in_progress=2, queue_timeout_seconds=30)
    camat = auth("camat.ciledug")

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            answers: list[int] = []

            async def one() -> None:
                answers.append((await ac.get(INCIDENTS, headers=camat)).status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(12):
                    tasks.start_soon(one)
        return answers

    assert anyio.run(burst) == [200] * 12


def test_more_requests_in_progress_than_connections_is_refused() -> None:
    from pydantic import ValidationError

    from app.core.config import Settings

    with pytest.raises(ValidationError, match="TRANTIB_MAX_REQUESTS_IN_PROGRESS"):
        Settings(max_requests_in_progress=21, db_pool_size=10, db_max_overflow=10)
    assert Settings(max_requests_in_progress=20, db_pool_size=10, db_max_overflow=10)


# -- expensive calls ----------------------------------------------------------------------------


def test_reads_do_not_wait_for_a_writer(client, auth, write_lock) -> None:
    # On SQLite every transaction once began with BEGIN IMMEDIATE: a GET waited for the write
    # lock (15 s of busy timeout) and then failed with 500 "database is locked".
    camat = auth("camat.ciledug")
    assert client.post(INCIDENTS, json=INCIDENT, headers=auth("kasi.ciledug")).status_code == 201
    with write_lock():
        assert client.get(f"{API}/units", headers=camat).status_code == 200
        listed = client.get(INCIDENTS, headers=camat)
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == 1
        assert client.get("/readyz").status_code == 200
    # Writes still take the lock and go ahead once it is free.
    assert client.post(INCIDENTS, json=INCIDENT, headers=auth("kasi.ciledug")).status_code == 201


def test_verify_reads_each_stored_file_once_and_reuses_its_answer(flow, monkeypatch) -> None:
    from app.field_reports import storage

    flow.run_to(9)
    report_id = flow.field_report_ids[0]
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        assert upload(flow, report_id, JPEG, name).status_code == 201
    assert upload(flow, report_id, JPEG + b"other", "d.jpg").status_code == 201
    flow.step9()
    flow.step10()
    record = flow.step11()
    assert sum(1 for e in record["manifest"] if e["type"] == "attachment") == 4

    hashed: list[str] = []
    sha256_of_file = storage.sha256_of_file

    def counted(path: Any) -> str:
        hashed.append(path.name)
        return sha256_of_file(path)

    monkeypatch.setattr(storage, "sha256_of_file", counted)
    verify = f"{API}/archive-records/{record['id']}/verify"
    answers = [flow.client.post(verify, headers=flow.as_("kasi")) for _ in range(10)]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].json()["valid"] is True
    # Two distinct files behind four attachments, and the issued PDFs (the lembar arsip
    # among them), each read once for ten calls.
    files = {"attachment", "issued_document"}
    assert sorted(hashed) == sorted(
        {e["sha256"] for e in record["manifest"] if e["type"] in files}
        | {record["document_sha256"]}
    )
    assert all(a.json() == answers[0].json() for a in answers)
