"""One incident through the SOP's 11 steps over HTTP, as its kecamatan's demo users do it.

Used by the benchmark (strict: any unexpected answer is an error) and by the crash test
(resilient: a request whose connection broke is sent again with the same Idempotency-Key; a
request refused as still in flight after a crash is reconciled by reading the incident).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.client import Connection, ConnectionLost, Response

API = "/api/v1"
UNIT_PREFIXES = ("camat", "sekcam", "kasi", "danru", "anggota1", "anggota2")
MEMBERS = ("anggota1", "anggota2")

# The kecamatan slugs, and a kelurahan of each (incidents must name one of their own).
KELURAHAN = {
    "tangerang": "Sukarasa",
    "jatiuwung": "Jatake",
    "batuceper": "Poris Gaga",
    "benda": "Belendung",
    "cipondoh": "Petir",
    "ciledug": "Sudimara Timur",
    "karawaci": "Cimone",
    "periuk": "Gembor",
    "cibodas": "Uwung Jaya",
    "neglasari": "Karang Sari",
    "pinang": "Kunciran",
    "karangtengah": "Pondok Bahar",
    "larangan": "Cipadu",
}
SLUGS = tuple(KELURAHAN)

# (label, audit action) of every POST of a whole lifecycle, in order.
ACTIONS: tuple[tuple[str, str], ...] = (
    ("incidents_create", "incident_create"),
    ("s1 orders_create walikota", "order_walikota"),
    ("s2 instructions_create", "instruct"),
    ("s3 drafts_create", "draft_create"),
    ("s3 drafts_submit", "draft_submit"),
    ("s4 verifications_create review", "verify"),
    ("s4 verifications_create paraf", "verify"),
    ("s4 verifications_create verify", "verify"),
    ("s5 orders_create surat_perintah", "order_validate"),
    ("s6 orders_dispatch", "order_dispatch"),
    ("s7 briefings_create", "briefing"),
    ("s8 field_reports_create 1st", "field_report"),
    ("s8 field_reports_create 2nd", "field_report"),
    ("s9 drafts_create", "draft_create"),
    ("s9 drafts_submit", "draft_submit"),
    ("s10 verifications_create review", "verify"),
    ("s11 archive_records_create", "archive"),
)
STEP_LABELS = tuple(label for label, _ in ACTIONS)


class Unexpected(Exception):
    """An answer the lifecycle cannot go on from."""


@dataclass
class Users:
    """Access tokens and ids of the demo users, by username."""

    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[username]}"}


async def login(conn: Connection, users: Users, username: str, password: str) -> None:
    for _ in range(100):
        try:
            answer = await conn.request(
                "POST",
                f"{API}/auth/token",
                form={"grant_type": "password", "username": username, "password": password},
            )
        except ConnectionLost:
            await asyncio.sleep(0.2)
            continue
        if answer.status == 429 and answer.headers.get("retry-after", "").isdigit():
            # Parallel logins from one address can be told to wait a second by the login
            # throttle; a client waits as told.
            await asyncio.sleep(int(answer.headers["retry-after"]))
            continue
        break
    else:
        raise Unexpected(f"login {username}: no connection")
    if answer.status != 200:
        raise Unexpected(f"login {username}: {answer.status} {answer.body[:200]!r}")
    users.tokens[username] = answer.json()["access_token"]
    me = await conn.request("GET", f"{API}/users/me", headers=users.auth(username))
    users.ids[username] = me.json()["id"]


async def login_all(
    host: str, port: int, usernames: list[str], password: str, parallel: int = 4
) -> Users:
    users = Users()
    queue = list(usernames)

    async def worker() -> None:
        conn = Connection(host, port)
        while queue:
            await login(conn, users, queue.pop(), password)
        conn.close()

    await asyncio.gather(*(worker() for _ in range(parallel)))
    return users


def unit_usernames(slugs: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{prefix}.{slug}" for slug in slugs for prefix in UNIT_PREFIXES]


@dataclass
class Ack:
    """A POST that got its 2xx: the audit event that must exist for it."""

    incident_id: str
    action: str
    version: int
    label: str


@dataclass
class Recorder:
    """Latencies per label and what was acknowledged, shared by many lifecycles."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acks: list[Ack] = field(default_factory=list)
    connection_errors: int = 0
    server_errors: int = 0
    in_flight_refusals: int = 0
    adopted: int = 0
    rekeyed: int = 0
    completed: int = 0
    notes: list[str] = field(default_factory=list)

    def record(self, label: str, response: Response) -> None:
        self.latencies[label].append(response.elapsed)


