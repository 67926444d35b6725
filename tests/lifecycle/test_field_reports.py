"""Step 8: field reports by the briefed members, early close, and attachments."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request

from app.core.config import get_settings
from app.core.errors import AppError, PayloadTooLarge, UnsupportedMediaType
from app.field_reports.upload import receive_file
from app.outbox.models import OutboxEvent
from tests.lifecycle.flow import Flow, field_report

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 2
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
GIF = b"GIF89a" + bytes(200)


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM + kind, body
    return body


def reports_url(flow: Flow) -> str:
    return f"/api/v1/incidents/{flow.incident_id}/field-reports"


def close_url(flow: Flow) -> str:
    return f"/api/v1/incidents/{flow.incident_id}/field-work/close"


def close_by_danru(flow: Flow) -> Any:
    return flow.client.post(
        close_url(flow),
        json={"reason": "Massa bubar, anggota2 ditarik ke pos lain"},
        headers=flow.as_("danru"),
    )


def submit(flow: Flow, member: str, **overrides: Any) -> Any:
    return flow.client.post(
        reports_url(flow), json=field_report(**overrides), headers=flow.as_(member)
    )


def events_of(engine: Engine, incident_id: str, kind: str) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxEvent.payload).where(
                OutboxEvent.incident_id == uuid.UUID(incident_id),  # type: ignore[arg-type]
                OutboxEvent.event_type == kind,  # type: ignore[arg-type]
            )
        ).scalars()
        return [row["data"] for row in rows]


@pytest.fixture
def at_step8(flow: Flow) -> Flow:
    flow.run_to(8)
    return flow


class TestSubmitRefusals:
    def test_anonymous_is_401(self, at_step8: Flow) -> None:
        flow = at_step8
        problem(flow.client.post(reports_url(flow), json=field_report()), 401, "unauthorized")

    @pytest.mark.parametrize("who", ["danru", "kasi", "camat"])
    def test_roles_without_the_scope_are_403(self, at_step8: Flow, who: str) -> None:
        problem(submit(at_step8, who), 403, "insufficient-scope")

    def test_a_member_not_briefed_is_403(self, at_step8: Flow) -> None:
        problem(submit(at_step8, "anggota3"), 403, "not-assigned")

    def test_another_kecamatan_is_404(self, at_step8: Flow) -> None:
        flow = at_step8
        response = flow.client.post(
            reports_url(flow), json=field_report(), headers=flow.auth("anggota1.cipondoh")
        )
        problem(response, 404, "not-found")

    def test_before_the_briefing_is_409(self, flow: Flow) -> None:
        flow.run_to(7)
        assert problem(submit(flow, "anggota1"), 409, "wrong-step")["current_step"] == 7

    def test_a_second_report_by_the_same_member_is_409(self, at_step8: Flow) -> None:
        flow = at_step8
        assert submit(flow, "anggota1").status_code == 201
        problem(submit(flow, "anggota1"), 409, "already-reported")
        assert len(events_of_list(flow)) == 1

    @pytest.mark.parametrize(
        "overrides",
        [
            {"ended_at": "2026-11-28T08:59:59+07:00"},  # before started_at
            {"started_at": "2026-11-28T09:00:00"},  # no offset
            {"situation": "aman"},
            {"actions_taken": ["pemantauan", "penangkapan"]},
            {"actions_taken": []},
            {"actions_taken": ["himbauan", "himbauan"]},
            {"crowd_estimate": -1},
            {"location": {"address": "Jl. X", "lat": 91}},
            {"casualties": [{"category": "peserta", "severity": "lecet", "count": 1}]},
            {"damage": [{"object": "Pagar", "owner_type": "negara"}]},
            {
                "handovers_to_police": [
                    {
                        "count": 2,
                        "handed_at": "2026-11-28T10:00:00+07:00",
                        "police_unit": "Polsek Ciledug",
                        "officer": "Bripka A",
                    }
                ]
            },
            {"unit_id": 1},
        ],
    )
    def test_bad_bodies_are_422(self, at_step8: Flow, overrides: dict[str, Any]) -> None:
        problem(submit(at_step8, "anggota1", **overrides), 422, "validation-error")

    def test_ended_in_the_future_is_422(self, at_step8: Flow) -> None:
        later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
        response = submit(
            at_step8, "anggota1", started_at="2026-11-28T09:00:00+07:00", ended_at=later
        )
        assert problem(response, 422, "validation-error")["field"] == "ended_at"


def events_of_list(flow: Flow) -> list[dict[str, Any]]:
    listed = flow.client.get(reports_url(flow), headers=flow.as_("danru"))
    assert listed.status_code == 200, listed.text
    return listed.json()


class TestSubmit:
    def test_step_completes_when_every_briefed_member_has_reported(
        self, at_step8: Flow, engine: Engine
    ) -> None:
        flow = at_step8
        full = field_report(
            situation="tegang",
            actions_taken=["pemantauan", "negosiasi", "dukungan_pembubaran"],
            casualties=[
                {
                    "category": "peserta",
                    "severity": "luka_ringan",
                    "count": 2,
                    "care": "P3K di lokasi",
                    "hospital": "RSUD Kota Tangerang",
                }
            ],
            damage=[
                {
                    "object": "Pagar kantor kecamatan",
                    "owner_type": "pemda",
                    "description": "Roboh sebagian",
                    "estimated_value_idr": 5_000_000,
                }
            ],
            handovers_to_police=[
                {
                    "count": 1,
                    "identities": ["Inisial AB"],
                    "handed_at": "2026-11-28T10:30:00+07:00",
                    "police_unit": "Polsek Ciledug",
                    "officer": "Bripka Andi",
                    "minutes_number": "BA/12/XI/2026",
                }
            ],
        )
        first = flow.client.post(reports_url(flow), json=full, headers=flow.as_("anggota1"))
        assert first.status_code == 201, first.text
        data = first.json()
        assert first.headers["Location"] == f"/api/v1/field-reports/{data['id']}"
        assert data["author_id"] == flow.uid("anggota1")
        assert data["situation"] == "tegang"
        assert data["damage"][0]["estimated_value_idr"] == 5_000_000
        assert data["handovers_to_police"][0]["minutes_number"] == "BA/12/XI/2026"
        assert datetime.fromisoformat(data["started_at"]) == datetime(2026, 11, 28, 2, tzinfo=UTC)
        assert len(data["content_sha256"]) == 64

        incident = flow.incident()
        assert incident["current_step"] == 8, "one of two members has reported"
        first_event = events_of(engine, flow.incident_id, "field_report.submitted")
        assert first_event[0]["field_report_id"] == data["id"]
        assert (first_event[0]["reports"], first_event[0]["members"]) == (1, 2)
        assert events_of(engine, flow.incident_id, "step.completed")[-1]["step"] == 7

        second = submit(flow, "anggota2")
        assert second.status_code == 201, second.text
        incident = flow.incident()
        assert incident["current_step"] == 9
        assert incident["waiting_on"] == "danru"
        assert len(events_of(engine, flow.incident_id, "field_report.submitted")) == 2
        completed = events_of(engine, flow.incident_id, "step.completed")[-1]
        assert (completed["step"], completed["next_step"]) == (8, 9)
        # Step 8 is over: nobody reports any more.
        problem(submit(flow, "anggota2"), 409, "wrong-step")

    def test_reports_are_read_by_the_unit_and_hidden_from_others(self, at_step8: Flow) -> None:
        flow = at_step8
        first = submit(flow, "anggota1").json()
        # The report as GET shows it: the action's answer adds the incident's new state.
        assert first.pop("incident")["current_step"] == 8
        listed = events_of_list(flow)
        assert [r["id"] for r in listed] == [first["id"]]
        one = f"/api/v1/field-reports/{first['id']}"
        for headers in (flow.as_("anggota2"), flow.as_("camat"), flow.auth("pimpinan")):
            got = flow.client.get(one, headers=headers)
            assert got.status_code == 200, got.text
            assert got.json() == first
        problem(flow.client.get(one), 401, "unauthorized")
        problem(flow.client.get(one, headers=flow.auth("anggota1.cipondoh")), 404, "not-found")
        problem(
            flow.client.get(f"/api/v1/field-reports/{uuid.uuid4()}", headers=flow.as_("camat")),
            404,
            "not-found",
        )
        problem(
            flow.client.get(reports_url(flow), headers=flow.auth("kasi.cipondoh")), 404, "not-found"
        )
        problem(flow.client.get(one, headers=flow.auth("admin")), 403, "insufficient-scope")

    def test_the_member_inbox_empties_once_reported(self, at_step8: Flow) -> None:
        flow = at_step8
        tasks = flow.client.get("/api/v1/tasks", headers=flow.as_("anggota1")).json()["items"]
        assert [t["incident_id"] for t in tasks] == [flow.incident_id]
        submit(flow, "anggota1")
        tasks = flow.client.get("/api/v1/tasks", headers=flow.as_("anggota1")).json()["items"]
        assert tasks == []


class TestCloseFieldWork:
    def test_refusals(self, flow: Flow) -> None:
        flow.run_to(7)
        reason = {"reason": "Massa bubar, anggota2 ditarik ke lokasi lain"}
        problem(flow.client.post(close_url(flow), json=reason), 401, "unauthorized")
        problem(
            flow.client.post(close_url(flow), json=reason, headers=flow.as_("danru")),
            409,
            "wrong-step",
        )
        flow.step7()
        for who in ("camat", "kasi", "anggota1"):
            problem(
                flow.client.post(close_url(flow), json=reason, headers=flow.as_(who)),
                403,
                "insufficient-scope",
            )
        problem(
            flow.client.post(close_url(flow), json=reason, headers=flow.auth("danru.cipondoh")),
            404,
            "not-found",
        )
        for bad in ({}, {"reason": ""}, {"reason": "ok"}, {"reason": "Selesai", "extra": 1}):
            problem(
                flow.client.post(close_url(flow), json=bad, headers=flow.as_("danru")),
                422,
                "validation-error",
            )
        assert flow.incident()["current_step"] == 8

    def test_no_close_before_any_member_reported(self, at_step8: Flow) -> None:
        # Step 9's report is compiled from field reports: with none, nobody could finish it.
        flow = at_step8
        before = flow.incident()
        detail = problem(close_by_danru(flow), 409, "no-field-reports")
        assert sorted(detail["not_reported"]) == sorted(
            [flow.uid("anggota1"), flow.uid("anggota2")]
        )
        after = flow.incident()
        assert (after["current_step"], after["version"]) == (8, before["version"])
        # One report is enough to close.
        submit(flow, "anggota1")
        response = close_by_danru(flow)
        assert response.status_code == 200, response.text

    def test_the_danru_closes_before_every_member_reported(self, at_step8: Flow) -> None:
        flow = at_step8
        submit(flow, "anggota1")
        response = close_by_danru(flow)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["current_step"] == 9
        assert data["reported"] == [flow.uid("anggota1")]
        assert data["not_reported"] == [flow.uid("anggota2")]
        assert flow.incident()["current_step"] == 9
        problem(submit(flow, "anggota2"), 409, "wrong-step")
        trail = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
        ).json()
        last = trail["events"][-1]
        assert last["action"] == "field_work_close"
        assert last["data"]["not_reported"] == [flow.uid("anggota2")]
        assert last["data"]["completed_run"]["step"] == 8


# -- attachments ------------------------------------------------------------------------------


def attach(
    flow: Flow,
    report_id: str,
    member: str = "anggota1",
    *,
    content: bytes = JPEG,
    name: str = "foto.jpg",
    declared: str = "image/jpeg",
    data: dict[str, str] | None = None,
) -> Any:
    return flow.client.post(
        f"/api/v1/field-reports/{report_id}/attachments",
        files={"file": (name, content, declared)},
        data=data or {},
        headers=flow.as_(member),
    )


@pytest.fixture
def reported(at_step8: Flow) -> tuple[Flow, str]:
    flow = at_step8
    response = submit(flow, "anggota1")
    assert response.status_code == 201, response.text
    return flow, response.json()["id"]


def incoming_files() -> list[Path]:
    incoming = get_settings().attachments_dir / ".incoming"
    return list(incoming.iterdir()) if incoming.exists() else []


class TestAttachmentRefusals:
    def test_anonymous_is_401(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        response = flow.client.post(
            f"/api/v1/field-reports/{report_id}/attachments",
            files={"file": ("foto.jpg", JPEG, "image/jpeg")},
        )
        problem(response, 401, "unauthorized")

    def test_only_the_author_may_attach(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        problem(attach(flow, report_id, "anggota2"), 403, "not-author")
        problem(attach(flow, report_id, "danru"), 403, "insufficient-scope")

    def test_another_kecamatan_is_404(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        response = flow.client.post(
            f"/api/v1/field-reports/{report_id}/attachments",
            files={"file": ("foto.jpg", JPEG, "image/jpeg")},
            headers=flow.auth("anggota1.cipondoh"),
        )
        problem(response, 404, "not-found")
        problem(attach(flow, str(uuid.uuid4())), 404, "not-found")

    def test_content_is_judged_by_its_magic_bytes(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        detail = problem(attach(flow, report_id, content=GIF), 415, "unsupported-media-type")
        assert set(detail["accepted"]) == {"image/jpeg", "image/png", "application/pdf"}
        text = b"<html><script>alert(1)</script></html>"
        problem(
            attach(flow, report_id, content=text, name="x.pdf", declared="application/pdf"),
            415,
            "unsupported-media-type",
        )
        response = flow.client.post(
            f"/api/v1/field-reports/{report_id}/attachments",
            json={"file": "base64"},
            headers=flow.as_("anggota1"),
        )
        problem(response, 415, "unsupported-media-type")
        assert incoming_files() == []

    def test_too_big_is_413_and_nothing_is_kept(
        self, reported: tuple[Flow, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        flow, report_id = reported
        monkeypatch.setattr(get_settings(), "attachment_max_bytes", 2048)
        exact = JPEG[:3] + bytes(2045)
        assert attach(flow, report_id, content=exact).status_code == 201
        detail = problem(attach(flow, report_id, content=exact + b"\x00"), 413, "payload-too-large")
        assert detail["max_bytes"] == 2048
        # Refused from the Content-Length alone, before any byte is read.
        problem(
            attach(flow, report_id, content=JPEG[:3] + bytes(200_000)), 413, "payload-too-large"
        )
        assert incoming_files() == []
        listed = flow.client.get(
            f"/api/v1/field-reports/{report_id}/attachments", headers=flow.as_("anggota1")
        ).json()
        assert len(listed) == 1

    def test_the_number_per_report_is_limited(
        self, reported: tuple[Flow, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        flow, report_id = reported
        monkeypatch.setattr(get_settings(), "attachments_per_report", 2)
        assert attach(flow, report_id).status_code == 201
        assert attach(flow, report_id, content=PNG, name="b.png").status_code == 201
        detail = problem(
            attach(flow, report_id, content=PDF, name="c.pdf"), 409, "attachment-limit"
        )
        assert detail["limit"] == 2

    @pytest.mark.parametrize(
        "case", ["no-file", "text-file-field", "empty", "long-caption", "unknown-field", "two"]
    )
    def test_malformed_forms_are_422(self, reported: tuple[Flow, str], case: str) -> None:
        flow, report_id = reported
        target = f"/api/v1/field-reports/{report_id}/attachments"
        headers = flow.as_("anggota1")
        files: Any
        if case == "no-file":
            response = flow.client.post(
                target, files={"caption": (None, "tanpa berkas")}, headers=headers
            )
        elif case == "text-file-field":
            response = flow.client.post(
                target, files={"file": (None, "bukan berkas")}, headers=headers
            )
        elif case == "empty":
            response = attach(flow, report_id, content=b"")
        elif case == "long-caption":
            response = attach(flow, report_id, data={"caption": "x" * 501})
        elif case == "unknown-field":
            response = attach(flow, report_id, data={"taken_by": "saya"})
        else:
            files = [("file", ("a.jpg", JPEG, "image/jpeg")), ("file", ("b.png", PNG, "image/png"))]
            response = flow.client.post(target, files=files, headers=headers)
        problem(response, 422, "validation-error")
        assert incoming_files() == []

    def test_a_broken_multipart_body_is_400(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        response = flow.client.post(
            f"/api/v1/field-reports/{report_id}/attachments",
            content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"'
            b"\r\n\r\n\xff\xd8\xff\xe0 cut short",
            headers={**flow.as_("anggota1"), "Content-Type": "multipart/form-data; boundary=b"},
        )
        problem(response, 400, "bad-request")
        assert incoming_files() == []

    def test_no_attachment_once_the_incident_is_closed(self, flow: Flow) -> None:
        flow.run_to(12)
        report_id = flow.field_report_ids[0]
        detail = problem(attach(flow, report_id), 409, "incident-closed")
        assert detail["status"] == 409


class TestAttachments:
    def test_upload_list_and_download(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        version = flow.incident()["version"]
        # The declared type and the name are ignored: the bytes are a PNG.
        response = attach(
            flow,
            report_id,
            content=PNG,
            name="../../etc/passwd",
            declared="application/octet-stream",
            data={"caption": "  Massa di depan gerbang  "},
        )
        assert response.status_code == 201, response.text
        data = response.json()
        sha = hashlib.sha256(PNG).hexdigest()
        assert data["content_type"] == "image/png"
        assert data["sha256"] == sha
        assert data["size"] == len(PNG)
        # The extension of what the bytes are is added.
        assert data["filename"] == "passwd.png"
        assert data["caption"] == "Massa di depan gerbang"
        assert data["uploaded_by"] == flow.uid("anggota1")
        assert response.headers["Location"] == f"/api/v1/attachments/{data['id']}/content"
        stored = get_settings().attachments_dir / sha[:2] / sha
        assert stored.read_bytes() == PNG

        pdf = attach(flow, report_id, content=PDF, name="berita-acara.pdf").json()
        jpeg = attach(flow, report_id, content=JPEG, name="foto.jpeg").json()
        assert (pdf["content_type"], jpeg["content_type"]) == ("application/pdf", "image/jpeg")

        listed = flow.client.get(
            f"/api/v1/field-reports/{report_id}/attachments", headers=flow.auth("pimpinan")
        )
        assert listed.status_code == 200
        assert [a["id"] for a in listed.json()] == [data["id"], pdf["id"], jpeg["id"]]

        download = flow.client.get(
            f"/api/v1/attachments/{pdf['id']}/content", headers=flow.as_("danru")
        )
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["etag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "berita-acara.pdf" in download.headers["content-disposition"]

        # Not a step transition: the incident's version does not move, but the trail has it.
        incident = flow.incident()
        assert (incident["version"], incident["current_step"]) == (version, 8)
        trail = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
        ).json()
        added = [e for e in trail["events"] if e["action"] == "attachment_add"]
        assert [e["data"]["document"]["id"] for e in added] == [data["id"], pdf["id"], jpeg["id"]]
        assert trail["chain_valid"] is True

    @pytest.mark.parametrize(
        ("name", "stored"),
        [
            ("\u202egnp.exe", "gnp.pdf"),
            ("foto\u200b\u200d.pdf", "foto.pdf"),
            ("laporan\u2066\u2069\ufeff\u00ad.pdf", "laporan.pdf"),
            ("berita\u2028acara.pdf", "beritaacara.pdf"),
            ("x.html", "x.pdf"),
            ("scan", "scan.pdf"),
            ("SCAN.PDF", "SCAN.PDF"),
        ],
        ids=[
            "bidi-override",
            "zero-width",
            "isolates-bom-soft-hyphen",
            "line-separator",
            "wrong-extension",
            "no-extension",
            "upper-case-extension",
        ],
    )
    def test_names_lose_invisible_characters_and_take_the_type_extension(
        self, reported: tuple[Flow, str], name: str, stored: str
    ) -> None:
        flow, report_id = reported
        created = attach(flow, report_id, content=PDF, name=name, declared="text/html")
        assert created.status_code == 201, created.text
        assert created.json()["filename"] == stored
        download = flow.client.get(
            f"/api/v1/attachments/{created.json()['id']}/content", headers=flow.as_("danru")
        )
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == f'attachment; filename="{stored}"'

    def test_a_download_is_never_stored_by_a_cache(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        created = attach(flow, report_id, content=JPEG).json()
        download = flow.client.get(
            f"/api/v1/attachments/{created['id']}/content", headers=flow.as_("danru")
        )
        assert download.status_code == 200
        assert download.headers["cache-control"] == "no-store"
        assert download.headers["etag"] == f'"{hashlib.sha256(JPEG).hexdigest()}"'

    def test_reading_attachments_is_limited_to_the_unit(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        created = attach(flow, report_id).json()
        content = f"/api/v1/attachments/{created['id']}/content"
        listing = f"/api/v1/field-reports/{report_id}/attachments"
        problem(flow.client.get(content), 401, "unauthorized")
        problem(flow.client.get(listing), 401, "unauthorized")
        problem(flow.client.get(content, headers=flow.auth("anggota1.cipondoh")), 404, "not-found")
        problem(flow.client.get(listing, headers=flow.auth("camat.cipondoh")), 404, "not-found")
        problem(
            flow.client.get(
                f"/api/v1/attachments/{uuid.uuid4()}/content", headers=flow.as_("camat")
            ),
            404,
            "not-found",
        )
        problem(flow.client.get(content, headers=flow.auth("admin")), 403, "insufficient-scope")
        assert flow.client.get(content, headers=flow.auth("pimpinan")).content == JPEG

    def test_identical_files_are_stored_once(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        root = get_settings().attachments_dir

        def stored() -> list[str]:
            # Issued documents share the store: what counts is that nothing is added.
            return sorted(
                str(p) for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts
            )

        first = attach(flow, report_id).json()
        before = stored()
        second = attach(flow, report_id, name="lagi.jpg").json()
        assert first["id"] != second["id"]
        assert first["sha256"] == second["sha256"]
        assert stored() == before
        assert str(root / first["sha256"][:2] / first["sha256"]) in before

    def test_a_file_missing_from_storage_is_reported(self, reported: tuple[Flow, str]) -> None:
        flow, report_id = reported
        content = PDF + b"% unique to this test\n"
        created = attach(flow, report_id, content=content, name="hilang.pdf").json()
        sha = created["sha256"]
        (get_settings().attachments_dir / sha[:2] / sha).unlink()
        response = flow.client.get(
            f"/api/v1/attachments/{created['id']}/content", headers=flow.as_("camat")
        )
        problem(response, 500, "content-missing")


class TestStreaming:
    """The upload is refused while it arrives: the rest of the body is never read."""

    HEAD = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'

    def receive(self, chunks: list[bytes], tmp_path: Path, max_bytes: int) -> tuple[Any, int]:
        consumed = 0
        pending = iter(chunks)

        async def receive() -> dict[str, Any]:
            nonlocal consumed
            chunk = next(pending, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            consumed += 1
            return {"type": "http.request", "body": chunk, "more_body": True}

        # No Content-Length: a chunked upload can only be judged as it streams.
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": [(b"content-type", b"multipart/form-data; boundary=b")],
        }

        async def run() -> Any:
            try:
                return await receive_file(
                    Request(scope, receive), max_bytes=max_bytes, temp_dir=tmp_path
                )
            except AppError as exc:
                return exc

        return anyio.run(run), consumed

    def test_stops_reading_once_the_limit_is_passed(self, tmp_path: Path) -> None:
        chunks = [self.HEAD, JPEG[:1024]] + [bytes(1024)] * 100 + [b"\r\n--b--\r\n"]
        result, consumed = self.receive(chunks, tmp_path, max_bytes=4096)
        assert isinstance(result, PayloadTooLarge)
        assert consumed <= 7 < len(chunks)
        assert list(tmp_path.iterdir()) == []

    def test_stops_reading_at_wrong_magic_bytes(self, tmp_path: Path) -> None:
        chunks = [self.HEAD, GIF] + [bytes(1024)] * 100 + [b"\r\n--b--\r\n"]
        result, consumed = self.receive(chunks, tmp_path, max_bytes=1 << 20)
        assert isinstance(result, UnsupportedMediaType)
        assert consumed == 2
        assert list(tmp_path.iterdir()) == []

    def test_a_good_stream_is_kept_with_its_hash(self, tmp_path: Path) -> None:
        chunks = [self.HEAD, PNG[:10], PNG[10:], b"\r\n--b--\r\n"]
        result, _ = self.receive(chunks, tmp_path, max_bytes=1 << 20)
        assert (result.content_type, result.size) == ("image/png", len(PNG))
        assert result.sha256 == hashlib.sha256(PNG).hexdigest()
        assert result.path.read_bytes() == PNG
        result.discard()
        assert list(tmp_path.iterdir()) == []
