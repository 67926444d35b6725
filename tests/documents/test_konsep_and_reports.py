"""The konsep with its paraf sheet, the Laporan Pelaksanaan, the field reports."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from typing import Any

from PIL import Image

from app.core import clock
from tests.documents.conftest import pdf_of, problem
from tests.documents.pdf import pages, qr_codes, tanggal, text
from tests.lifecycle.flow import ORDER_DRAFT, Flow, field_report, report_draft


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


PHOTO_PNG = _photo()


def konsep(flow: Flow, number: int, who: str = "kasi", draft_id: str | None = None) -> Any:
    return flow.client.get(
        f"/api/v1/drafts/{draft_id or flow.draft_id}/versions/{number}/document",
        headers=flow.as_(who),
    )


def wib(moment: str) -> str:
    local = datetime.fromisoformat(moment).astimezone(clock.WIB)
    return f"{tanggal(local.date())} pukul {local:%H.%M} WIB"


class TestKonsep:
    def test_a_returned_version_and_its_correction_each_have_their_paraf_sheet(
        self, flow: Flow
    ) -> None:
        flow.run_to(4)
        returned = flow.verify("kasi", decision="return", note="Tambahkan Koramil")
        revised = {**ORDER_DRAFT["letter"], "tembusan": ["Wali Kota Tangerang", "Danramil"]}
        patched = flow.client.patch(
            f"/api/v1/drafts/{flow.draft_id}", json={"letter": revised}, headers=flow.as_("danru")
        )
        assert patched.status_code == 200, patched.text
        flow.step3()
        checks = [flow.verify(who) for who in ("kasi", "sekcam", "camat")]

        first = pdf_of(konsep(flow, 1))
        printed = text(first)
        assert "KONSEP versi 1" in printed
        assert "SURAT PERINTAH" in printed and "NOMOR : …" in printed
        assert all(item in printed for item in ORDER_DRAFT["letter"]["dasar"])
        sheet = pages(first)[-1]
        assert "LEMBAR PARAF" in sheet and "versi 1" in sheet
        assert "Pemeriksaan Kasi Trantib" in sheet and "Kasi Trantib Ciledug (demo)" in sheet
        assert "Dikembalikan" in sheet and "Tambahkan Koramil" in sheet
        assert wib(returned["occurred_at"]) in sheet
        assert "Sekcam Ciledug (demo)" not in sheet
        assert qr_codes(first) == []  # a konsep has no verification code

        second = pages(pdf_of(konsep(flow, 2, who="sekcam")))[-1]
        for check, name in zip(checks, ["Kasi Trantib", "Sekcam", "Camat"], strict=True):
            assert f"{name} Ciledug (demo)" in second
            assert wib(check["occurred_at"]) in second
        assert "Paraf Sekcam" in second and "Setuju" in second
        assert "Tambahkan Koramil" not in second

    def test_the_same_version_renders_to_the_same_bytes(self, flow: Flow) -> None:
        flow.run_to(4)
        one = pdf_of(konsep(flow, 1))
        two = pdf_of(konsep(flow, 1, who="camat"))
        assert hashlib.sha256(one).hexdigest() == hashlib.sha256(two).hexdigest()

    def test_refusals(self, flow: Flow, flow_for: Any) -> None:
        flow.run_to(4)
        problem(konsep(flow, 9), 404, "not-found")
        problem(konsep(flow, 1, who="anggota1"), 403, "insufficient-scope")
        other: Flow = flow_for("cipondoh")
        problem(konsep(other, 1, who="kasi", draft_id=flow.draft_id), 404, "not-found")
        anonymous = flow.client.get(f"/api/v1/drafts/{flow.draft_id}/versions/1/document")
        assert anonymous.status_code == 401
        problem(konsep(flow, 0), 422, "validation-error")

    def test_a_report_draft_has_no_konsep(self, flow: Flow) -> None:
        flow.run_to(10)
        problem(konsep(flow, 1, draft_id=flow.report_draft_id), 404, "no-document")


def reported(flow: Flow) -> dict[str, Any]:
    """Steps 1-10, with a photo, a casualty and a hand-over to the police in the reports."""
    flow.run_to(8)
    first = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/field-reports",
        json=field_report(
            casualties=[{"category": "peserta", "severity": "luka_ringan", "count": 2}],
            handovers_to_police=[
                {
                    "count": 1,
                    "handed_at": "2026-11-28T10:30:00+07:00",
                    "police_unit": "Polsek Ciledug",
                    "officer": "Aipda Surya",
                    "minutes_number": "BA/12/XI/2026",
                }
            ],
        ),
        headers=flow.as_("anggota1"),
    )
    assert first.status_code == 201, first.text
    flow.field_report_ids.append(first.json()["id"])
    photo = flow.client.post(
        f"/api/v1/field-reports/{first.json()['id']}/attachments",
        files={"file": ("gerbang.png", PHOTO_PNG, "image/png")},
        data={"caption": "Massa di gerbang kantor"},
        headers=flow.as_("anggota1"),
    )
    assert photo.status_code == 201, photo.text
    flow.step8(members=("anggota2",))
    flow.step9()
    flow.step10()
    return photo.json()


class TestLaporanPelaksanaan:
    def test_issued_at_approval_with_the_order_as_dasar_and_the_photos(self, flow: Flow) -> None:
        photo = reported(flow)
        report = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/report", headers=flow.as_("camat")
        ).json()
        assert report["document_sha256"] and report["verification_url"]
        response = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/report/document", headers=flow.as_("camat")
        )
        pdf = pdf_of(response)
        assert response.headers["etag"] == f'"{report["document_sha256"]}"'
        order = flow.client.get(f"/api/v1/orders/{flow.order_id}", headers=flow.as_("camat")).json()
        printed = text(pdf)
        for expected in [
            "LAPORAN PELAKSANAAN",
            "Yth. Camat Ciledug",
            "Kepala Seksi Ketenteraman dan Ketertiban Umum Kecamatan Ciledug",
            f"Nomor {order['number']}",
            report_draft([])["summary"],
            "Kondusif",
            "2 orang peserta, luka ringan",
            "1 orang diserahkan kepada Polsek Ciledug (Aipda Surya)",
            "BA/12/XI/2026",
            "Anggota 1 Ciledug (demo)",
            "Anggota 2 Ciledug (demo)",
            "Pemantauan",
            "Kasi Trantib Ciledug (demo)",
            "LAMPIRAN FOTO",
            photo["caption"],
            wib(photo["recorded_at"]),
        ]:
            assert expected in printed, expected
        found = [code for page in range(len(pages(pdf))) for code in qr_codes(pdf, page)]
        assert found == [report["verification_url"]]
        assert "LAMPIRAN FOTO" in pages(pdf)[-1]
        assert "tidak dapat ditampilkan" not in printed
        assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf

    def test_before_approval_there_is_no_report_document(self, flow: Flow) -> None:
        flow.run_to(9)
        response = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/report/document", headers=flow.as_("camat")
        )
        problem(response, 404, "not-found")
        problem(
            flow.client.get(
                f"/api/v1/incidents/{flow.incident_id}/report/document",
                headers=flow.as_("anggota1"),
            ),
            403,
            "insufficient-scope",
        )


class TestFieldReport:
    def test_each_field_report_prints_with_its_author(self, flow: Flow, flow_for: Any) -> None:
        flow.run_to(9)
        report_id = flow.field_report_ids[0]
        response = flow.client.get(
            f"/api/v1/field-reports/{report_id}/document", headers=flow.as_("danru")
        )
        printed = text(pdf_of(response))
        body = field_report()
        for expected in [
            "LAPORAN PELAKSANAAN LAPANGAN",
            "Anggota 1 Ciledug (demo)",
            body["location"]["address"],
            body["notes"],
            "Pengamanan objek",
            wib(body["started_at"]),
        ]:
            assert expected in printed, expected
        other: Flow = flow_for("cipondoh")
        problem(
            flow.client.get(
                f"/api/v1/field-reports/{report_id}/document", headers=other.as_("kasi")
            ),
            404,
            "not-found",
        )
