"""The archive: issued PDFs in the manifest, the lembar arsip, verify, the bundle, signed
copies, and the kop surat."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from typing import Any

import pypdf
import pytest

from app.core.config import get_settings
from tests.documents.conftest import pdf_of, problem
from tests.documents.pdf import qr_codes, text
from tests.lifecycle.flow import Flow

SIGNED_PDF = b"%PDF-1.7\n% ditandatangani oleh BSrE (contoh)\n" + b"0" * 200
SCAN_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"scan" * 50


def archive(flow: Flow) -> dict[str, Any]:
    response = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/archive-records",
        json={"classification_code": "300.1.2.1", "retention_years": 5},
        headers=flow.as_("kasi"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload(flow: Flow, order_id: str, content: bytes, method: str, who: str = "camat") -> Any:
    return flow.client.post(
        f"/api/v1/orders/{order_id}/signed-copies",
        files={"file": ("ditandatangani.pdf", content, "application/pdf")},
        data={"method": method},
        headers=flow.as_(who),
    )


@pytest.fixture
def archived(flow: Flow) -> tuple[Flow, dict[str, Any]]:
    flow.run_to(6)
    copy = upload(flow, flow.order_id, SIGNED_PDF, "tte_bsre")
    assert copy.status_code == 201, copy.text
    flow.run_to(11)
    return flow, archive(flow)


def stored_file(sha256: str) -> Any:
    return get_settings().attachments_dir / sha256[:2] / sha256


class TestManifest:
    def test_lists_the_issued_pdfs_and_the_signed_copy_with_their_hashes(
        self, archived: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, record = archived
        order = flow.client.get(f"/api/v1/orders/{flow.order_id}", headers=flow.as_("kasi"))
        report = flow.client.get(
            f"/api/v1/incidents/{flow.incident_id}/report", headers=flow.as_("kasi")
        )
        issued = [e for e in record["manifest"] if e["type"] == "issued_document"]
        assert [e["sha256"] for e in issued] == [
            order.json()["document_sha256"],
            report.json()["document_sha256"],
        ]
        copies = [e for e in record["manifest"] if e["type"] == "signed_copy"]
        assert [e["sha256"] for e in copies] == [hashlib.sha256(SIGNED_PDF).hexdigest()]
        assert "TTE BSrE" in copies[0]["title"]

    def test_the_lembar_arsip_is_pdf_a_with_the_manifest_and_its_qr(
        self, archived: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, record = archived
        assert record["document_sha256"] and record["verification_url"]
        again = flow.client.get(
            f"/api/v1/archive-records/{record['id']}", headers=flow.auth("pimpinan")
        ).json()
        assert again["document_sha256"] == record["document_sha256"]
        response = flow.client.get(
            f"/api/v1/archive-records/{record['id']}/document", headers=flow.as_("kasi")
        )
        pdf = pdf_of(response)
        assert hashlib.sha256(pdf).hexdigest() == record["document_sha256"]
        printed = text(pdf)
        for expected in [
            "LEMBAR ARSIP",
            record["archive_number"],
            "300.1.2.1",
            "5 tahun",
            "TERBATAS",
            "Kecamatan Ciledug",
            record["manifest_sha256"],
        ]:
            assert expected in printed, expected
        for entry in record["manifest"]:
            assert entry["sha256"][:32] in printed and entry["sha256"][32:] in printed
        found = [
            code
            for page in range(len(pypdf.PdfReader(io.BytesIO(pdf)).pages))
            for code in qr_codes(pdf, page)
        ]
        assert found == [record["verification_url"]]
        xmp = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object()
        assert b"<pdfaid:part>2</pdfaid:part>" in xmp.get_data()


class TestVerify:
    def test_intact_then_a_changed_pdf_shows(self, archived: tuple[Flow, dict[str, Any]]) -> None:
        flow, record = archived
        url = f"/api/v1/archive-records/{record['id']}/verify"
        assert flow.client.post(url, headers=flow.as_("kasi")).json()["valid"] is True
        from app.archive import service

        order = flow.client.get(f"/api/v1/orders/{flow.order_id}", headers=flow.as_("kasi")).json()
        path = stored_file(order["document_sha256"])
        original = path.read_bytes()
        path.write_bytes(original[:-1] + b"X")
        service._verified.clear()
        try:
            result = flow.client.post(url, headers=flow.as_("kasi")).json()
        finally:
            path.write_bytes(original)
            service._verified.clear()
        assert result["valid"] is False
        assert [(m["type"], m["expected"]) for m in result["mismatches"]] == [
            ("issued_document", order["document_sha256"])
        ]

    def test_a_changed_lembar_arsip_shows(self, archived: tuple[Flow, dict[str, Any]]) -> None:
        flow, record = archived
        from app.archive import service

        path = stored_file(record["document_sha256"])
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        service._verified.clear()
        try:
            result = flow.client.post(
                f"/api/v1/archive-records/{record['id']}/verify", headers=flow.as_("kasi")
            ).json()
        finally:
            path.write_bytes(original)
            service._verified.clear()
        assert result["valid"] is False
        assert [(m["type"], m["part"]) for m in result["mismatches"]] == [
            ("lembar_arsip", "document")
        ]


class TestBundle:
    def test_every_file_and_the_manifest_with_its_own_hash(
        self, archived: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, record = archived
        response = flow.client.get(
            f"/api/v1/archive-records/{record['id']}/bundle", headers=flow.auth("pimpinan")
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        digest = hashlib.sha256(response.content)
        assert response.headers["repr-digest"] == (
            f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
        )
        assert response.headers["etag"] == f'"{digest.hexdigest()}"'
        bundle = zipfile.ZipFile(io.BytesIO(response.content))
        manifest = json.loads(bundle.read("manifest.json"))
        assert manifest["archive_record"]["manifest_sha256"] == record["manifest_sha256"]
        assert manifest["archive_record"]["document_sha256"] == record["document_sha256"]
        names = set(bundle.namelist()) - {"manifest.json"}
        assert set(manifest["files"]) == names
        for name in names:
            assert hashlib.sha256(bundle.read(name)).hexdigest() == manifest["files"][name]
        hashes = set(manifest["files"].values())
        wanted = {
            e["sha256"]
            for e in record["manifest"]
            if e["type"] in {"issued_document", "signed_copy", "attachment"}
        }
        assert wanted | {record["document_sha256"]} == hashes
        # The same record gives the same ZIP.
        again = flow.client.get(
            f"/api/v1/archive-records/{record['id']}/bundle", headers=flow.as_("kasi")
        )
        assert again.content == response.content

    def test_another_kecamatan_is_404(
        self, archived: tuple[Flow, dict[str, Any]], flow_for: Any
    ) -> None:
        flow, record = archived
        other: Flow = flow_for("cipondoh")
        for part in ("bundle", "document"):
            problem(
                flow.client.get(
                    f"/api/v1/archive-records/{record['id']}/{part}", headers=other.as_("kasi")
                ),
                404,
                "not-found",
            )
        problem(
            flow.client.get(
                f"/api/v1/archive-records/{record['id']}/bundle", headers=flow.as_("anggota1")
            ),
            403,
            "insufficient-scope",
        )


class TestSignedCopies:
    def test_a_scan_of_the_walikota_order_becomes_its_document(self, flow: Flow) -> None:
        flow.create()
        walikota = flow.step1()
        response = flow.client.post(
            f"/api/v1/orders/{walikota['id']}/signed-copies",
            files={"file": ("scan.jpg", SCAN_JPEG, "image/jpeg")},
            data={"method": "basah"},
            headers=flow.as_("camat"),
        )
        assert response.status_code == 201, response.text
        copy = response.json()
        assert copy["method"] == "basah" and copy["content_type"] == "image/jpeg"
        assert copy["sha256"] == hashlib.sha256(SCAN_JPEG).hexdigest()
        assert copy["uploaded_by"] == flow.uid("camat")
        document = flow.client.get(
            f"/api/v1/orders/{walikota['id']}/document", headers=flow.as_("kasi")
        )
        assert document.status_code == 200 and document.content == SCAN_JPEG
        assert document.headers["content-disposition"].endswith('.jpg"')
        listed = flow.client.get(
            f"/api/v1/orders/{walikota['id']}/signed-copies", headers=flow.as_("kasi")
        ).json()
        assert [c["id"] for c in listed] == [copy["id"]]

    def test_refusals(self, flow: Flow, flow_for: Any) -> None:
        flow.run_to(6)
        problem(upload(flow, flow.order_id, SIGNED_PDF, "stempel"), 422, "validation-error")
        problem(
            upload(flow, flow.order_id, b"hello, not a file", "basah"),
            415,
            "unsupported-media-type",
        )
        problem(
            upload(flow, flow.order_id, SIGNED_PDF, "basah", who="kasi"), 403, "insufficient-scope"
        )
        anonymous = flow.client.post(
            f"/api/v1/orders/{flow.order_id}/signed-copies",
            files={"file": ("x.pdf", SIGNED_PDF, "application/pdf")},
            data={"method": "basah"},
        )
        assert anonymous.status_code == 401
        other: Flow = flow_for("cipondoh")
        problem(upload(other, flow.order_id, SIGNED_PDF, "basah"), 404, "not-found")

    def test_an_archived_file_takes_no_more_copies(
        self, archived: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, _ = archived
        problem(upload(flow, flow.order_id, SIGNED_PDF, "basah"), 409, "already-archived")


class TestLetterhead:
    KOP = {
        "government": "PEMERINTAH KOTA TANGERANG",
        "office": "KECAMATAN CILEDUG",
        "address": "Jalan H. Jamat No. 1, Kota Tangerang",
        "email": "kec.ciledug@tangerangkota.go.id",
    }

    def test_default_then_set_by_an_administrator(self, flow: Flow) -> None:
        first = flow.client.get("/api/v1/units/ciledug/letterhead", headers=flow.as_("camat"))
        assert first.status_code == 200
        assert first.json()["is_default"] is True
        assert first.json()["office"] == "KECAMATAN CILEDUG"
        assert first.json()["government"] == "PEMERINTAH KOTA TANGERANG"
        put = flow.client.put(
            "/api/v1/units/36.71.06/letterhead", json=self.KOP, headers=flow.auth("admin")
        )
        assert put.status_code == 200, put.text
        assert put.json() == {
            **self.KOP,
            "phone": None,
            "website": None,
            "unit": "36.71.06",
            "is_default": False,
            "updated_at": put.json()["updated_at"],
            "logo_sha256": None,
            "logo_content_type": None,
        }

    def test_refusals(self, flow: Flow) -> None:
        url = "/api/v1/units/ciledug/letterhead"
        assert flow.client.put(url, json=self.KOP).status_code == 401
        problem(
            flow.client.put(url, json=self.KOP, headers=flow.as_("camat")),
            403,
            "insufficient-scope",
        )
        problem(
            flow.client.put(url, json={"office": "X"}, headers=flow.auth("admin")),
            422,
            "validation-error",
        )
        problem(
            flow.client.put(
                "/api/v1/units/atlantis/letterhead", json=self.KOP, headers=flow.auth("admin")
            ),
            404,
            "not-found",
        )


def _png(width: int, height: int, *, noise: bool = False) -> bytes:
    from PIL import Image

    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _image_sizes(pdf: bytes) -> list[tuple[int, int]]:
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    return [image.image.size for image in page.images if image.image is not None]


class TestLogo:
    URL = "/api/v1/units/ciledug/letterhead/logo"

    def _put(self, flow: Flow, data: bytes, name: str = "lambang.png", who: str = "admin") -> Any:
        return flow.client.put(
            self.URL, files={"file": (name, data, "image/png")}, headers=flow.auth(who)
        )

    def test_the_emblem_prints_from_now_on_and_issued_letters_keep_theirs(self, flow: Flow) -> None:
        flow.run_to(6)
        issued_before = pdf_of(
            flow.client.get(f"/api/v1/orders/{flow.order_id}/document", headers=flow.as_("kasi"))
        )
        konsep = f"/api/v1/drafts/{flow.draft_id}/versions/1/document"
        assert (61, 73) not in _image_sizes(
            pdf_of(flow.client.get(konsep, headers=flow.as_("kasi")))
        )

        logo = _png(61, 73)
        put = self._put(flow, logo)
        assert put.status_code == 200, put.text
        assert put.json()["logo_sha256"] == hashlib.sha256(logo).hexdigest()
        assert put.json()["logo_content_type"] == "image/png"
        rendered = pdf_of(flow.client.get(konsep, headers=flow.as_("kasi")))
        assert (61, 73) in _image_sizes(rendered)
        again = flow.client.get(
            f"/api/v1/orders/{flow.order_id}/document", headers=flow.as_("kasi")
        )
        assert pdf_of(again) == issued_before

        back = flow.client.delete(self.URL, headers=flow.auth("admin"))
        assert back.status_code == 200, back.text
        assert back.json()["logo_sha256"] is None
        assert (61, 73) not in _image_sizes(
            pdf_of(flow.client.get(konsep, headers=flow.as_("kasi")))
        )

    def test_an_emblem_typst_cannot_decode_prints_the_placeholder(self, flow: Flow) -> None:
        """Its type is decided by its first bytes only: a broken image must not stop a
        Surat Perintah from being issued."""
        broken = b"\x89PNG\r\n\x1a\n" + b"rusak" * 10
        assert self._put(flow, broken).status_code == 200
        flow.run_to(6)
        issued = flow.client.get(
            f"/api/v1/orders/{flow.order_id}/document", headers=flow.as_("kasi")
        )
        assert "SURAT PERINTAH" in text(pdf_of(issued))

    def test_refusals(self, flow: Flow) -> None:
        assert flow.client.put(self.URL, files={"file": ("a.png", _png(4, 4))}).status_code == 401
        problem(self._put(flow, _png(4, 4), who="camat.ciledug"), 403, "insufficient-scope")
        problem(
            flow.client.delete(self.URL, headers=flow.auth("camat.ciledug")),
            403,
            "insufficient-scope",
        )
        problem(
            self._put(flow, b"%PDF-1.7 bukan gambar", name="a.pdf"), 415, "unsupported-media-type"
        )
        problem(self._put(flow, b"teks biasa", name="a.txt"), 415, "unsupported-media-type")
        problem(self._put(flow, _png(700, 700, noise=True)), 413, "payload-too-large")
        problem(
            flow.client.put(
                "/api/v1/units/atlantis/letterhead/logo",
                files={"file": ("a.png", _png(4, 4), "image/png")},
                headers=flow.auth("admin"),
            ),
            404,
            "not-found",
        )
        current = flow.client.get("/api/v1/units/ciledug/letterhead", headers=flow.as_("camat"))
        assert current.json()["logo_sha256"] is None
