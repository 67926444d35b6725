"""The benchmark: `python -m bench` (make bench). Prints a table, writes bench/results/latest.json.

Phases, each against uvicorn with 2 workers on a PostgreSQL database of its own:

- overhead: every POST of a lifecycle, one at a time on one keep-alive connection, each
  followed by `POST /bench/insert` (one INSERT and commit, bench/app.py) on the same
  connection, so the same worker process serves both; p50/p99 and p50 / bare p50, the SQL
  statements and the worker's CPU time of each action. Done once without and once with
  Idempotency-Key.
- cpu: the server CPU time of one request (the worker's process time read before and after
  a run of sequential requests on one connection, less the cost of the reading itself) for
  GET /users/me, GET /incidents/{id} and the bare endpoint.
- throughput: full 11-step lifecycles per second with 8, 32 and 128 concurrent clients, each
  on its own connection; p50/p99 per endpoint; POSTs per second at 32 clients against the
  bare endpoint's requests per second at 32 clients.
- scale: the read endpoints with 10 thousand and with 1 million step runs loaded in bulk
  (bench/scale.py); the recent weeks they read are the same rows in both.
- documents: each template rendered through the render process (bench/documents.py);
  p50/p99 per document and the render process's peak resident set. The step-5 and step-10
  actions above include their render.
- push: from an action's answer to its Web Push arriving at the phones at a local push
  service, through `trantib worker` woken by the commit's NOTIFY (bench/push.py); p50/p99.
- stream: the live stream with 50 and 500 open streams, from an action to its events at the
  recipients' streams; a worker's memory per idle stream and with 1,000 streams, its CPU per
  event delivered (bench/stream.py).
- memory: peak resident set (VmHWM) of each API worker.

Not a test: run it on a quiet machine and commit the results it writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import documents, push, scale, servers, stream
from bench.app import PROBE_TABLE
from bench.client import Connection, Response, percentile
from bench.lifecycle import (
    SLUGS,
    STEP_LABELS,
    Lifecycle,
    Recorder,
    incident_body,
    login_all,
    unit_usernames,
)

RESULTS = servers.ROOT / "bench" / "results"
HOST = "127.0.0.1"
MIN_SAMPLES = 5
SETTLE_SECONDS = 15.0
READ_BUDGET_SECONDS = 15.0
TARGETS = {
    "overhead_ratio": 1.5,
    "throughput_ratio": 0.75,
    "scale_ratio": 3.0,
    "rss_mb": 150,
    "cpu_get_ms": 1.0,
    "cpu_post_ms": 3.0,
}
CPU_REQUESTS = 1000


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def stats(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_ms": ms(percentile(samples, 50)),
        "p99_ms": ms(percentile(samples, 99)),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    pg = subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-Atc", "SHOW server_version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": pg,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


class Stack:
    """A database and the API serving it, for one phase."""

    def __init__(self, base_url: str, workdir: Path, name: str) -> None:
        self.url, self.drop = servers.create_database(base_url, "trantib_bench")
        self.env = servers.service_env(
            self.url, attachments_dir=str(workdir / "attachments"), seed_demo="true"
        )
        servers.cli(self.env, "migrate")
        servers.cli(self.env, "seed-demo")
        engine = create_engine(self.url)
        with engine.begin() as conn:
            conn.execute(text(PROBE_TABLE))
        engine.dispose()
        self.api = servers.Api(self.env, workdir / f"{name}-api.log", app="bench.app:app")
        self.api.start()
        self.memory: dict[str, list[int]] = {"startup": list(self.peaks().values())}

    def peaks(self) -> dict[int, int]:
        return {pid: servers.memory_kib(pid).get("VmHWM", 0) for pid in self.api.worker_pids()}

    def logged_in(self) -> None:
        """Note the peak so far (start-up and logins), then measure the workload alone."""
        self.memory["login"] = list(self.peaks().values())
        self.memory["reset"] = [int(servers.reset_peak(pid)) for pid in self.api.worker_pids()]

    def close(self) -> None:
        self.memory["workload"] = list(self.peaks().values())
        self.memory["rss_at_end"] = [
            servers.memory_kib(pid).get("VmRSS", 0) for pid in self.api.worker_pids()
        ]
        self.api.stop()
        self.drop()


# --- overhead ------------------------------------------------------------------------------


class CountingConnection(Connection):
    """Reads the server's statement counter and CPU time around every POST of a lifecycle."""

    last_statements: int = 0
    last_cpu: float = 0.0
    # The CPU time of one reading of the counters, taken off each figure.
    reading_cpu: float = 0.0

    async def count(self) -> tuple[int, float]:
        answer = await super().request("GET", "/bench/statements")
        found = answer.json()
        return int(found["count"]), float(found["cpu_s"])

    async def calibrate(self, samples: int = 200) -> None:
        """The CPU of a reading: the median gap between readings sent back to back."""
        gaps = []
        last = (await self.count())[1]
        for _ in range(samples):
            now = (await self.count())[1]
            gaps.append(now - last)
            last = now
        self.reading_cpu = percentile(gaps, 50)

    async def request(self, method: str, path: str, **kwargs: Any) -> Response:
        if method != "POST" or path.startswith("/bench/"):
            return await super().request(method, path, **kwargs)
        before, cpu_before = await self.count()
        answer = await super().request(method, path, **kwargs)
        after, cpu_after = await self.count()
        self.last_statements = after - before
        self.last_cpu = cpu_after - cpu_before - self.reading_cpu
        return answer


