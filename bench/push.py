"""The push phase: from a notification's commit to its push arriving at a push service.

A database of its own, a local push service (tests/fixtures/push_service.py: it checks the
VAPID JWT and decrypts every message, as a real one does), and `trantib worker` running as in
production. Each sample commits one notification for a user with a subscription and waits
for the push service to receive it; the time is dominated by TRANTIB_PUSH_INTERVAL_SECONDS,
the worker's pass interval (given, and reported beside the numbers).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import servers
from bench.client import percentile
from tests.fixtures.push_service import PushService

RECIPIENT = "camat.ciledug"
TIMEOUT_SECONDS = 30.0


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
    worker = servers.Process(
        [servers.PYTHON, "-m", "app.cli", "worker"], env, workdir / "push-worker.log"
    )
    engine = create_engine(url)
    try:
        servers.cli(env, "migrate")
        servers.cli(env, "seed-demo")
        browser = service.browser()
        with engine.begin() as conn:
            user_id, unit_id = conn.execute(
                text("SELECT id, unit_id FROM users WHERE username = :u"), {"u": RECIPIENT}
            ).one()
            now = datetime.now(UTC)
            conn.execute(
                text(
                    "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth,"
                    " created_at, updated_at) VALUES (:id, :user, :endpoint, :p256dh, :auth,"
                    " :now, :now)"
                ),
                {
                    "id": uuid.uuid4(),
                    "user": user_id,
                    "endpoint": browser.endpoint,
                    "p256dh": browser.p256dh,
                    "auth": browser.auth,
                    "now": now,
                },
            )
        worker.start()

        def one() -> float:
            with engine.begin() as conn:
                note = notify(conn, user_id, unit_id)
            committed = time.monotonic()
            deadline = committed + TIMEOUT_SECONDS
            while True:
                arrived = [p for p in service.for_browser(browser) if p.payload["id"] == note]
                if arrived:
                    return arrived[0].at - committed
                if time.monotonic() > deadline:
                    raise RuntimeError(f"notification {note} was not pushed; see the worker log")
                time.sleep(0.002)

        one()  # not counted: the worker's start (imports, first connections)
        rng = random.Random(8030)
        latencies: list[float] = []
        for _ in range(samples):
            # At a random moment of the worker's cycle, as actions come.
            time.sleep(rng.uniform(0, interval))
            latencies.append(one())
        return {
            "samples": len(latencies),
            "interval_seconds": interval,
            "refused": len(service.refused),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
            "slowest_ms": [round(x * 1000, 1) for x in sorted(latencies)[-5:]],
        }
    finally:
        worker.stop()
        service.stop()
        engine.dispose()
        drop()


def table(result: dict[str, Any]) -> list[str]:
    return [
        "",
        f"push (notification commit -> push service, worker every {result['interval_seconds']} s;"
        f" {result['samples']} samples, {result['refused']} refused)",
        f"  p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  max {result['max_ms']} ms",
    ]
