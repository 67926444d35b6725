"""Drive an incident through the SOP over HTTP, as the demo users of one kecamatan would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests.lifecycle.sop import ROLE_USER

INCIDENT = {
    "kind": "unjuk_rasa",
    "title": "Unjuk rasa buruh di depan kantor kecamatan",
    "location": {
        "address": "Jl. HOS Cokroaminoto No. 1",
        "kelurahan": "Sudimara Timur",
        "lat": -6.2297,
        "lon": 106.7108,
    },
    "organizer": {
        "name": "Budi Santoso",
        "organization": "Serikat Pekerja",
        "contact": "081234567890",
    },
    "estimated_crowd": 250,
    "demands": ["Kenaikan upah minimum"],
    "police_notified": True,
    "police_receipt_number": "STTP/123/XI/2026",
    "escalation_level": "hijau",
}

WALIKOTA_ORDER = {
    "kind": "walikota",
    "number": "300.1.2.1/123/Trantib/2026",
    "issued_on": "2026-11-28",
    "issuer": "Wali Kota Tangerang",
    "police_coordination": {
        "officer": "AKP Rahmat",
        "police_unit": "Polsek Ciledug",
        "contacted_at": "2026-11-28T08:30:00+07:00",
    },
}

ORDER_DRAFT = {
    "kind": "order",
    "plan": {
        "summary": "Pengamanan unjuk rasa di depan kantor kecamatan",
        "personnel_count": 12,
        "assembly_point": "Halaman kantor kecamatan",
        "tasks": ["Pengamanan objek"],
        "equipment": ["HT", "Tameng"],
        "coordination": ["Polsek Ciledug"],
    },
    "letter": {
        "dasar": [
            "Perda Kota Tangerang Nomor 8 Tahun 2018",
            "Surat Perintah Walikota Nomor 300.1.2.1/123/Trantib/2026",
        ],
        "kepada": [{"nama": "Danru Ciledug", "jabatan": "Komandan Regu"}],
        "untuk": ["Melaksanakan pengamanan unjuk rasa", "Melaporkan hasil pelaksanaan"],
        "penandatangan": {"jabatan": "CAMAT CILEDUG", "nama": "Camat Ciledug"},
        "tembusan": ["Wali Kota Tangerang", "Kapolsek Ciledug"],
    },
}

EQUIPMENT = {
    "seragam": {"count": 12},
    "alat_penertiban": {"count": 6, "notes": "tameng dan tongkat"},
    "kendaraan": {"count": 2, "notes": "B 1234 XYZ, B 5678 XYZ"},
    "perlengkapan": {"available": True, "notes": "HT, P3K"},
}


def field_report(**overrides: Any) -> dict[str, Any]:
    body = {
        "started_at": "2026-11-28T09:00:00+07:00",
        "ended_at": "2026-11-28T11:00:00+07:00",
        "location": {"address": "Depan kantor Kecamatan Ciledug"},
        "crowd_estimate": 200,
        "situation": "kondusif",
        "actions_taken": ["pemantauan", "pengamanan_objek"],
        "notes": "Massa membubarkan diri dengan tertib",
    }
    body.update(overrides)
    return body


def report_draft(field_report_ids: list[str]) -> dict[str, Any]:
    return {
        "kind": "report",
        "summary": "Unjuk rasa berjalan tertib dan kondusif.",
        "field_report_ids": field_report_ids,
        "final_situation": "kondusif",
    }


@dataclass
class Flow:
    """One incident in one kecamatan, moved step by step by its demo users."""

    client: TestClient
    auth: Callable[[str], dict[str, str]]
    user_id: Callable[[str], str]
    slug: str = "ciledug"
    incident_id: str = ""
    draft_id: str = ""
    order_id: str = ""
    report_draft_id: str = ""
    field_report_ids: list[str] = field(default_factory=list)
    # Who takes a demo user's actions instead (a deputy): {"camat": "danru2"}.
    stand_in: dict[str, str] = field(default_factory=dict)
    _definitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_(self, prefix: str) -> dict[str, str]:
        return self.auth(f"{self.stand_in.get(prefix, prefix)}.{self.slug}")

    def uid(self, prefix: str) -> str:
        return self.user_id(f"{prefix}.{self.slug}")

    def ok(self, response: Any, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return response.json()

    def incident(self) -> dict[str, Any]:
        return self.ok(
            self.client.get(f"/api/v1/incidents/{self.incident_id}", headers=self.as_("camat")), 200
        )

    def create(self, **overrides: Any) -> dict[str, Any]:
        body = {**INCIDENT, **overrides}
        data = self.ok(
            self.client.post("/api/v1/incidents", json=body, headers=self.as_("kasi")), 201
        )
        self.incident_id = data["id"]
        return data

    def step1(self, **overrides: Any) -> dict[str, Any]:
        return self.ok(
            self.client.post(
                f"/api/v1/incidents/{self.incident_id}/orders",
                json={**WALIKOTA_ORDER, "number": f"WK/{self.incident_id[:8]}", **overrides},
                headers=self.as_("camat"),
            ),
            201,
        )

    def step2(self) -> dict[str, Any]:
        return self.ok(
            self.client.post(
                f"/api/v1/incidents/{self.incident_id}/instructions",
                json={"danru_id": self.uid("danru"), "note": "Siapkan rencana"},
                headers=self.as_("kasi"),
            ),
            201,
        )

    def step3(self) -> dict[str, Any]:
        if not self.draft_id:
            data = self.ok(
                self.client.post(
                    f"/api/v1/incidents/{self.incident_id}/drafts",
                    json=ORDER_DRAFT,
                    headers=self.as_("danru"),
                ),
                201,
            )
            self.draft_id = data["id"]
        return self.ok(
            self.client.post(f"/api/v1/drafts/{self.draft_id}/submit", headers=self.as_("danru")),
            200,
        )

    def verify(
        self,
        who: str,
        decision: str = "approve",
        note: str | None = None,
        draft_id: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"decision": decision}
        if note:
            body["note"] = note
        return self.ok(
            self.client.post(
                f"/api/v1/drafts/{draft_id or self.draft_id}/verifications",
                json=body,
                headers=self.as_(who),
            ),
            201,
        )

    def step4(self) -> None:
        for who in ("kasi", "sekcam", "camat"):
            self.verify(who)

    def step5(self) -> dict[str, Any]:
        data = self.ok(
            self.client.post(
                f"/api/v1/incidents/{self.incident_id}/orders",
                json={"kind": "surat_perintah", "draft_id": self.draft_id},
                headers=self.as_("camat"),
            ),
            201,
        )
        self.order_id = data["id"]
        return data

    def step6(self) -> dict[str, Any]:
        return self.ok(
            self.client.post(
                f"/api/v1/orders/{self.order_id}/dispatch",
                json={"danru_id": self.uid("danru"), "note": "Laksanakan"},
                headers=self.as_("kasi"),
            ),
            200,
        )

    def step7(self, members: tuple[str, ...] = ("anggota1", "anggota2")) -> dict[str, Any]:
        return self.ok(
            self.client.post(
                f"/api/v1/incidents/{self.incident_id}/briefings",
                json={
                    "members": [self.uid(m) for m in members],
                    "equipment": EQUIPMENT,
                    "note": "Apel pagi",
                },
                headers=self.as_("danru"),
            ),
            201,
        )

    def step8(self, members: tuple[str, ...] = ("anggota1", "anggota2")) -> None:
        for member in members:
            data = self.ok(
                self.client.post(
                    f"/api/v1/incidents/{self.incident_id}/field-reports",
                    json=field_report(),
                    headers=self.as_(member),
                ),
                201,
            )
            self.field_report_ids.append(data["id"])

    def step9(self) -> dict[str, Any]:
        if not self.report_draft_id:
            data = self.ok(
                self.client.post(
                    f"/api/v1/incidents/{self.incident_id}/drafts",
                    json=report_draft(self.field_report_ids),
                    headers=self.as_("danru"),
                ),
                201,
            )
            self.report_draft_id = data["id"]
        return self.ok(
            self.client.post(
                f"/api/v1/drafts/{self.report_draft_id}/submit", headers=self.as_("danru")
            ),
            200,
        )

    def step10(self) -> dict[str, Any]:
        return self.verify("kasi", draft_id=self.report_draft_id)

    def step11(self) -> dict[str, Any]:
        return self.ok(
            self.client.post(
                f"/api/v1/incidents/{self.incident_id}/archive-records",
                json={"classification_code": "300.1.2.1", "retention_years": 5},
                headers=self.as_("kasi"),
            ),
            201,
        )

    def step_record(self, who: str = "kasi") -> dict[str, Any]:
        return self.ok(
            self.client.post(
                f"/api/v1/incidents/{self.incident_id}/step-records",
                json={
                    "note": "Koordinasi pengamanan bersama dengan Polsek",
                    "contacts": [{"name": "AKP Rahmat", "organization": "Polsek Ciledug"}],
                },
                headers=self.as_(who),
            ),
            201,
        )

    def definition(self, version: str) -> dict[str, Any]:
        """The incident's SOP version, as the API serves it."""
        if version not in self._definitions:
            self._definitions[version] = self.ok(
                self.client.get(f"/api/v1/sop/versions/{version}", headers=self.as_("kasi")),
                200,
            )
        return self._definitions[version]

    def complete_step(self) -> None:
        """Take the action that completes the step the incident is at, by its definition:
        every stage of a verifying step in turn, every briefed member at the field work."""
        incident = self.incident()
        sop = self.definition(incident["sop_version"])
        step = sop["steps"][incident["current_step"] - 1]
        action = step["completes_with"][0]
        if action == "verify":
            draft = self.draft_id if step["draft"] == "order" else self.report_draft_id
            stages = step["stages"]
            for stage in stages[stages.index(incident["stage"]) :]:
                role = next(r["role"] for r in step["rules"] if r["stage"] == stage)
                self.verify(ROLE_USER[role], draft_id=draft)
            return
        if action == "draft_submit":
            (self.step3 if step["draft"] == "order" else self.step9)()
            return
        if action == "step_record":
            self.step_record(ROLE_USER[step["actors"][0]])
            return
        by_action = {
            "order_walikota": self.step1,
            "instruct": self.step2,
            "order_validate": self.step5,
            "order_dispatch": self.step6,
            "briefing": self.step7,
            "field_report": self.step8,
            "archive": self.step11,
        }
        by_action[action]()

    def run_to(self, step: int) -> None:
        """Create the incident and complete every step before `step`, by the incident's own
        SOP version."""
        if not self.incident_id:
            self.create()
        while True:
            incident = self.incident()
            if incident["status"] != "active" or incident["current_step"] >= step:
                return
            self.complete_step()