def incident_body(slug: str, title: str) -> dict[str, Any]:
    return {
        "kind": "unjuk_rasa",
        "title": title,
        "location": {"address": "Depan kantor kecamatan", "kelurahan": KELURAHAN[slug]},
        "organizer": {"name": "Budi Santoso", "organization": "Serikat Pekerja"},
        "estimated_crowd": 250,
        "demands": ["Kenaikan upah minimum"],
        "police_notified": True,
        "police_receipt_number": "STTP/123/XI/2026",
        "escalation_level": "hijau",
    }


ORDER_DRAFT = {
    "kind": "order",
    "plan": {
        "summary": "Pengamanan unjuk rasa di depan kantor kecamatan",
        "personnel_count": 12,
        "assembly_point": "Halaman kantor kecamatan",
        "tasks": ["Pengamanan objek"],
        "equipment": ["HT", "Tameng"],
        "coordination": ["Polsek"],
    },
    "letter": {
        "dasar": ["Perda Kota Tangerang Nomor 8 Tahun 2018"],
        "kepada": [{"nama": "Danru", "jabatan": "Komandan Regu"}],
        "untuk": ["Melaksanakan pengamanan unjuk rasa", "Melaporkan hasil pelaksanaan"],
        "penandatangan": {"jabatan": "CAMAT", "nama": "Camat"},
        "tembusan": ["Wali Kota Tangerang"],
    },
}
EQUIPMENT = {
    "seragam": {"count": 12},
    "alat_penertiban": {"count": 6},
    "kendaraan": {"count": 2},
    "perlengkapan": {"available": True},
}


def field_report() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "started_at": (now - timedelta(hours=2)).isoformat(),
        "ended_at": (now - timedelta(hours=1)).isoformat(),
        **FIELD_REPORT,
    }


def walikota_order(number: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "kind": "walikota",
        "number": number,
        "issued_on": now.date().isoformat(),
        "issuer": "Wali Kota Tangerang",
        "police_coordination": {
            "officer": "AKP Rahmat",
            "police_unit": "Polsek",
            "contacted_at": (now - timedelta(hours=1)).isoformat(),
        },
    }


FIELD_REPORT: dict[str, Any] = {
    "location": {"address": "Depan kantor kecamatan"},
    "crowd_estimate": 200,
    "situation": "kondusif",
    "actions_taken": ["pemantauan", "pengamanan_objek"],
    "notes": "Massa membubarkan diri dengan tertib",
}


