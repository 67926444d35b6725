"""Crash test: whole lifecycles over HTTP while the API and the worker are killed with -9.

    python -m scripts.chaos            (make chaos; CI runs it on the local PostgreSQL)

It creates a PostgreSQL database of its own, migrates it and seeds the demo users, starts a
webhook receiver and subscribes it to every event type, then starts uvicorn (2 workers) and
the worker. Concurrent clients take one incident per kecamatan through all 11 steps; each
request is sent again with the same Idempotency-Key when its connection breaks. Part way
through, the API and the worker are killed with SIGKILL and restarted, more than once: each
time once the webhook receiver and the push service both hold a request the worker sent and
they have not yet answered (they hold their answers for the moment), so every crash lands
between a delivery's send and its record. After the lifecycles finish and the outbox drains,
it checks:

- every POST that got a 2xx has its audit event (same incident, action and version);
- no incident is in an impossible state: all closed, each with its archive record, its
  approved report and its numbered Surat Perintah; one run per step, each starting when the
  one before it completed, none left running;
- every incident's audit chain verifies;
- every outbox event reached the receiver (by webhook-id), correctly signed, and once unless a
  crash explains the second copy: delivery is at least once, and a worker killed after the
  receiver answered but before it recorded the attempt sends it again when the lease runs out.
  A repeat counts as explained only when its delivery shows an attempt that was claimed and
  never recorded, and there are no more of them than crashes times concurrent senders;
- Surat Perintah and register numbers run 1..n per kecamatan and year, none missing or twice;
- the crashes caught the worker mid-delivery of a webhook and of a push (a run that never did
  has not tested what it claims);
- every outbox event was told to the people it concerns (notified), and every notification
  reached its recipient's phone at the local push service (every demo user of the kecamatan
  in play subscribes one before the lifecycles start), decrypted and VAPID-signed, at least
  once, and no phone got another user's: the worker is killed mid-delivery, so a repeat is
  accepted only when its delivery shows an attempt claimed and never recorded, no more than
  crashes times the concurrent senders;
- nobody was told the same thing twice (one task.assigned per person, incident, step and
  stage: every lifecycle goes straight through), and each user's task list kept from their
  notifications as a client keeps it (task.assigned sets an incident's entry; task.withdrawn,
  incident.cancelled and incident.archived remove it) is empty at the end, as GET /tasks is
  once every incident is closed;
- a few users hold the live stream (GET /api/v1/stream) throughout, reconnecting with
  Last-Event-ID after each crash: every notification of theirs arrived on it, none of
  another user's, ids rose strictly on each connection and none came twice across resumes.

It prints the counts and exits 1 on any violation. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench import servers  # noqa: E402
from bench.client import Connection, ConnectionLost, EventStream  # noqa: E402
from bench.lifecycle import (  # noqa: E402
    API,
    SLUGS,
    Lifecycle,
    Recorder,
    Users,
    login_all,
    unit_usernames,
)
from tests.fixtures.push_service import Browser, PushService  # noqa: E402

# The kecamatan (the first ones in play) whose people all hold a live stream.
STREAM_KECAMATAN = 2
# Before a crash the receivers hold each answer this long (under the worker's 2 s timeout),
# waiting at most HOLD_WAIT_SECONDS for a webhook and a push to arrive.
HOLD_SECONDS = 1.5
HOLD_WAIT_SECONDS = 20.0

DEFAULT_URL = os.environ.get(
    "CHAOS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# --- the webhook receiver ------------------------------------------------------------------


@dataclass
class Inbox:
    """What the receiver got: every webhook-id in arrival order, and bad signatures."""

    secret: str = ""
    # Seconds the receiver takes to answer: widens the window in which a worker killed
    # mid-delivery has sent a message but not yet recorded it.
    delay: float = 0.0
    ids: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    # Requests read and not yet answered.
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def signed(self, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        return any(hmac.compare_digest(expected, s) for s in header.split())


def start_receiver(inbox: Inbox) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as the worker's HTTP client expects of a real receiver.
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            msg_id = self.headers.get("webhook-id", "")
            ok = inbox.signed(
                msg_id,
                self.headers.get("webhook-timestamp", ""),
                body,
                self.headers.get("webhook-signature", ""),
            )
            with inbox.lock:
                inbox.ids.append(msg_id)
                inbox.bad_signatures += 0 if ok else 1
                inbox.in_flight += 1
            try:
                if inbox.delay:
                    time.sleep(inbox.delay)
                self.send_response(204)
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender was killed while it waited
            finally:
                with inbox.lock:
                    inbox.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="receiver", daemon=True).start()
    return server


# --- the live streams ----------------------------------------------------------------------

# Seconds between two attempts to reconnect a stream while the API is down.
RECONNECT_SECONDS = 0.2


@dataclass
class Watched:
    """One user's live stream as a client holds it: the ids of each connection in order."""

    username: str
    connections: list[list[int]] = field(default_factory=list)
    resets: int = 0
    refusals: list[str] = field(default_factory=list)
    last_id: int = 0

    def received(self) -> set[int]:
        return {i for ids in self.connections for i in ids}


