"""Step 11: the Kasi Trantib archives the Laporan Pelaksanaan; the record never changes."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.audit.service import sha256_of
from app.core import clock
from app.core.config import get_settings
from app.outbox.models import OutboxEvent
from tests.lifecycle.flow import INCIDENT, Flow

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"archive-test-photo" * 20
BODY = {"classification_code": "300.1.2.1", "retention_years": 5}


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM + kind, body
    return body


def cipondoh(flow_for: Any) -> Flow:
    other: Flow = flow_for("cipondoh")
    other.create(location={**INCIDENT["location"], "kelurahan": "Petir"})
    return other


def archive_url(flow: Flow) -> str:
    return f"/api/v1/incidents/{flow.incident_id}/archive-records"


def ready(flow: Flow, photo: bytes = PHOTO) -> dict[str, Any]:
    """Steps 1-10 done, with one photo on the first field report; returns the attachment."""
    flow.run_to(9)
    attachment = flow.client.post(
        f"/api/v1/field-reports/{flow.field_report_ids[0]}/attachments",
        files={"file": ("gerbang.jpg", photo, "image/jpeg")},
        data={"caption": "Massa di gerbang"},
        headers=flow.as_("anggota1"),
    )
    assert attachment.status_code == 201, attachment.text
    flow.step9()
    flow.step10()
    assert flow.incident()["current_step"] == 11
    return attachment.json()


@pytest.fixture
def at_step11(flow: Flow) -> Flow:
    ready(flow)
    return flow


@pytest.fixture
def archived(at_step11: Flow) -> tuple[Flow, dict[str, Any]]:
    record = at_step11.step11()
    # The record as GET shows it: the action's answer adds the incident's new state.
    assert record.pop("incident")["status"] == "closed"
    return at_step11, record


class TestCreateRefusals:
    def test_anonymous_is_401(self, at_step11: Flow) -> None:
        flow = at_step11
        problem(flow.client.post(archive_url(flow), json=BODY), 401, "unauthorized")

    @pytest.mark.parametrize("who", ["camat", "sekcam", "danru", "anggota1"])
    def test_other_roles_are_403(self, at_step11: Flow, who: str) -> None:
        flow = at_step11
        response = flow.client.post(archive_url(flow), json=BODY, headers=flow.as_(who))
        problem(response, 403, "insufficient-scope")
        problem(
            flow.client.post(archive_url(flow), json=BODY, headers=flow.auth("pimpinan")),
            403,
            "insufficient-scope",
        )

    def test_another_kecamatan_is_404(self, at_step11: Flow) -> None:
        flow = at_step11
        response = flow.client.post(
            archive_url(flow), json=BODY, headers=flow.auth("kasi.cipondoh")
        )
        problem(response, 404, "not-found")

    def test_before_the_report_is_approved_is_409(self, flow: Flow) -> None:
        flow.run_to(10)
        response = flow.client.post(archive_url(flow), json=BODY, headers=flow.as_("kasi"))
        assert problem(response, 409, "wrong-step")["current_step"] == 10

    @pytest.mark.parametrize(
        "body",
        [
            {"retention_years": 0},
            {"retention_years": 101},
            {},
            {"retention_years": 5, "classification_code": "300.1.x"},
            {"retention_years": 5, "classification_code": "300..1"},
            {"retention_years": 5, "classification_code": ""},
            {"retention_years": 5, "security_class": "umum"},
            {"retention_years": 5, "archive_number": "1/2/3"},
        ],
    )
    def test_bad_bodies_are_422(self, at_step11: Flow, body: dict[str, Any]) -> None:
        flow = at_step11
        response = flow.client.post(archive_url(flow), json=body, headers=flow.as_("kasi"))
        problem(response, 422, "validation-error")
        assert flow.incident()["status"] == "active"


class TestCreate:
    def test_the_record_lists_and_hashes_every_document(self, flow: Flow, engine: Engine) -> None:
        attachment = ready(flow)
        response = flow.client.post(
            archive_url(flow),
            json={"retention_years": 5, "note": "Berkas lengkap"},
            headers=flow.as_("kasi"),
        )
        assert response.status_code == 201, response.text
        record = response.json()
        assert response.headers["Location"] == f"/api/v1/archive-records/{record['id']}"
        year = datetime.now(clock.WIB).year
        assert record["archive_number"] == f"300.1.2.1/0001/36.71.06/{year}"
        assert record["classification_code"] == "300.1.2.1"
        assert record["security_class"] == "terbatas"
        assert record["retention_years"] == 5
        assert record["creator"] == "Kecamatan Ciledug"
        assert record["note"] == "Berkas lengkap"
        assert flow.incident_id == record["incident_id"]
        incident = flow.incident()
        assert datetime.fromisoformat(record["period_start"]) == datetime.fromisoformat(
            incident["reported_at"]
        )
        assert incident["status"] == "closed"
        assert incident["current_step"] is None or incident["current_step"] == 11
        assert incident["title"] in record["title"]
        assert incident["register_number"] in record["description"]

        manifest = record["manifest"]
        kinds = [entry["type"] for entry in manifest]
        assert kinds == [
            "surat_perintah_walikota",
            "instruction",
            "draft_version",
            "verification",
            "verification",
            "verification",
            "surat_perintah",
            # The issued PDFs, each after the record it was issued from.
            "issued_document",
            "briefing",
            "field_report",
            "field_report",
            "attachment",
            "draft_version",
            "verification",
            "laporan_pelaksanaan",
            "issued_document",
        ]
        assert all(len(entry["sha256"]) == 64 and entry["title"] for entry in manifest)
        photo = next(e for e in manifest if e["type"] == "attachment")
        assert photo["id"] == attachment["id"]
        assert photo["sha256"] == hashlib.sha256(PHOTO).hexdigest() == attachment["sha256"]
        reports = [e["id"] for e in manifest if e["type"] == "field_report"]
        assert reports == flow.field_report_ids
        report = manifest[-2]
        assert (report["id"], report["version"]) == (manifest[-4]["id"], 1)
        assert record["manifest_sha256"] == sha256_of(manifest)

        with Session(engine) as session:
            archived = (
                session.execute(
                    select(OutboxEvent.payload).where(
                        OutboxEvent.event_type == "incident.archived"  # type: ignore[arg-type]
                    )
                )
                .scalars()
                .all()
            )
        assert [e["data"]["archive_number"] for e in archived] == [record["archive_number"]]

        trail = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/events", headers=flow.as_("camat")
        ).json()
        assert trail["events"][-1]["action"] == "archive"
        assert trail["events"][-1]["data"]["manifest_sha256"] == record["manifest_sha256"]
        assert trail["chain_valid"] is True

    def test_archiving_twice_is_409(self, archived: tuple[Flow, dict[str, Any]]) -> None:
        flow, _ = archived
        response = flow.client.post(archive_url(flow), json=BODY, headers=flow.as_("kasi"))
        problem(response, 409, "incident-closed")

    def test_numbers_run_per_kecamatan_and_year(
        self, archived: tuple[Flow, dict[str, Any]], flow_for: Any
    ) -> None:
        first_flow, first = archived
        other = cipondoh(flow_for)
        ready(other, photo=PHOTO + b"cipondoh")
        other_record = other.client.post(
            archive_url(other),
            json={
                "classification_code": "200.1.3.4",
                "retention_years": 10,
                "security_class": "rahasia",
            },
            headers=other.as_("kasi"),
        ).json()
        year = datetime.now(clock.WIB).year
        assert other_record["archive_number"] == f"200.1.3.4/0001/36.71.05/{year}"
        assert other_record["security_class"] == "rahasia"
        second = Flow(first_flow.client, first_flow.auth, first_flow.user_id)
        ready(second, photo=PHOTO + b"second")
        record = second.step11()
        assert record["archive_number"] == f"300.1.2.1/0002/36.71.06/{year}"
        assert record["id"] != first["id"]

    def test_a_tampered_file_is_refused_before_archiving(self, at_step11: Flow) -> None:
        flow = at_step11
        sha = hashlib.sha256(PHOTO).hexdigest()
        (get_settings().attachments_dir / sha[:2] / sha).write_bytes(PHOTO + b"edited")
        response = flow.client.post(archive_url(flow), json=BODY, headers=flow.as_("kasi"))
        detail = problem(response, 409, "stored-file-mismatch")
        assert detail["expected"] == sha
        assert flow.incident()["status"] == "active"


class TestRead:
    def test_list_filters_and_visibility(
        self, archived: tuple[Flow, dict[str, Any]], flow_for: Any
    ) -> None:
        flow, record = archived
        other = cipondoh(flow_for)
        ready(other, photo=PHOTO + b"other")
        other_record = other.client.post(
            archive_url(other),
            json={"classification_code": "200.1.3.4", "retention_years": 10},
            headers=other.as_("kasi"),
        ).json()
        url = "/api/v1/archive-records"

        def ids(headers: dict[str, str], **params: Any) -> list[str]:
            response = flow.client.get(url, params=params, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            assert page["total"] == len(page["items"])
            return [item["id"] for item in page["items"]]

        assert ids(flow.as_("kasi")) == [record["id"]]
        assert ids(flow.as_("camat")) == [record["id"]]
        assert ids(flow.auth("camat.cipondoh")) == [other_record["id"]]
        pimpinan = flow.auth("pimpinan")
        assert ids(pimpinan) == [other_record["id"], record["id"]]
        assert ids(pimpinan, unit="ciledug") == [record["id"]]
        assert ids(pimpinan, unit="36.71.05") == [other_record["id"]]
        assert ids(pimpinan, unit="atlantis") == []
        assert ids(pimpinan, classification="300.1") == [record["id"]]
        assert ids(pimpinan, classification="300.1.2.1") == [record["id"]]
        assert ids(pimpinan, classification="300.12") == []
        assert ids(pimpinan, classification="200") == [other_record["id"]]
        later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        assert ids(pimpinan, **{"from": later}) == []
        assert len(ids(pimpinan, **{"from": earlier, "to": later})) == 2
        page = flow.client.get(url, params={"limit": 1, "offset": 1}, headers=pimpinan).json()
        assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
        assert [i["id"] for i in page["items"]] == [record["id"]]

        problem(flow.client.get(url), 401, "unauthorized")
        problem(flow.client.get(url, headers=flow.as_("anggota1")), 403, "insufficient-scope")
        problem(
            flow.client.get(url, params={"classification": "abc"}, headers=pimpinan),
            422,
            "validation-error",
        )
        problem(
            flow.client.get(url, params={"from": "2026-11-28T00:00:00"}, headers=pimpinan),
            422,
            "validation-error",
        )

    def test_get_one(self, archived: tuple[Flow, dict[str, Any]]) -> None:
        flow, record = archived
        one = f"/api/v1/archive-records/{record['id']}"
        for headers in (flow.as_("kasi"), flow.as_("sekcam"), flow.auth("pimpinan")):
            response = flow.client.get(one, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json() == record
        problem(flow.client.get(one), 401, "unauthorized")
        problem(flow.client.get(one, headers=flow.as_("anggota1")), 403, "insufficient-scope")
        problem(flow.client.get(one, headers=flow.auth("kasi.cipondoh")), 404, "not-found")
        problem(
            flow.client.get(f"/api/v1/archive-records/{uuid.uuid4()}", headers=flow.as_("kasi")),
            404,
            "not-found",
        )


class TestVerify:
    def test_an_untouched_record_is_valid(self, archived: tuple[Flow, dict[str, Any]]) -> None:
        flow, record = archived
        verify = f"/api/v1/archive-records/{record['id']}/verify"
        response = flow.client.post(verify, headers=flow.auth("pimpinan"))
        assert response.status_code == 200, response.text
        result = response.json()
        assert datetime.fromisoformat(result.pop("checked_at")).utcoffset() is not None
        assert result == {
            "valid": True,
            "checked": len(record["manifest"]),
            "mismatches": [],
        }
        problem(flow.client.post(verify), 401, "unauthorized")
        problem(flow.client.post(verify, headers=flow.as_("anggota1")), 403, "insufficient-scope")
        problem(flow.client.post(verify, headers=flow.auth("camat.cipondoh")), 404, "not-found")

    def test_changed_rows_and_files_are_named(
        self, archived: tuple[Flow, dict[str, Any]], engine: Engine
    ) -> None:
        flow, record = archived
        report_id = flow.field_report_ids[1]
        photo = next(e for e in record["manifest"] if e["type"] == "attachment")
        sha = photo["sha256"]
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE field_reports SET situation = 'ricuh' WHERE id = :id"),
                {
                    "id": report_id
                    if engine.dialect.name == "postgresql"
                    else uuid.UUID(report_id).hex
                },
            )
            conn.execute(
                text("UPDATE attachments SET caption = 'diganti' WHERE id = :id"),
                {
                    "id": photo["id"]
                    if engine.dialect.name == "postgresql"
                    else uuid.UUID(photo["id"]).hex
                },
            )
        (get_settings().attachments_dir / sha[:2] / sha).write_bytes(PHOTO + b"edited")
        response = flow.client.post(
            f"/api/v1/archive-records/{record['id']}/verify", headers=flow.as_("kasi")
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["valid"] is False
        assert result["checked"] == len(record["manifest"])
        found = {(m["type"], m["id"], m["part"]): m for m in result["mismatches"]}
        assert set(found) == {
            ("field_report", report_id, "content"),
            ("attachment", photo["id"], "content"),
            ("attachment", photo["id"], "record"),
        }
        assert found[("attachment", photo["id"], "content")]["expected"] == sha
        assert (
            found[("attachment", photo["id"], "content")]["actual"]
            == hashlib.sha256(PHOTO + b"edited").hexdigest()
        )
        original = next(e for e in record["manifest"] if e["id"] == report_id)
        assert found[("field_report", report_id, "content")]["expected"] == original["sha256"]

    def test_a_missing_file_is_named(self, archived: tuple[Flow, dict[str, Any]]) -> None:
        flow, record = archived
        photo = next(e for e in record["manifest"] if e["type"] == "attachment")
        (get_settings().attachments_dir / photo["sha256"][:2] / photo["sha256"]).unlink()
        result = flow.client.post(
            f"/api/v1/archive-records/{record['id']}/verify", headers=flow.as_("kasi")
        ).json()
        assert result["valid"] is False
        assert result["mismatches"] == [
            {
                "type": "attachment",
                "id": photo["id"],
                "part": "content",
                "expected": photo["sha256"],
                "actual": None,
            }
        ]

    def test_the_database_refuses_to_change_a_record(
        self, archived: tuple[Flow, dict[str, Any]], engine: Engine
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("the immutability trigger is PostgreSQL's")
        _, record = archived
        for statement in (
            "UPDATE archive_records SET note = 'x' WHERE id = :id",
            "DELETE FROM archive_records WHERE id = :id",
        ):
            with pytest.raises(Exception, match="immutable"), engine.begin() as conn:
                conn.execute(text(statement), {"id": record["id"]})
