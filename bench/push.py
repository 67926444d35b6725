"""The push phase: from an action's commit to its Web Push arriving at the phones.

A database of its own with the demo users, the API (uvicorn, 2 workers), a local push service
(tests/fixtures/push_service.py: it checks the VAPID JWT and decrypts every message, as a real
one does), and `trantib worker` running as in production. Every person of one kecamatan but
its Kasi subscribes a phone; each sample, the Kasi registers an incident and every push of its
task.assigned is timed from the moment the answer (the commit) arrived to the moment the push
service received it: the worker's fan-out, push delivery, encryption and the send. The worker
is woken by the NOTIFY of the commit (PostgreSQL); TRANTIB_PUSH_INTERVAL_SECONDS, its poll,
is only the safety net (given, and reported beside the numbers). Samples start at random
moments of the worker's cycle.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import servers
from bench.client import Connection, percentile
from bench.lifecycle import API, incident_body, login_all, unit_usernames
from tests.fixtures.push_service import Browser, Pushed, PushService

HOST = "127.0.0.1"
SLUG = "ciledug"
ACTOR = f"kasi.{SLUG}"
TIMEOUT_SECONDS = 30.0
# An action's pushes are all in once none came for this long after the first.
SETTLE_SECONDS = 0.5


def notify(conn: Any, user_id: uuid.UUID, unit_id: int) -> int:
    """One notification row, with the outbox event it comes from (marked published and
    told, so neither the webhooks nor the fan-out take it up)."""
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    conn.execute(
        text(
            "INSERT INTO outbox_events (id, event_type, unit_id, payload, created_at,"
            " published_at, notified_at) VALUES (:id, 'sla.breached', :unit, '{}', :now,"
            " :now, :now)"
        ),
        {"id": event_id, "unit": unit_id, "now": now},
    )
    return int(
        conn.execute(
            text(
                "INSERT INTO notifications (user_id, source_event_id, kind, unit_id, data,"
                " created_at) VALUES (:user, :event, 'sla.breached', :unit, '{}', :now)"
                " RETURNING id"
            ),
            {"user": user_id, "event": event_id, "unit": unit_id, "now": now},
        ).scalar_one()
    )


def push_phase(base_url: str, workdir: Path, samples: int, interval: float) -> dict[str, Any]:
    url, drop = servers.create_database(base_url, "trantib_push")
    service = PushService().start()
    env = servers.service_env(
        url,
        attachments_dir=str(workdir / "attachments"),
        push_enabled="true",
        push_allow_http="true",
        push_allow_private="true",
        push_interval_seconds=str(interval),
    )
    servers.cli(env, "migrate")
    servers.cli(env, "seed-demo")
    api = servers.Api(env, workdir / "push-api.log")
    worker = servers.Process(
        [servers.PYTHON, "-m", "app.cli", "worker"], env, workdir / "push-worker.log"
    )
    try:
        api.start()
        worker.start()
        return asyncio.run(_sample(api.port, service, samples, interval))
    finally:
        worker.stop()
        api.stop()
        service.stop()
        drop()


async def _sample(port: int, service: PushService, samples: int, interval: float) -> dict[str, Any]:
    """Every person of the kecamatan but the Kasi subscribes a phone; each sample, the Kasi
    registers an incident and each push of it is timed from the answer to its arrival."""
    people = unit_usernames([SLUG])
    users = await login_all(HOST, port, people, servers.DEMO_PASSWORD)
    conn = Connection(HOST, port)
    phones: dict[str, Browser] = {}
    for name in people:
        if name == ACTOR:
            continue
        phones[name] = service.browser()
        answer = await conn.request(
            "PUT", f"{API}/push-subscriptions", headers=users.auth(name),
            json_body=phones[name].subscription(),
        )  # fmt: skip
        assert answer.status in (200, 201), answer.body
    tokens = {phone.token for phone in phones.values()}
    rng = random.Random(8030)
    latencies: list[float] = []
    per_action: list[int] = []
    for sample in range(samples + 1):
        answer = await conn.request(
            "POST", f"{API}/incidents", headers=users.auth(ACTOR),
            json_body=incident_body(SLUG, f"Unjuk rasa {sample}"),
        )  # fmt: skip
        answered = time.monotonic()
        assert answer.status == 201, answer.body
        incident = answer.json()["id"]
        arrived = await _pushes_of(service, tokens, incident, answered + TIMEOUT_SECONDS)
        if sample:  # the first is not counted: the worker's start (imports, connections)
            latencies.extend(p.at - answered for p in arrived)
            per_action.append(len(arrived))
        # At a random moment of the worker's cycle, as actions come.
        await asyncio.sleep(rng.uniform(0, interval))
    conn.close()
    return {
        "samples": len(per_action),
        "pushes": len(latencies),
        "pushes_per_action": round(sum(per_action) / len(per_action), 2),
        "interval_seconds": interval,
        "refused": len(service.refused),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "slowest_ms": [round(x * 1000, 1) for x in sorted(latencies)[-5:]],
    }


async def _pushes_of(
    service: PushService, tokens: set[str], incident: str, deadline: float
) -> list[Pushed]:
    """The pushes of an incident's task.assigned, once they stop coming (SETTLE_SECONDS with
    no new one after the first)."""
    seen: list[Pushed] = []
    quiet_since = time.monotonic()
    while True:
        with service._lock:
            found = [
                p for p in service.received
                if p.token in tokens and p.payload.get("incident_id") == incident
            ]  # fmt: skip
        if len(found) > len(seen):
            seen, quiet_since = found, time.monotonic()
        elif seen and time.monotonic() - quiet_since > SETTLE_SECONDS:
            return seen
        if time.monotonic() > deadline:
            raise RuntimeError(f"incident {incident} was not pushed; see the worker log")
        await asyncio.sleep(0.002)


def table(result: dict[str, Any]) -> list[str]:
    return [
        "",
        f"push (an incident registered -> its task.assigned at the phones, through the worker,"
        f" woken by NOTIFY, polling every {result['interval_seconds']} s; {result['samples']}"
        f" actions, {result['pushes']} pushes, {result['refused']} refused)",
        f"  p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  max {result['max_ms']} ms",
    ]
