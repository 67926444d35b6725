"""The stream phase: the live stream (GET /api/v1/stream) under open streams.

A database of its own with the demo users, every one of them logged in. Streams are opened
round-robin over the 78 users of the 13 kecamatan (TRANTIB_STREAM_PER_USER_CAP raised to its
maximum, 100, for the benchmark), each on a connection of its own read by the small client of
bench/client.py.

- latency, on uvicorn with 2 workers as the other phases, with 50 and with 500 open streams:
  a kasi creates an incident (whose task.assigned goes to the kecamatan's other people, each
  with a stream open) and every event of that incident is timed at every stream it reaches,
  from just before the request is sent (send -> event) and from the moment its answer arrived
  (answer -> event, negative when the event came first);
- memory and CPU, on uvicorn with one worker (so that one process holds every stream): the
  worker's RSS with no stream and with 1,000 idle streams, the difference per stream, then the
  worker's CPU time over notifications written in bulk (one transaction per round, one row per
  user) divided by the events the streams received.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import servers
from bench.client import Connection, ConnectionLost, Event, EventStream, percentile
from bench.lifecycle import (
    API,
    SLUGS,
    UNIT_PREFIXES,
    Users,
    incident_body,
    login_all,
    unit_usernames,
)
from bench.push import notify

HOST = "127.0.0.1"
PER_USER_CAP = 100
HELD = 1000
CPU_ROUNDS = 10
TIMEOUT_SECONDS = 30.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pids: list[int]) -> int:
    return sum(servers.memory_kib(pid).get("VmRSS", 0) for pid in pids)


class Streams:
    """Open streams, each read by a task that keeps what arrived."""

    def __init__(self, port: int, users: Users) -> None:
        self.port = port
        self.users = users
        # Kecamatan by kecamatan, so that a few streams cover every person of the first ones.
        self.names = [u for u in unit_usernames(SLUGS) if u in users.tokens]
        self.held: list[EventStream] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.owner: list[str] = []
        self.received: list[list[Event]] = []

    async def open(self, count: int) -> None:
        """Open streams until `count` are held, each waiting for its `ready` event."""
        batch = []
        for k in range(len(self.held), count):
            who = self.names[k % len(self.names)]
            stream = EventStream(HOST, self.port, f"{API}/stream", self.users.auth(who))
            self.held.append(stream)
            self.owner.append(who)
            self.received.append([])
            batch.append(self._start(len(self.held) - 1))
            if len(batch) == 50:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)

    async def _start(self, k: int) -> None:
        stream = self.held[k]
        status = await stream.open()
        if status != 200:
            raise RuntimeError(f"stream {k}: {status} {stream.body[:300]!r}")
        ready = await stream.next()
        assert ready.event == "ready", ready
        self.tasks.append(asyncio.create_task(self._read(k)))

    async def _read(self, k: int) -> None:
        stream, received = self.held[k], self.received[k]
        while True:
            try:
                received.append(await stream.next())
            except ConnectionLost:
                return

    def delivered(self) -> int:
        return sum(len(r) for r in self.received)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for stream in self.held:
            stream.close()
        self.held, self.tasks, self.owner, self.received = [], [], [], []


def _ms(values: list[float]) -> dict[str, Any]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values, default=0.0) * 1000, 1),
    }


async def latency(port: int, users: Users, open_streams: int, samples: int) -> dict[str, Any]:
    """Incidents created one at a time while `open_streams` streams are open: each event of
    each incident at each stream, from the send and from the answer."""
    streams = Streams(port, users)
    client_cpu = time.process_time()
    await streams.open(open_streams)
    # The kecamatan whose six people all hold a stream.
    covered = [s for s in SLUGS if all(f"{p}.{s}" in streams.owner for p in UNIT_PREFIXES)]
    conn = Connection(HOST, port)
    rng = random.Random(8031)
    sent: dict[str, tuple[float, float]] = {}
    for i in range(samples):
        await asyncio.sleep(rng.uniform(0.02, 0.1))
        slug = covered[i % len(covered)]
        before = time.perf_counter()
        answer = await conn.request(
            "POST",
            f"{API}/incidents",
            headers=users.auth(f"kasi.{slug}"),
            json_body=incident_body(slug, f"Stream {i}"),
        )
        after = time.perf_counter()
        if answer.status != 201:
            raise RuntimeError(f"create: {answer.status} {answer.body[:300]!r}")
        sent[answer.json()["id"]] = (before, after)
    conn.close()

    def arrived() -> list[tuple[str, float]]:
        return [
            (e.json().get("incident_id"), e.at)
            for events in streams.received
            for e in events
            if e.id is not None
        ]

    deadline = time.monotonic() + TIMEOUT_SECONDS
    told = {incident for incident, _ in arrived()}
    while set(sent) - told and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        told = {incident for incident, _ in arrived()}
    await asyncio.sleep(0.5)  # the slowest recipients of the last incident
    from_send, from_answer = [], []
    per_incident: dict[str, int] = defaultdict(int)
    for incident, at in arrived():
        if incident in sent:
            from_send.append(at - sent[incident][0])
            from_answer.append(at - sent[incident][1])
            per_incident[incident] += 1
    client_cpu = time.process_time() - client_cpu
    await streams.close()
    if set(sent) - set(per_incident):
        raise RuntimeError(f"{len(set(sent) - set(per_incident))} incidents told to no stream")
    return {
        "open_streams": open_streams,
        "actions": samples,
        "events": len(from_send),
        "events_per_action": round(len(from_send) / samples, 1),
        "send_to_event": _ms(from_send),
        "answer_to_event": _ms(from_answer),
        "client_cpu_s": round(client_cpu, 2),
    }


def _write_round(engine: Any, users: Users, unit_id: int) -> None:
    """One notification for every user, in one transaction, and the NOTIFY that wakes the
    streams (as a fan-out pass sends)."""
    with engine.begin() as conn:
        last = 0
        for user_id in users.ids.values():
            last = notify(conn, uuid.UUID(user_id), unit_id)
        conn.execute(text("SELECT pg_notify('trantib_notifications', :id)"), {"id": str(last)})


async def held(
    env: dict[str, str], url: str, workdir: Path, users: Users, count: int
) -> dict[str, Any]:
    """One worker: its RSS with no stream and with `count` idle ones, then its CPU per event
    delivered to them (the access tokens of the first server serve here too)."""
    api = servers.Api(env, workdir / "stream-one-worker-api.log", workers=1)
    api.start()
    engine = create_engine(url)
    try:
        pid = api.worker_pids()[0]
        streams = Streams(api.port, users)
        # The first stream starts the process's reader and its LISTEN connection.
        await streams.open(10)
        await streams.close()
        await asyncio.sleep(1.0)
        idle_kib = rss_kib([pid])
        started = time.monotonic()
        await streams.open(count)
        open_seconds = time.monotonic() - started
        await asyncio.sleep(2.0)
        held_kib = rss_kib([pid])

        with engine.connect() as conn:
            unit_id = int(conn.execute(text("SELECT min(id) FROM units")).scalar_one())
        expected = count * CPU_ROUNDS
        cpu_before, client_before = cpu_seconds(pid), time.process_time()
        for _ in range(CPU_ROUNDS):
            await asyncio.to_thread(_write_round, engine, users, unit_id)
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while streams.delivered() < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cpu = cpu_seconds(pid) - cpu_before
        client_cpu = time.process_time() - client_before
        delivered = streams.delivered()
        await streams.close()
    finally:
        engine.dispose()
        api.stop()
    return {
        "streams": count,
        "open_seconds": round(open_seconds, 1),
        "rss_idle_mb": round(idle_kib / 1024, 1),
        "rss_held_mb": round(held_kib / 1024, 1),
        "kib_per_stream": round((held_kib - idle_kib) / count, 1),
        "events_expected": expected,
        "events_delivered": delivered,
        "cpu_ms_per_event": round(cpu * 1000 / max(delivered, 1), 3),
        "client_cpu_ms_per_event": round(client_cpu * 1000 / max(delivered, 1), 3),
    }


def stream_phase(base_url: str, workdir: Path, levels: list[int], samples: int) -> dict[str, Any]:
    url, drop = servers.create_database(base_url, "trantib_stream")
    env = servers.service_env(
        url, attachments_dir=str(workdir / "attachments"), stream_per_user_cap=str(PER_USER_CAP)
    )
    try:
        servers.cli(env, "migrate")
        servers.cli(env, "seed-demo")
        api = servers.Api(env, workdir / "stream-api.log")
        api.start()
        try:
            users = asyncio.run(
                login_all(HOST, api.port, unit_usernames(SLUGS), servers.DEMO_PASSWORD)
            )
            rows = [asyncio.run(latency(api.port, users, n, samples)) for n in levels]
        finally:
            api.stop()
        return {
            "per_user_cap": PER_USER_CAP,
            "users": len(users.tokens),
            "latency": rows,
            "one_worker": asyncio.run(held(env, url, workdir, users, HELD)),
        }
    finally:
        drop()


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"stream (live stream; {result['users']} users, up to {result['per_user_cap']} streams"
        " each; an incident created -> its events at every recipient's stream)",
        f"  {'streams':>7} {'events':>6}  {'send->event p50/p99':>20}"
        f"  {'answer->event p50/p99':>22}",
    ]
    for row in result["latency"]:
        s, a = row["send_to_event"], row["answer_to_event"]
        lines.append(
            f"  {row['open_streams']:>7} {row['events']:>6}  "
            f"{s['p50_ms']:>9}/{s['p99_ms']:<10}  {a['p50_ms']:>10}/{a['p99_ms']:<11} ms"
        )
    one = result["one_worker"]
    lines.append(
        f"  one worker: RSS {one['rss_idle_mb']} MB idle, {one['rss_held_mb']} MB with"
        f" {one['streams']} streams ({one['kib_per_stream']} KiB a stream); CPU"
        f" {one['cpu_ms_per_event']} ms per event over {one['events_delivered']} events"
        f" (client {one['client_cpu_ms_per_event']} ms)"
    )
    return lines