class CountingRecorder(Recorder):
    def __init__(self, conn: CountingConnection) -> None:
        super().__init__()
        self.conn = conn
        self.statements: dict[str, list[int]] = defaultdict(list)
        self.cpu: dict[str, list[float]] = defaultdict(list)

    def record(self, label: str, response: Response) -> None:
        super().record(label, response)
        self.statements[label].append(self.conn.last_statements)
        self.cpu[label].append(self.conn.last_cpu)


async def overhead(port: int, users: Any, lifecycles: int) -> dict[str, Any]:
    conn = CountingConnection(HOST, port)
    bare: list[float] = []

    async def probe() -> None:
        answer = await conn.request("POST", "/bench/insert")
        assert answer.status == 201, answer.body
        bare.append(answer.elapsed)

    async def sequence(count: int, keyed: bool) -> tuple[CountingRecorder, list[float]]:
        bare.clear()
        recorder = CountingRecorder(conn)
        for i in range(count):
            lifecycle = Lifecycle(
                conn, users, SLUGS[i % len(SLUGS)], recorder, idempotency_keys=keyed, on_ack=probe
            )
            await lifecycle.run()
        return recorder, list(bare)

    await sequence(3, False)  # warm-up: imports, caches, prepared pools
    await conn.calibrate()
    plain, plain_bare = await sequence(lifecycles, False)
    keyed, keyed_bare = await sequence(max(10, lifecycles // 2), True)
    conn.close()
    bare_p50 = percentile(plain_bare, 50)
    keyed_bare_p50 = percentile(keyed_bare, 50)
    rows = []
    for label in STEP_LABELS:
        row: dict[str, Any] = {"action": label, **stats(plain.latencies[label])}
        row["statements"] = int(percentile([float(n) for n in plain.statements[label]], 50))
        row["ratio"] = round(percentile(plain.latencies[label], 50) / bare_p50, 2)
        row["cpu_ms"] = ms(percentile(plain.cpu[label], 50))
        row["with_key_cpu_ms"] = ms(percentile(keyed.cpu[label], 50))
        row["with_key_p50_ms"] = ms(percentile(keyed.latencies[label], 50))
        row["with_key_ratio"] = round(percentile(keyed.latencies[label], 50) / keyed_bare_p50, 2)
        rows.append(row)
    steps = [s for label in STEP_LABELS for s in plain.latencies[label]]
    return {
        "bare": stats(plain_bare),
        "bare_during_keyed": stats(keyed_bare),
        "all_actions": stats(steps),
        "all_actions_ratio": round(percentile(steps, 50) / bare_p50, 2),
        "worst_ratio": max(r["ratio"] for r in rows),
        "reading_cpu_ms": ms(conn.reading_cpu),
        "actions": rows,
    }


# --- cpu per request -----------------------------------------------------------------------


async def cpu_per_request(port: int, users: Any, requests: int) -> dict[str, Any]:
    """Server CPU ms of one request, over `requests` sequential ones on one connection."""
    conn = CountingConnection(HOST, port)
    await conn.calibrate()
    who = users.auth(f"kasi.{SLUGS[0]}")
    created = await conn.request(
        "POST", "/api/v1/incidents", headers=who, json_body=incident_body(SLUGS[0], "Unjuk rasa")
    )
    assert created.status == 201, created.body
    incident = created.json()["id"]
    cases: list[tuple[str, str, str]] = [
        ("GET /users/me", "GET", "/api/v1/users/me"),
        ("GET /incidents/{id}", "GET", f"/api/v1/incidents/{incident}"),
        ("POST /bench/insert (bare)", "POST", "/bench/insert"),
    ]
    out: dict[str, Any] = {"requests": requests, "reading_cpu_ms": ms(conn.reading_cpu)}
    for name, method, path in cases:
        for _ in range(20):  # warm-up
            await conn.request(method, path, headers=who)
        _, before = await conn.count()
        for _ in range(requests):
            answer = await conn.request(method, path, headers=who)
            assert answer.status in (200, 201), answer.body
        _, after = await conn.count()
        out[name] = round((after - before - conn.reading_cpu) * 1000 / requests, 3)
    conn.close()
    return out


# --- throughput ----------------------------------------------------------------------------


async def timed_clients(
    port: int,
    clients: int,
    warmup: float,
    duration: float,
    one: Callable[[Connection, int], Awaitable[None]],
    on_window_start: Callable[[], None],
) -> None:
    """Run `one` in a loop on `clients` connections; stop them when the window ends."""
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + warmup + duration

    async def client(k: int) -> None:
        conn = Connection(HOST, port, timeout=120)
        try:
            while loop.time() < stop_at:
                await one(conn, k)
        finally:
            conn.close()

    tasks = [asyncio.create_task(client(k)) for k in range(clients)]
    await asyncio.sleep(warmup)
    on_window_start()
    await asyncio.sleep(max(0.0, stop_at - loop.time()))
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, asyncio.CancelledError)
    ]
    if errors:
        raise errors[0]


