"""The Surat Perintah: issued as PDF when the Camat validates it, frozen, with its QR."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pypdf
import pytest

from tests.documents.conftest import pdf_of, problem, set_user, with_letter
from tests.documents.pdf import pages, qr_codes, tanggal, text
from tests.lifecycle.flow import ORDER_DRAFT, Flow

NIP = "198105232000121002"
NIP_PRINTED = "19810523 200012 1 002"


def document(flow: Flow, order_id: str, who: str = "kasi") -> Any:
    return flow.client.get(f"/api/v1/orders/{order_id}/document", headers=flow.as_(who))


class TestIssued:
    def test_the_letter_says_what_the_draft_and_the_validation_say(self, flow: Flow) -> None:
        set_user(flow, "camat.ciledug", full_name="H. Bambang Sutrisno, S.STP., M.Si.", nip=NIP)
        flow.run_to(5)
        order = flow.step5()
        assert order["document_sha256"] and len(order["document_sha256"]) == 64
        code = order["verification_url"].rsplit("/", 1)[1]
        assert order["verification_url"] == f"http://127.0.0.1:8000/v/{code}"
        assert len(code) >= 22  # at least 128 random bits, url-safe base64

        response = document(flow, order["id"])
        pdf = pdf_of(response)
        assert response.headers["etag"] == f'"{order["document_sha256"]}"'
        disposition = response.headers["content-disposition"]
        assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+\.pdf"', disposition)
        assert order["number"].replace("/", "-") in disposition

        printed = text(pdf)
        letter = ORDER_DRAFT["letter"]
        for expected in [
            "PEMERINTAH KOTA TANGERANG",
            "KECAMATAN CILEDUG",
            "SURAT PERINTAH",
            f"NOMOR : {order['number']}",
            "MEMERINTAHKAN",
            *letter["dasar"],
            *[person["nama"] for person in letter["kepada"]],
            *[person["jabatan"] for person in letter["kepada"]],
            *letter["untuk"],
            *letter["tembusan"],
            "Ditetapkan di",
            "Tangerang",
            "CAMAT CILEDUG,",
            "H. Bambang Sutrisno, S.STP., M.Si.",
            f"NIP. {NIP_PRINTED}",
            "Halaman 1 dari 1",
        ]:
            assert expected in printed, expected
        issued_on = tanggal(date.fromisoformat(order["issued_on"]))
        assert re.search(rf"pada tanggal\s?:\s?{issued_on}", printed), printed
        # The dasar and untuk items are numbered in their order.
        assert f"1. {letter['dasar'][0]}" in printed and f"2. {letter['dasar'][1]}" in printed
        assert "Kode verifikasi dokumen, bukan tanda tangan elektronik" in printed
        assert "ditandatangani secara elektronik" not in printed.lower()
        assert len(pages(pdf)) == 1
        assert qr_codes(pdf) == [order["verification_url"]]

    def test_every_download_is_the_same_bytes(self, issued: tuple[Flow, dict[str, Any]]) -> None:
        flow, order = issued
        first = pdf_of(document(flow, order["id"]))
        again = pdf_of(document(flow, order["id"], who="anggota1"))
        assert first == again
        listed = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/orders", headers=flow.as_("kasi")
        ).json()
        validated = next(o for o in listed if o["kind"] == "surat_perintah")
        assert validated["document_sha256"] == order["document_sha256"]
        walikota = next(o for o in listed if o["kind"] == "walikota")
        assert walikota["document_sha256"] is None and walikota["verification_url"] is None

    def test_pdf_a_2b_metadata_and_embedded_fonts(
        self, issued: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, order = issued
        pdf = pdf_of(document(flow, order["id"]))
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
        assert b"<pdfaid:part>2</pdfaid:part>" in xmp
        assert b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
        intents = reader.trailer["/Root"]["/OutputIntents"]
        assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
        assert "/DestOutputProfile" in intents[0].get_object()
        for page in reader.pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                descendants = font.get("/DescendantFonts")
                face = descendants[0].get_object() if descendants else font
                descriptor = face["/FontDescriptor"].get_object()
                assert "/FontFile2" in descriptor, face["/BaseFont"]
                assert "LiberationSans" in str(face["/BaseFont"])
        # No clock time in the file: the creation date is the moment of issue.
        issued_at = reader.metadata.creation_date
        assert issued_at is not None

    def test_more_than_five_persons_go_to_a_lampiran(self, flow: Flow) -> None:
        people = [
            {
                "nama": f"Anggota Lampiran {i}",
                "pangkat_golongan": "Pengatur (II/c)",
                "nip": f"1990010220140210{i:02d}",
                "jabatan": "Pelaksana Seksi Trantib",
            }
            for i in range(1, 8)
        ]
        with_letter(flow, kepada=people)
        flow.run_to(5)
        order = flow.step5()
        pdf = pdf_of(document(flow, order["id"]))
        first, second = pages(pdf)
        assert "Daftar terlampir (7 orang)" in first
        assert "Anggota Lampiran 1" not in first
        assert "Halaman 1 dari 2" in first
        assert "LAMPIRAN" in second and order["number"] in second
        for person in people:
            assert person["nama"] in second
            nip = person["nip"]
            assert f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}" in second
        assert "Halaman 2 dari 2" in second


class TestFrozen:
    def test_a_later_change_of_the_camat_or_the_kop_leaves_the_letter_as_issued(
        self, issued: tuple[Flow, dict[str, Any]], flow_for: Any
    ) -> None:
        flow, order = issued
        before = pdf_of(document(flow, order["id"]))
        set_user(flow, "camat.ciledug", full_name="Camat Pengganti, S.H.", nip=NIP)
        kop = {
            "government": "PEMERINTAH KOTA TANGERANG",
            "office": "KECAMATAN CILEDUG",
            "address": "Jalan Baru No. 2, Kota Tangerang",
            "phone": "(021) 000000",
        }
        changed = flow.client.put(
            "/api/v1/units/ciledug/letterhead", json=kop, headers=flow.auth("admin")
        )
        assert changed.status_code == 200, changed.text
        after = pdf_of(document(flow, order["id"]))
        assert after == before
        again = flow.client.get(f"/api/v1/orders/{order['id']}", headers=flow.as_("kasi"))
        assert again.json()["document_sha256"] == order["document_sha256"]

        # The next letter of the kecamatan has the new kop and the new name.
        second: Flow = flow_for("ciledug")
        second.create(title="Unjuk rasa kedua")
        second.run_to(5)
        newer = text(pdf_of(document(second, second.step5()["id"])))
        assert "Jalan Baru No. 2, Kota Tangerang" in newer
        assert "Camat Pengganti, S.H." in newer and NIP_PRINTED in newer


class TestInjection:
    MARKUP = [
        '#read("/etc/passwd")',
        '#eval("1 + 1")',
        '#image("/etc/hostname") $x^2$ *tebal* _miring_ `kode` <label> @ref \\ // komentar',
        "<script>alert('x')</script> <b>tebal</b> &amp;",
    ]

    def test_user_text_prints_literally(self, flow: Flow) -> None:
        with_letter(
            flow,
            dasar=self.MARKUP[:2],
            untuk=self.MARKUP[2:],
            tembusan=["Baris\tdengan tab", "Emoji 😀 dan karakter ☃"],
        )
        flow.run_to(5)
        order = flow.step5()
        printed = text(pdf_of(document(flow, order["id"])))
        for item in self.MARKUP:
            assert item in printed, item
        assert "root:" not in printed  # /etc/passwd was not read
        assert "Baris dengan tab" in printed
        assert "Emoji [U+1F600] dan karakter [U+2603]" in printed

    def test_control_characters_never_reach_a_letter(self, flow: Flow) -> None:
        flow.run_to(3)
        body = {**ORDER_DRAFT, "letter": {**ORDER_DRAFT["letter"], "dasar": ["bel \u0007"]}}
        response = flow.client.post(
            f"/api/v1/incidents/{flow.incident_id}/drafts", json=body, headers=flow.as_("danru")
        )
        problem(response, 422, "validation-error")


class TestAccess:
    def test_anonymous_is_401(self, issued: tuple[Flow, dict[str, Any]]) -> None:
        flow, order = issued
        response = flow.client.get(f"/api/v1/orders/{order['id']}/document")
        assert response.status_code == 401

    def test_a_role_without_orders_read_is_403(self, issued: tuple[Flow, dict[str, Any]]) -> None:
        flow, order = issued
        response = flow.client.get(
            f"/api/v1/orders/{order['id']}/document", headers=flow.auth("admin")
        )
        problem(response, 403, "insufficient-scope")

    def test_another_kecamatan_is_404(
        self, issued: tuple[Flow, dict[str, Any]], flow_for: Any
    ) -> None:
        flow, order = issued
        other: Flow = flow_for("cipondoh")
        response = flow.client.get(
            f"/api/v1/orders/{order['id']}/document", headers=other.as_("kasi")
        )
        problem(response, 404, "not-found")

    def test_a_walikota_order_without_a_scan_is_404(self, flow: Flow) -> None:
        flow.create()
        walikota = flow.step1()
        response = flow.client.get(
            f"/api/v1/orders/{walikota['id']}/document", headers=flow.as_("kasi")
        )
        problem(response, 404, "no-document")

    def test_a_bad_id_is_422(self, flow: Flow) -> None:
        response = flow.client.get("/api/v1/orders/not-a-uuid/document", headers=flow.as_("kasi"))
        problem(response, 422, "validation-error")


@pytest.mark.parametrize("paper", ["a4", "f4"])
def test_paper_is_a_setting(paper: str, flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.config import get_settings

    monkeypatch.setenv("TRANTIB_DOCUMENT_PAPER", paper)
    get_settings.cache_clear()
    try:
        flow.run_to(5)
        pdf = pdf_of(document(flow, flow.step5()["id"]))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    width_mm, height_mm = (round(float(v) * 25.4 / 72) for v in (box.width, box.height))
    assert (width_mm, height_mm) == {"a4": (210, 297), "f4": (215, 330)}[paper]