@dataclass
class Lifecycle:
    """One incident in one kecamatan. `resilient` selects the crash-test behaviour."""

    conn: Connection
    users: Users
    slug: str
    recorder: Recorder
    resilient: bool = False
    idempotency_keys: bool = False
    deadline_seconds: float = 120.0
    on_ack: Callable[[], Awaitable[None]] | None = None
    title: str = field(default_factory=lambda: f"Unjuk rasa {uuid.uuid4().hex[:12]}")
    incident_id: str = ""
    version: int = 0
    order_draft_id: str = ""
    report_draft_id: str = ""
    order_id: str = ""
    field_report_ids: list[str] = field(default_factory=list)

    def user(self, prefix: str) -> str:
        return f"{prefix}.{self.slug}"

    async def run(self) -> None:
        s = self.slug
        uid = self.users.ids
        created = await self.post(0, "kasi", f"{API}/incidents", incident_body(s, self.title))
        if created is not None:
            self.incident_id = created["id"]
        inc = f"{API}/incidents/{self.incident_id}"
        await self.post(1, "camat", f"{inc}/orders", walikota_order(f"WK/{self.incident_id[:8]}"))
        await self.post(2, "kasi", f"{inc}/instructions", {"danru_id": uid[f"danru.{s}"]})
        draft = await self.post(3, "danru", f"{inc}/drafts", ORDER_DRAFT)
        if draft is not None:
            self.order_draft_id = draft["id"]
        await self.post(4, "danru", f"{API}/drafts/{self.order_draft_id}/submit", None, 200)
        for number, who in ((5, "kasi"), (6, "sekcam"), (7, "camat")):
            await self.post(
                number,
                who,
                f"{API}/drafts/{self.order_draft_id}/verifications",
                {"decision": "approve"},
            )
        order = await self.post(
            8, "camat", f"{inc}/orders", {"kind": "surat_perintah", "draft_id": self.order_draft_id}
        )
        if order is not None:
            self.order_id = order["id"]
        await self.post(
            9,
            "kasi",
            f"{API}/orders/{self.order_id}/dispatch",
            {"danru_id": uid[f"danru.{s}"]},
            200,
        )
        await self.post(
            10,
            "danru",
            f"{inc}/briefings",
            {"members": [uid[f"{m}.{s}"] for m in MEMBERS], "equipment": EQUIPMENT},
        )
        for number, member in ((11, MEMBERS[0]), (12, MEMBERS[1])):
            report = await self.post(number, member, f"{inc}/field-reports", field_report())
            if report is not None and report["id"] not in self.field_report_ids:
                self.field_report_ids.append(report["id"])
        body = {
            "kind": "report",
            "summary": "Unjuk rasa berjalan tertib dan kondusif.",
            "field_report_ids": self.field_report_ids,
            "final_situation": "kondusif",
        }
        draft = await self.post(13, "danru", f"{inc}/drafts", body)
        if draft is not None:
            self.report_draft_id = draft["id"]
        await self.post(14, "danru", f"{API}/drafts/{self.report_draft_id}/submit", None, 200)
        await self.post(
            15,
            "kasi",
            f"{API}/drafts/{self.report_draft_id}/verifications",
            {"decision": "approve"},
        )
        await self.post(
            16,
            "kasi",
            f"{inc}/archive-records",
            {"classification_code": "300.1.2.1", "retention_years": 5},
        )
        self.recorder.completed += 1

    async def post(
        self, index: int, who: str, path: str, body: Any, expect: int = 201
    ) -> dict[str, Any] | None:
        """Send one action; the answer's JSON, or None when a crash-time retry found the
        action already done (the ids are then read back from the incident)."""
        label, action = ACTIONS[index]
        username = self.user(who)
        key = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_seconds
        delay = 0.05
        while True:
            if loop.time() > deadline:
                raise Unexpected(f"{self.slug} {label}: gave up after {self.deadline_seconds} s")
            headers = self.users.auth(username)
            if self.idempotency_keys or self.resilient:
                headers["idempotency-key"] = key
            try:
                answer = await self.conn.request("POST", path, headers=headers, json_body=body)
            except ConnectionLost:
                if not self.resilient:
                    raise
                self.recorder.connection_errors += 1
                await asyncio.sleep(delay + random.uniform(0, delay))
                delay = min(delay * 2, 1.0)
                continue
            if answer.status == expect:
                self.recorder.record(label, answer)
                data: dict[str, Any] = answer.json()
                self.version += 1
                incident_id = data["id"] if index == 0 else self.incident_id
                self.recorder.acks.append(Ack(incident_id, action, self.version, label))
                if self.on_ack is not None:
                    await self.on_ack()
                return data
            if not self.resilient:
                raise Unexpected(f"{self.slug} {label}: {answer.status} {answer.body[:300]!r}")
            if answer.status >= 500:
                # Nothing is stored for a 5xx: the same key runs the action afresh.
                self.recorder.server_errors += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if answer.status == 409:
                if answer.problem_type == "idempotency-in-flight":
                    self.recorder.in_flight_refusals += 1
                if await self.reconcile(index):
                    self.recorder.adopted += 1
                    return None
                # Not done: the first request died with the process that ran it. Its key
                # stays "in flight" until it goes stale, so the action goes under a new key.
                self.recorder.rekeyed += 1
                key = uuid.uuid4().hex
                await asyncio.sleep(delay)
                continue
            raise Unexpected(f"{self.slug} {label}: {answer.status} {answer.body[:300]!r}")

    async def get(self, path: str) -> Any:
        while True:
            try:
                answer = await self.conn.request(
                    "GET", path, headers=self.users.auth(self.user("camat"))
                )
            except ConnectionLost:
                self.recorder.connection_errors += 1
                await asyncio.sleep(0.2)
                continue
            if answer.status >= 500:
                await asyncio.sleep(0.2)
                continue
            if answer.status != 200:
                raise Unexpected(f"GET {path}: {answer.status} {answer.body[:300]!r}")
            return answer.json()

    async def reconcile(self, index: int) -> bool:
        """Whether the action at `index` already happened; if so, read back what it made."""
        if index == 0:
            page = await self.get(f"{API}/incidents?unit={self.slug}&status=active&limit=100")
            mine = [i for i in page["items"] if i["title"] == self.title]
            if not mine:
                return False
            incident = mine[0]
            self.incident_id = incident["id"]
        else:
            incident = await self.get(f"{API}/incidents/{self.incident_id}")
        # Every step action moves the version by one, so the version tells what happened.
        if incident["version"] <= self.version:
            return False
        if incident["version"] != self.version + 1:
            self.recorder.notes.append(
                f"{self.slug}: version {incident['version']} after {self.version}"
            )
        self.version = incident["version"]
        self.order_draft_id = incident.get("order_draft_id") or ""
        self.report_draft_id = incident.get("report_draft_id") or ""
        self.order_id = incident.get("order_id") or ""
        reports = await self.get(f"{API}/incidents/{self.incident_id}/field-reports")
        items = reports["items"] if isinstance(reports, dict) else reports
        by_time = sorted(items, key=lambda r: r.get("recorded_at") or "")
        self.field_report_ids = [r["id"] for r in by_time]
        return True