async def one_level(
    port: int, users: Any, clients: int, duration: float, warmup: float
) -> dict[str, Any]:
    """Lifecycles back to back on `clients` connections; counts inside the window only."""
    loop = asyncio.get_running_loop()
    recorder = Recorder()
    window: dict[str, float] = {}
    counts = {"lifecycles": 0, "posts": 0}

    async def on_ack() -> None:
        if window:
            counts["posts"] += 1

    async def one(conn: Connection, k: int) -> None:
        lifecycle = Lifecycle(conn, users, SLUGS[k % len(SLUGS)], recorder, on_ack=on_ack)
        await lifecycle.run()
        if window and loop.time() <= window["end"]:
            counts["lifecycles"] += 1

    def start_window() -> None:
        recorder.latencies.clear()
        window.update(start=loop.time(), end=loop.time() + duration)

    await timed_clients(port, clients, warmup, duration, one, start_window)
    every = [s for label in STEP_LABELS for s in recorder.latencies[label]]
    return {
        "clients": clients,
        "seconds": duration,
        "lifecycles_per_s": round(counts["lifecycles"] / duration, 2),
        "posts_per_s": round(counts["posts"] / duration, 1),
        "all_posts": stats(every),
        "endpoints": {label: stats(recorder.latencies[label]) for label in STEP_LABELS},
    }


async def bare_level(port: int, clients: int, duration: float, warmup: float) -> dict[str, Any]:
    """The yardstick: the bare INSERT endpoint, back to back on `clients` connections."""
    window: dict[str, bool] = {}
    latencies: list[float] = []

    async def one(conn: Connection, _k: int) -> None:
        answer = await conn.request("POST", "/bench/insert")
        assert answer.status == 201, answer.body
        if window:
            latencies.append(answer.elapsed)

    def start_window() -> None:
        window["open"] = True

    await timed_clients(port, clients, warmup, duration, one, start_window)
    return {"requests_per_s": round(len(latencies) / duration, 1), **stats(latencies)}