class StreamWatch:
    """A thread with an event loop of its own holding one stream per watched user, from
    before the first action until `stop`: after a crash it reconnects with the last id it
    saw, as the SPA does (from 0 at first, so nothing before its first connection is lost)."""

    def __init__(self, port: int, users: Users, usernames: list[str]) -> None:
        self.port = port
        self.users = users
        self.watched = [Watched(name) for name in usernames]
        self.connected = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="streams", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self.connected.wait(timeout):
            raise SystemExit("the live streams did not open")

    def stop(self) -> None:
        if self._thread.is_alive() and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30)

    def expected(self, engine: Engine) -> dict[str, set[int]]:
        """The notification ids of each watched user, from the table."""
        names = {self.users.ids[w.username]: w.username for w in self.watched}
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, user_id FROM notifications")).all()
        expected: dict[str, set[int]] = {name: set() for name in names.values()}
        for row in rows:
            if str(row.user_id) in names:
                expected[names[str(row.user_id)]].add(int(row.id))
        return expected

    def _main(self) -> None:
        asyncio.run(self._hold_all())

    async def _hold_all(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        tasks = [asyncio.create_task(self._hold(w)) for w in self.watched]
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _hold(self, w: Watched) -> None:
        while True:
            headers = {**self.users.auth(w.username), "Last-Event-ID": str(w.last_id)}
            stream = EventStream("127.0.0.1", self.port, f"{API}/stream", headers)
            try:
                status = await stream.open(timeout=5)
                if status != 200:
                    w.refusals.append(f"{status} {stream.body[:200]!r}")
                    await asyncio.sleep(RECONNECT_SECONDS)
                    continue
                ids: list[int] = []
                w.connections.append(ids)
                while True:
                    event = await stream.next()
                    if event.event == "ready":
                        if all(x.connections for x in self.watched):
                            self.connected.set()
                        continue
                    if event.event == "reset":
                        w.resets += 1
                    if event.id is not None:
                        ids.append(event.id)
                        w.last_id = max(w.last_id, event.id)
            except ConnectionLost:
                await asyncio.sleep(RECONNECT_SECONDS)
            finally:
                stream.close()

    def wait_for(self, expected: dict[str, set[int]], timeout: float) -> None:
        """Until every watched user received the ids expected of them, or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(expected.get(w.username, set()) <= w.received() for w in self.watched):
                return
            time.sleep(0.2)


# --- the run -------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    database_url: str
    workdir: Path
    inbox: Inbox = field(default_factory=Inbox)
    recorder: Recorder = field(default_factory=Recorder)
    phones: PushService = field(default_factory=PushService)
    # Each demo user's phone, by the user's id.
    browsers: dict[str, Browser] = field(default_factory=dict)
    kills: int = 0
    # Crashes that caught a webhook, a push, sent and not yet answered.
    kills_mid_webhook: int = 0
    kills_mid_push: int = 0
    streams: StreamWatch | None = None
    api: servers.Api | None = None
    worker: servers.Process | None = None

    def env(self) -> dict[str, str]:
        return servers.service_env(
            self.database_url,
            webhooks_allow_http="true",
            webhooks_allow_private="true",
            webhooks_interval_seconds="0.2",
            webhooks_timeout_seconds="2",
            webhooks_backoff_base_seconds="1",
            sla_worker_interval_seconds="1",
            notifications_interval_seconds="0.5",
            push_enabled="true",
            push_allow_http="true",
            push_allow_private="true",
            push_interval_seconds="0.2",
            push_timeout_seconds="2",
            attachments_dir=str(self.workdir / "attachments"),
        )

    def start_worker(self) -> None:
        argv = [servers.PYTHON, "-m", "app.cli", "worker", "--interval", "1"]
        self.worker = servers.Process(argv, self.env(), self.workdir / "worker.log")
        self.worker.start()

    def crash_and_restart(self) -> None:
        """Kill both with -9 while the worker has a webhook and a push sent and not yet
        answered (the receivers hold their answers until then), so the crash lands between
        a delivery's send and its record; then start them again."""
        assert self.api is not None and self.worker is not None
        held = self.hold_deliveries()
        self.api.kill()
        self.worker.kill()
        self.kills += 1
        self.inbox.delay, self.phones.delay = self.args.receiver_delay, self.args.push_delay
        webhook, push = held
        self.kills_mid_webhook += webhook
        self.kills_mid_push += push
        caught = " and ".join(n for n, h in (("a webhook", webhook), ("a push", push)) if h)
        print(
            f"  killed API and worker (-9) with {caught or 'nothing'} in flight,"
            f" crash {self.kills}; restarting",
            flush=True,
        )
        time.sleep(0.5)
        self.api.start()
        self.start_worker()

    def hold_deliveries(self) -> tuple[bool, bool]:
        """Make both receivers hold their answers (for less than the worker's timeout) and
        wait, at most HOLD_WAIT_SECONDS, until each holds one: whether each did."""
        self.inbox.delay = self.phones.delay = HOLD_SECONDS
        deadline = time.monotonic() + HOLD_WAIT_SECONDS
        while True:
            with self.inbox.lock:
                webhook = self.inbox.in_flight > 0
            with self.phones._lock:
                push = self.phones.in_flight > 0
            if (webhook and push) or time.monotonic() > deadline:
                return webhook, push
            time.sleep(0.01)


async def subscribe(port: int, receiver_port: int, password: str) -> str:
    from app.outbox.service import EVENT_TYPES

    users = await login_all("127.0.0.1", port, ["admin"], password, parallel=1)
    conn = Connection("127.0.0.1", port)
    answer = await conn.request(
        "POST",
        f"{API}/webhooks/subscriptions",
        headers=users.auth("admin"),
        json_body={
            "url": f"http://127.0.0.1:{receiver_port}/hooks/trantib",
            "event_types": list(EVENT_TYPES),
            "description": "crash test receiver",
        },
    )
    conn.close()
    if answer.status != 201:
        raise SystemExit(f"subscription refused: {answer.status} {answer.body[:300]!r}")
    return str(answer.json()["secret"])


async def subscribe_phones(run: Run, port: int, users: Users) -> None:
    """Every user subscribes a phone of their own at the local push service."""
    conn = Connection("127.0.0.1", port)
    for username, user_id in sorted(users.ids.items()):
        browser = run.phones.browser()
        answer = await conn.request(
            "PUT",
            f"{API}/push-subscriptions",
            headers=users.auth(username),
            json_body=browser.subscription(),
        )
        if answer.status not in (200, 201):
            raise SystemExit(f"push subscription refused: {answer.status} {answer.body[:300]!r}")
        run.browsers[user_id] = browser
    conn.close()


async def drive(run: Run) -> list[Lifecycle]:
    assert run.api is not None
    port = run.api.port
    slugs = [SLUGS[i % len(SLUGS)] for i in range(run.args.incidents)]
    users = await login_all(
        "127.0.0.1", port, unit_usernames(sorted(set(slugs))), run.args.password
    )
    await subscribe_phones(run, port, users)
    watched = unit_usernames(sorted(set(slugs))[:STREAM_KECAMATAN])
    run.streams = StreamWatch(port, users, watched)
    await asyncio.to_thread(run.streams.start)
    total = len(slugs) * 17
    marks = [total * (k + 1) // (run.args.kills + 1) for k in range(run.args.kills)]
    acked = 0
    crash_due = asyncio.Event()

    async def on_ack() -> None:
        nonlocal acked
        acked += 1
        if marks and acked >= marks[0]:
            marks.pop(0)
            crash_due.set()

    lifecycles = [
        Lifecycle(
            Connection("127.0.0.1", port, timeout=30),
            users,
            slug,
            run.recorder,
            resilient=True,
            deadline_seconds=run.args.timeout,
            on_ack=on_ack,
        )
        for slug in slugs
    ]
    tasks = [asyncio.create_task(lc.run()) for lc in lifecycles]
    everything = asyncio.gather(*tasks)
    while not everything.done():
        waiter = asyncio.create_task(crash_due.wait())
        pending: list[asyncio.Future[Any]] = [waiter, everything]
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if crash_due.is_set():
            crash_due.clear()
            await asyncio.to_thread(run.crash_and_restart)
        else:
            waiter.cancel()
    await everything
    for lc in lifecycles:
        lc.conn.close()
    return lifecycles


def pushed(run: Run) -> list[tuple[str, int]]:
    """Every push the phones received: (the phone's user id, the notification id)."""
    owner = {browser.token: user_id for user_id, browser in run.browsers.items()}
    with run.phones._lock:
        received = list(run.phones.received)
    return [(owner[p.token], int(p.payload["id"])) for p in received]


def wait_for_delivery(run: Run, engine: Engine, timeout: float) -> None:
    """Until every outbox event is delivered and the receiver has them all, and every
    notification is pushed and the phones have them all, or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM outbox_events")).scalar_one()
            delivered = conn.execute(
                text("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
            ).scalar_one()
            untold = conn.execute(
                text("SELECT count(*) FROM outbox_events WHERE notified_at IS NULL")
            ).scalar_one()
            notifications = conn.execute(text("SELECT count(*) FROM notifications")).scalar_one()
        with run.inbox.lock:
            received = len(set(run.inbox.ids))
        phoned = len(set(pushed(run)))
        if (
            events
            and delivered >= events
            and received >= events
            and not untold
            and phoned >= notifications
        ):
            # A moment more, so a duplicate sent late still shows up in the counts.
            time.sleep(1.0)
            return
        time.sleep(0.5)


# --- the checks ----------------------------------------------------------------------------


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def count(self, name: str, value: int) -> None:
        self.counts[name] = value

    def fail(self, message: str) -> None:
        self.violations.append(message)


def explain_repeats(
    report: Report, what: str, repeated: set[Any], unrecorded: set[Any], kills: int, senders: int
) -> None:
    """At least once: a repeat is explained by an attempt claimed and never recorded (the
    worker died between the answer and its own commit), at most `senders` per crash; anything
    else is a bug."""
    report.count(
        f"  {what} repeated after a crash lost the attempt's record", len(repeated & unrecorded)
    )
    unexplained = repeated - unrecorded
    if unexplained:
        report.fail(
            f"{len(unexplained)} {what} sent more than once with every attempt recorded:"
            " a repeat that no crash explains"
        )
    if len(repeated) > kills * senders:
        report.fail(
            f"{len(repeated)} {what} repeated after {kills} crashes: more than the"
            f" {senders} a killed worker can have in flight each time"
        )


def check(run: Run, engine: Engine, lifecycles: list[Lifecycle]) -> Report:
    from sqlmodel import Session

    from app.audit.service import verify_chain
    from app.webhooks import delivery

    report = Report()
    rec = run.recorder
    with engine.connect() as conn:
        incidents = conn.execute(
            text(
                "SELECT id, unit_id, status, current_step, current_run_id, register_year, "
                "register_sequence, order_draft_id, report_draft_id, order_id, audit_seq "
                "FROM incidents"
            )
        ).all()
        audit = conn.execute(text("SELECT incident_id, action, seq, after FROM audit_events")).all()
        runs = conn.execute(
            text(
                "SELECT incident_id, step, attempt, status, started_at, completed_at "
                "FROM step_runs ORDER BY incident_id, started_at, step"
            )
        ).all()
        archives = {
            r.incident_id
            for r in conn.execute(text("SELECT incident_id FROM archive_records")).all()
        }
        drafts = {
            (r.incident_id, r.kind): r.status
            for r in conn.execute(text("SELECT incident_id, kind, status FROM drafts")).all()
        }
        orders = conn.execute(
            text("SELECT incident_id, unit_id, year, sequence, number FROM orders WHERE kind = :k"),
            {"k": "surat_perintah"},
        ).all()
        outbox = {str(r.id) for r in conn.execute(text("SELECT id FROM outbox_events")).all()}
        deliveries = conn.execute(
            text(
                "SELECT d.event_id, d.status, d.attempts,"
                " (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS recorded"
                " FROM webhook_deliveries d"
            )
        ).all()

    # 1. Every acknowledged action left its audit event.
    recorded = set()
    for row in audit:
        after = row.after if isinstance(row.after, dict) else json.loads(row.after or "null")
        recorded.add((str(row.incident_id), row.action, (after or {}).get("version")))
    missing = [a for a in rec.acks if (a.incident_id, a.action, a.version) not in recorded]
    report.count("actions acknowledged (2xx)", len(rec.acks))
    report.count("acknowledged actions without their audit event", len(missing))
    for a in missing[:5]:
        report.fail(f"2xx without audit event: {a.label} on {a.incident_id} (v{a.version})")
    if missing[5:]:
        report.fail(f"... and {len(missing) - 5} more acknowledged actions missing")

    # 2. States.
    expected_ids = {lc.incident_id for lc in lifecycles}
    by_status = Counter(r.status for r in incidents)
    report.count("incidents", len(incidents))
    report.count("incidents closed", by_status.get("closed", 0))
    if {str(r.id) for r in incidents} != expected_ids:
        extra = len({str(r.id) for r in incidents} - expected_ids)
        report.fail(f"{extra} incidents exist that no lifecycle owns (a create done twice?)")
    runs_of: dict[str, list[Any]] = defaultdict(list)
    for r in runs:
        runs_of[str(r.incident_id)].append(r)
    impossible = 0
    for inc in incidents:
        iid = str(inc.id)
        problems = []
        if inc.status != "closed":
            problems.append(f"status {inc.status} at step {inc.current_step}")
        else:
            if inc.id not in archives:
                problems.append("closed without an archive record")
            if drafts.get((inc.id, "report")) != "approved":
                problems.append(f"report draft {drafts.get((inc.id, 'report'))}")
            if drafts.get((inc.id, "order")) != "validated":
                problems.append(f"order draft {drafts.get((inc.id, 'order'))}")
            if inc.order_id is None:
                problems.append("closed without its Surat Perintah")
            if inc.current_run_id is not None:
                problems.append("closed with a current run")
        its_runs = runs_of[iid]
        running = [r for r in its_runs if r.status == "running"]
        if len(running) > (0 if inc.status == "closed" else 1):
            problems.append(f"{len(running)} running runs")
        steps = [(r.step, r.attempt) for r in its_runs]
        if steps != [(n, 1) for n in range(1, 12)]:
            problems.append(f"runs {steps}")
        for before, after in zip(its_runs, its_runs[1:], strict=False):
            if before.completed_at is None or before.completed_at != after.started_at:
                problems.append(f"step {after.step} did not start when step {before.step} ended")
                break
        if problems:
            impossible += 1
            report.fail(f"incident {iid}: " + "; ".join(problems))
    report.count("incidents in an impossible state", impossible)
    report.count("step runs", len(runs))

    # 3. Audit chains.
    broken = 0
    with Session(engine) as session:
        for inc in incidents:
            chain = verify_chain(session, inc.id)
            if not chain.valid or chain.events != inc.audit_seq:
                broken += 1
                report.fail(f"audit chain of {inc.id}: {chain}")
    report.count("audit events", len(audit))
    report.count("audit chains broken", broken)

    # 4. Webhooks: every outbox event once at the receiver.
    with run.inbox.lock:
        received = list(run.inbox.ids)
        bad = run.inbox.bad_signatures
    seen = Counter(received)
    duplicates = sum(n - 1 for n in seen.values())
    never = outbox - set(seen)
    unknown = set(seen) - outbox
    report.count("outbox events", len(outbox))
    report.count("webhooks received", len(received))
    report.count("webhooks received twice or more (duplicates)", duplicates)
    report.count("outbox events never received", len(never))
    report.count("deliveries not delivered", sum(1 for d in deliveries if d.status != "delivered"))
    report.count("delivery attempts beyond the first", sum(d.attempts - 1 for d in deliveries))
    # At least once: a repeat is explained by an attempt claimed and never recorded (the
    # worker died between the receiver's answer and its own commit); anything else is a bug.
    unrecorded = {str(d.event_id) for d in deliveries if d.recorded < d.attempts}
    repeated = {msg_id for msg_id, n in seen.items() if n > 1}
    explain_repeats(report, "webhooks", repeated, unrecorded, run.kills, delivery.SENDERS)
    if never:
        report.fail(f"{len(never)} outbox events never reached the receiver")
    if unknown:
        report.fail(f"{len(unknown)} received webhook-ids are no outbox event")
    if bad:
        report.fail(f"{bad} webhooks with a bad signature")
    if len(deliveries) != len(outbox):
        report.fail(f"{len(deliveries)} delivery rows for {len(outbox)} outbox events")

    # 5. Numbers: 1..n per kecamatan and year, none missing, none twice.
    def gap_free(name: str, pairs: list[tuple[tuple[int, int], int | None]]) -> None:
        per: dict[tuple[int, int], list[int]] = defaultdict(list)
        for key, sequence in pairs:
            per[key].append(sequence or 0)
        wrong = 0
        for key, numbers in per.items():
            if sorted(numbers) != list(range(1, len(numbers) + 1)):
                wrong += 1
                report.fail(f"{name} numbers of unit {key[0]}, {key[1]}: {sorted(numbers)}")
        report.count(f"{name} numbers", len(pairs))
        report.count(f"kecamatan-years with {name} numbers missing or doubled", wrong)

    gap_free("Surat Perintah", [((o.unit_id, o.year), o.sequence) for o in orders])
    if len({o.number for o in orders}) != len(orders):
        report.fail("a Surat Perintah number is used twice")
    if len(orders) != by_status.get("closed", 0):
        report.fail(f"{len(orders)} Surat Perintah for {by_status.get('closed', 0)} incidents")
    gap_free("register", [((i.unit_id, i.register_year), i.register_sequence) for i in incidents])

    check_notifications(run, engine, report)
    if run.streams is not None:
        check_streams(run.streams, engine, report)

    report.count("API and worker crashes (kill -9)", run.kills)
    report.count("  of them with a webhook sent and not yet answered", run.kills_mid_webhook)
    report.count("  of them with a push sent and not yet answered", run.kills_mid_push)
    if run.kills and not (run.kills_mid_webhook and run.kills_mid_push):
        report.fail("no crash caught the worker mid-delivery of both a webhook and a push")
    report.count("requests retried after a broken connection", rec.connection_errors)
    report.count("5xx answers retried", rec.server_errors)
    report.count("retries refused as still in flight (409)", rec.in_flight_refusals)
    report.count("actions found done when their answer was lost", rec.adopted)
    report.count("actions sent again under a new key (not done)", rec.rekeyed)
    for note in rec.notes:
        report.fail(note)
    return report


# What ends a task in a client's list, as the README tells clients to keep it.
ENDS_TASK = ("task.withdrawn", "incident.cancelled", "incident.archived")


def check_notifications(run: Run, engine: Engine, report: Report) -> None:
    """6. Every event told, every notification on its recipient's phone at least once and
    on no other, nobody told the same thing twice, every client's task list empty at the end."""
    from app.push import delivery as push

    with engine.connect() as conn:
        untold = conn.execute(
            text("SELECT count(*) FROM outbox_events WHERE notified_at IS NULL")
        ).scalar_one()
        notes = conn.execute(
            text(
                "SELECT n.id, n.user_id, n.incident_id, n.kind, n.data, e.created_at AS source_at"
                " FROM notifications n JOIN outbox_events e ON e.id = n.source_event_id"
                " ORDER BY n.id"
            )
        ).all()
        acted = conn.execute(
            text(
                "SELECT incident_id, actor_id, max(recorded_at) AS last FROM audit_events"
                " WHERE actor_id IS NOT NULL GROUP BY incident_id, actor_id"
            )
        ).all()
        deliveries = conn.execute(
            text("SELECT notification_id, status, attempts, recorded_attempts FROM push_deliveries")
        ).all()
    report.count("outbox events never told (notified)", untold)
    if untold:
        report.fail(f"{untold} outbox events were never told to anyone")

    owner = {n.id: str(n.user_id) for n in notes}
    phoned = pushed(run)
    seen = Counter(phoned)
    expected = {(owner[n.id], n.id) for n in notes if str(n.user_id) in run.browsers}
    never = expected - set(seen)
    foreign = {(user, note) for user, note in seen if owner.get(note) != user}
    repeated = {note for (_, note), times in seen.items() if times > 1}
    unrecorded = {d.notification_id for d in deliveries if d.recorded_attempts < d.attempts}
    report.count("notifications", len(notes))
    report.count("pushes received", len(phoned))
    report.count("notifications never pushed to their recipient", len(never))
    report.count("pushes received twice or more (duplicates)", len(repeated))
    explain_repeats(report, "pushes", repeated, unrecorded, run.kills, push.SENDERS)
    report.count("pushes refused by the push service (VAPID, encryption)", len(run.phones.refused))
    if never:
        report.fail(f"{len(never)} notifications never reached their recipient's phone")
    if foreign:
        report.fail(f"{len(foreign)} pushes reached a phone not of their recipient")
    if run.phones.refused:
        report.fail(f"{len(run.phones.refused)} pushes refused: {run.phones.refused[:3]}")

    # Nobody is told of their own action: a client refetches GET /tasks after it acts, which
    # ends an entry told before that action (all incidents are closed by then).
    last_acted = {(str(a.incident_id), str(a.actor_id)): a.last for a in acted}
    told: Counter[tuple[str, str, str, Any, Any]] = Counter()
    tasks: dict[tuple[str, str], Any] = {}
    for n in notes:
        data = n.data if isinstance(n.data, dict) else json.loads(n.data or "{}")
        user, incident = str(n.user_id), str(n.incident_id)
        if n.kind == "task.assigned":
            told[(user, incident, n.kind, data.get("step"), data.get("stage"))] += 1
            tasks[(user, incident)] = n.source_at
        elif n.kind in ENDS_TASK:
            tasks.pop((user, incident), None)
    twice = sum(1 for times in told.values() if times > 1)
    left = sum(
        1
        for (user, incident), since in tasks.items()
        if last_acted.get((incident, user)) is None or last_acted[(incident, user)] < since
    )
    report.count("tasks told twice to the same person", twice)
    report.count("tasks left in clients' lists at the end", left)
    if twice:
        report.fail(f"{twice} tasks were told twice to the same person")
    if left:
        report.fail(f"{left} tasks stay in clients' lists built from notifications; all closed")


def check_streams(watch: StreamWatch, engine: Engine, report: Report) -> None:
    """7. Each watched user's stream carried every notification of theirs and no other, ids
    strictly rising on each connection, none twice across the resumes."""
    expected = watch.expected(engine)
    everyone = set().union(*expected.values())
    never = twice = disordered = foreign = 0
    for w in watch.watched:
        seen = Counter(i for ids in w.connections for i in ids)
        never += len(expected[w.username] - set(seen))
        twice += sum(1 for times in seen.values() if times > 1)
        disordered += sum(
            1 for ids in w.connections for a, b in zip(ids, ids[1:], strict=False) if b <= a
        )
        foreign += len(set(seen) - expected[w.username])
        for refusal in w.refusals:
            report.fail(f"stream of {w.username} refused: {refusal}")
    report.count("users holding a live stream", len(watch.watched))
    report.count(
        "stream connections (reconnected after crashes)",
        sum(len(w.connections) for w in watch.watched),
    )
    report.count("their notifications", len(everyone))
    report.count(
        "stream events received", sum(len(ids) for w in watch.watched for ids in w.connections)
    )
    report.count("notifications never on their recipient's stream", never)
    report.count("stream events received twice across resumes", twice)
    report.count("stream ids not rising on a connection", disordered)
    report.count(
        "stream resets (missed more than the backlog)", sum(w.resets for w in watch.watched)
    )
    for found, what in (
        (never, "notifications never reached their recipient's live stream"),
        (twice, "stream events were received twice across resumes"),
        (disordered, "stream events came after a higher id on the same connection"),
        (foreign, "stream events carried another user's notification"),
    ):
        if found:
            report.fail(f"{found} {what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="server to create it on")
    parser.add_argument("--incidents", type=int, default=13, help="concurrent lifecycles")
    parser.add_argument("--kills", type=int, default=2, help="crashes during the run")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per action")
    parser.add_argument(
        "--receiver-delay", type=float, default=0.0, help="seconds the receiver takes to answer"
    )
    parser.add_argument(
        "--push-delay",
        type=float,
        default=0.0,
        help="seconds the push service takes to answer (a worker killed mid-delivery)",
    )
    parser.add_argument("--password", default=servers.DEMO_PASSWORD)
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    args = parser.parse_args(argv)

    started = time.monotonic()
    url, drop = servers.create_database(args.database_url, "trantib_chaos")
    workdir = Path(tempfile.mkdtemp(prefix="trantib-chaos-"))
    run = Run(args, url, workdir)
    run.inbox.delay = args.receiver_delay
    run.phones.delay = args.push_delay
    receiver = start_receiver(run.inbox)
    run.phones.start()
    engine = create_engine(url)
    status = 1
    try:
        print(f"database {url.rsplit('/', 1)[-1]}; logs in {workdir}", flush=True)
        servers.cli(run.env(), "migrate")
        servers.cli(run.env(), "seed-demo")
        run.api = servers.Api(run.env(), workdir / "api.log")
        run.api.start()
        run.inbox.secret = asyncio.run(
            subscribe(run.api.port, receiver.server_address[1], args.password)
        )
        run.start_worker()
        print(
            f"{args.incidents} lifecycles, {args.kills} crashes of the API and the worker",
            flush=True,
        )
        t0 = time.monotonic()
        lifecycles = asyncio.run(drive(run))
        print(
            f"  lifecycles done in {time.monotonic() - t0:.1f} s; waiting for webhooks and pushes",
            flush=True,
        )
        wait_for_delivery(run, engine, timeout=90)
        if run.streams is not None:
            run.streams.wait_for(run.streams.expected(engine), timeout=15)
            run.streams.stop()
        report = check(run, engine, lifecycles)
        width = max(len(k) for k in report.counts)
        print()
        for name, value in report.counts.items():
            print(f"  {name:<{width}}  {value}")
        print()
        for violation in report.violations:
            print(f"VIOLATION: {violation}")
        verdict = "FAILED" if report.violations else "passed"
        print(f"crash test {verdict} in {time.monotonic() - started:.0f} s")
        status = 1 if report.violations else 0
    finally:
        if run.streams is not None:
            run.streams.stop()
        if run.worker is not None:
            run.worker.kill()
        if run.api is not None:
            run.api.kill()
        receiver.shutdown()
        run.phones.stop()
        engine.dispose()
        if args.keep:
            print(f"kept database {url}")
        else:
            drop()
    if status == 0 and not args.keep:
        for path in sorted(workdir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        workdir.rmdir()
    elif status:
        print(f"logs: {workdir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