async def throughput(
    port: int, users: Any, levels: list[int], duration: float, warmup: float
) -> dict[str, Any]:
    # The yardstick first, on a server with nothing left over from a heavier level.
    out: dict[str, Any] = {"bare_32": await bare_level(port, 32, duration, warmup)}
    out["levels"] = []
    for clients in levels:
        await settle(port)
        out["levels"].append(await one_level(port, users, clients, duration, warmup))
    at32 = next((lv for lv in out["levels"] if lv["clients"] == 32), None)
    if at32 and out["bare_32"]["requests_per_s"]:
        out["ratio_32"] = round(at32["posts_per_s"] / out["bare_32"]["requests_per_s"], 2)
    return out


async def settle(port: int, quiet_ms: float = 50.0, limit: float = 120.0) -> None:
    """Wait until the server answers a bare request quickly again: requests of the clients
    stopped at the end of a level may still be running."""
    conn = Connection(HOST, port, timeout=limit)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        answer = await conn.request("GET", "/healthz")
        if answer.elapsed * 1000 < quiet_ms:
            break
        await asyncio.sleep(0.5)
    conn.close()


# --- scale ---------------------------------------------------------------------------------


def scale_queries(now: datetime) -> list[tuple[str, str, str]]:
    def iso(delta: timedelta) -> str:
        return (now - delta).strftime("%Y-%m-%dT%H:%M:%SZ")

    week, fortnight = iso(timedelta(days=7)), iso(timedelta(days=14))
    return [
        ("tasks (kasi)", "kasi.ciledug", "/api/v1/tasks"),
        ("tasks (danru)", "danru.ciledug", "/api/v1/tasks"),
        ("incidents ?status=active (camat)", "camat.ciledug", "/api/v1/incidents?status=active"),
        ("incidents ?from=7d (pimpinan)", "pimpinan", f"/api/v1/incidents?from={week}"),
        ("sla/summary ?from=14d (camat)", "camat.ciledug", f"/api/v1/sla/summary?from={fortnight}"),
        ("sla/summary ?from=14d (pimpinan)", "pimpinan", f"/api/v1/sla/summary?from={fortnight}"),
        ("sla/summary all time (pimpinan)", "pimpinan", "/api/v1/sla/summary"),
    ]


async def measure_reads(
    port: int, users: Any, queries: list[tuple[str, str, str]], samples: int
) -> dict[str, Any]:
    conn = Connection(HOST, port, timeout=300)
    out = {}
    for name, who, path in queries:
        times: list[float] = []
        spent = 0.0
        # A slow read gets fewer samples (at least MIN_SAMPLES) so the phase stays bounded.
        for i in range(samples + 2):
            answer = await conn.request("GET", path, headers=users.auth(who))
            if answer.status != 200:
                raise RuntimeError(f"{name}: {answer.status} {answer.body[:300]!r}")
            if i >= 2:
                times.append(answer.elapsed)
                spent += answer.elapsed
            if len(times) >= MIN_SAMPLES and spent > READ_BUDGET_SECONDS:
                break
        out[name] = stats(times)
    conn.close()
    return out


async def scale_phase(stack: Stack, sizes: list[int], samples: int) -> dict[str, Any]:
    users = await login_all(
        HOST,
        stack.api.port,
        ["kasi.ciledug", "danru.ciledug", "camat.ciledug", "pimpinan"],
        servers.DEMO_PASSWORD,
    )
    stack.logged_in()
    now = datetime.now(UTC)
    history = scale.History(now=now)
    results: dict[str, Any] = {"sizes": []}
    for size in sizes:
        started = time.monotonic()
        while history.runs < size * 0.995:
            scale.load(stack.url, history, size)
        load_seconds = round(time.monotonic() - started, 1)
        # Autovacuum and the background writer follow a big load; let them pass.
        await asyncio.sleep(SETTLE_SECONDS)
        reads = await measure_reads(stack.api.port, users, scale_queries(now), samples)
        results["sizes"].append(
            {
                "step_runs": history.runs,
                "incidents": history.incidents,
                "load_seconds": load_seconds,
                "reads": reads,
            }
        )
    first, last = results["sizes"][0], results["sizes"][-1]
    results["ratios"] = {
        name: round(last["reads"][name]["p50_ms"] / max(first["reads"][name]["p50_ms"], 0.01), 2)
        for name in first["reads"]
    }
    return results


# --- the report ----------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    lines = []
    m = results["machine"]
    lines.append(
        f"{m['date']}  {m['nproc']} CPU {m['cpu']}  Python {m['python']}  "
        f"PostgreSQL {m['postgresql']}  load {m['load_average_at_start']}"
    )
    if "overhead" in results:
        o = results["overhead"]
        lines.append("")
        lines.append(
            f"overhead (sequential; bare INSERT p50 {o['bare']['p50_ms']} ms, "
            f"p99 {o['bare']['p99_ms']} ms; target ratio <= {TARGETS['overhead_ratio']})"
        )
        head = (
            f"{'n':>4} {'SQL':>4} {'p50':>8} {'p99':>8} {'ratio':>6} {'key p50':>8} {'ratio':>6}"
            f" {'CPU':>6} {'key CPU':>7}"
        )
        lines.append(f"  {'action':34} {head}")
        for r in o["actions"]:
            lines.append(
                f"  {r['action']:34} {r['n']:>4} {r['statements']:>4} {r['p50_ms']:>8} "
                f"{r['p99_ms']:>8} {r['ratio']:>6} {r['with_key_p50_ms']:>8} "
                f"{r['with_key_ratio']:>6} {r.get('cpu_ms', ''):>6} "
                f"{r.get('with_key_cpu_ms', ''):>7}"
            )
        a = o["all_actions"]
        lines.append(
            f"  {'all POSTs':34} {a['n']:>4} {'':>4} {a['p50_ms']:>8} {a['p99_ms']:>8} "
            f"{o['all_actions_ratio']:>6}"
        )
    if "cpu" in results:
        c = results["cpu"]
        lines.append("")
        lines.append(
            f"server CPU per request (one worker, {c['requests']} sequential requests; "
            f"target GET <= {TARGETS['cpu_get_ms']} ms, step POST <= {TARGETS['cpu_post_ms']} ms "
            "in the overhead table's CPU column)"
        )
        for name, value in c.items():
            if name not in ("requests", "reading_cpu_ms"):
                lines.append(f"  {name:34} {value:>7} ms")
        # The counters' own reading: an async endpoint with no token and no database, through
        # the same server, middleware and routing; no request of the stack costs less.
        floor = "GET /bench/statements (the floor)"
        lines.append(f"  {floor:34} {c['reading_cpu_ms']:>7} ms")
    if "throughput" in results:
        t = results["throughput"]
        lines.append("")
        lines.append("throughput (2 uvicorn workers)")
        lines.append(f"  {'clients':>7} {'lifecycles/s':>12} {'POSTs/s':>8} {'p50':>8} {'p99':>8}")
        for lv in t["levels"]:
            lines.append(
                f"  {lv['clients']:>7} {lv['lifecycles_per_s']:>12} {lv['posts_per_s']:>8} "
                f"{lv['all_posts']['p50_ms']:>8} {lv['all_posts']['p99_ms']:>8}"
            )
        b = t["bare_32"]
        lines.append(
            f"  bare INSERT, 32 clients: {b['requests_per_s']} req/s (p50 {b['p50_ms']} ms); "
            f"POSTs/s at 32 / bare = {t.get('ratio_32')} (target >= {TARGETS['throughput_ratio']})"
        )
        levels = ", ".join(str(lv["clients"]) for lv in t["levels"])
        lines.append(f"  per endpoint p50 / p99 ms at {levels} clients")
        for label in STEP_LABELS:
            cells = "  ".join(
                f"{lv['endpoints'][label]['p50_ms']:>7}/{lv['endpoints'][label]['p99_ms']:<7}"
                for lv in t["levels"]
            )
            lines.append(f"    {label:34} {cells}")
    if "scale" in results:
        s = results["scale"]
        lines.append("")
        sizes = s["sizes"]
        head = "  ".join(f"{z['step_runs']:>10,} runs p50/p99" for z in sizes)
        lines.append(f"scale (target 1M/10k p50 ratio <= {TARGETS['scale_ratio']})")
        lines.append(f"  {'read':36} {head}  ratio")
        for name in sizes[0]["reads"]:
            cells = "  ".join(
                f"{z['reads'][name]['p50_ms']:>10}/{z['reads'][name]['p99_ms']:<10}" for z in sizes
            )
            lines.append(f"  {name:36} {cells}    {s['ratios'][name]}")
        lines.append(
            "  load: "
            + ", ".join(f"{z['step_runs']:,} runs in {z['load_seconds']} s" for z in sizes)
        )
    if "documents" in results:
        lines.append("")
        lines.extend(documents.table(results["documents"]))
    if "push" in results:
        lines.extend(push.table(results["push"]))
    if "stream" in results:
        lines.extend(stream.table(results["stream"]))
    if "memory" in results:
        mem = results["memory"]
        lines.append("")
        lines.append(
            f"memory (peak RSS of one API worker, VmHWM; target <= {TARGETS['rss_mb']} MB): "
            f"{mem['peak_mb']} MB through the run; start-up {mem['startup_mb']} MB, "
            f"with logins {mem['login_mb']} MB, step actions and reads after the logins "
            f"{mem['workload_mb']} MB; RSS at the end {mem['rss_at_end_mb']} MB"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=servers.DEFAULT_PG_URL)
    parser.add_argument("--phases", default="overhead,cpu,throughput,scale,documents,push,stream")
    parser.add_argument("--renders", type=int, default=20, help="renders per document")
    parser.add_argument("--sequential", type=int, default=40, help="lifecycles for overhead")
    parser.add_argument("--levels", default="8,32,128")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--sizes", default="10000,1000000", help="step runs for scale")
    parser.add_argument("--samples", type=int, default=30, help="requests per read")
    parser.add_argument("--pushes", type=int, default=40, help="samples for push")
    parser.add_argument(
        "--push-interval", type=float, default=1.0, help="the worker's push pass interval"
    )
    parser.add_argument("--streams", default="50,500", help="open streams for stream latency")
    parser.add_argument(
        "--stream-actions", type=int, default=50, help="actions timed at each number of streams"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    phases = set(args.phases.split(","))

    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine(), "targets": TARGETS}
    workdir = Path(tempfile.mkdtemp(prefix="trantib-bench-"))
    memory: list[dict[str, list[int]]] = []
    if phases & {"overhead", "cpu", "throughput"}:
        stack = Stack(args.database_url, workdir, "load")
        memory.append(stack.memory)
        try:
            port = stack.api.port
            users = asyncio.run(login_all(HOST, port, unit_usernames(SLUGS), servers.DEMO_PASSWORD))
            stack.logged_in()
            if "overhead" in phases:
                print("overhead ...", flush=True)
                results["overhead"] = asyncio.run(overhead(port, users, args.sequential))
            if "cpu" in phases:
                print("cpu ...", flush=True)
                results["cpu"] = asyncio.run(cpu_per_request(port, users, CPU_REQUESTS))
            if "throughput" in phases:
                levels = [int(x) for x in args.levels.split(",")]
                print(f"throughput at {levels} clients ...", flush=True)
                results["throughput"] = asyncio.run(
                    throughput(port, users, levels, args.duration, args.warmup)
                )
        finally:
            stack.close()
    if "scale" in phases:
        print("scale ...", flush=True)
        stack = Stack(args.database_url, workdir, "scale")
        memory.append(stack.memory)
        try:
            sizes = [int(x) for x in args.sizes.split(",")]
            results["scale"] = asyncio.run(scale_phase(stack, sizes, args.samples))
        finally:
            stack.close()

    if "documents" in phases:
        print("documents ...", flush=True)
        results["documents"] = documents.documents_phase(args.renders)

    if "push" in phases:
        print("push ...", flush=True)
        results["push"] = push.push_phase(
            args.database_url, workdir, args.pushes, args.push_interval
        )

    if "stream" in phases:
        print("stream ...", flush=True)
        results["stream"] = stream.stream_phase(
            args.database_url,
            workdir,
            [int(x) for x in args.streams.split(",")],
            args.stream_actions,
        )

    def top(key: str) -> float:
        return round(max((k for m in memory for k in m.get(key, [])), default=0) / 1024, 1)

    results["memory"] = {
        "startup_mb": top("startup"),
        "login_mb": top("login"),
        "workload_mb": top("workload"),
        "peak_mb": max(top("startup"), top("login"), top("workload")),
        "rss_at_end_mb": top("rss_at_end"),
        "phases_kib": memory,
    }
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["bench_seconds"] = round(time.monotonic() - started)
    report = table(results)
    print()
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
