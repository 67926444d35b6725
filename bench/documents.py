"""The documents phase: each template rendered many times through the service's render
process, as the step actions and the document endpoints render them.

The inputs have the shape the service gives its templates (app/documents/service.py), at the
sizes the issue of a real letter reaches: a Surat Perintah with a 25-person Lampiran, its
konsep with a full paraf sheet, a Laporan Pelaksanaan with three photos, a field report, and
a lembar arsip with a 20-entry manifest. The issued kinds are PDF/A-2b with their QR.
Reported: p50/p99 per document, and the render process's peak resident set (it is not the
API worker's: typst's caches live there).
"""

from __future__ import annotations

import io
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from app.documents import service
from app.documents.models import DocumentKind
from app.documents.render import render, renderer
from bench import servers
from bench.client import percentile

ISSUED_AT = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
URL = "https://trantib.tangerangkota.go.id/v/b8s2Yc0v1QmY7oEQ3sZkq0Jc9T1r5a2N"


def _page() -> dict[str, int]:
    return {"width_mm": 210, "height_mm": 297}


def _kop() -> dict[str, Any]:
    return {
        "government": "PEMERINTAH KOTA TANGERANG",
        "office": "KECAMATAN CILEDUG",
        "lines": [
            "Jalan H. Jamat No. 1, Kelurahan Sudimara Timur, Kota Tangerang, Banten 15151",
            "Telepon (021) 7321234, Pos-el kec.ciledug@tangerangkota.go.id",
        ],
    }


def _signer(jabatan: str) -> dict[str, str]:
    return {
        "capacity": "",
        "jabatan": jabatan,
        "nama": "H. Bambang Sutrisno, S.STP., M.Si.",
        "pangkat": "Pembina (IV/a)",
        "nip": service.nip_text("198105232000121002"),
    }


def _document(heading: str, number: str) -> dict[str, Any]:
    return {
        "heading": heading,
        "number": number,
        "verification_code": URL.rsplit("/", 1)[1],
        "verification_url": URL,
        "qr_mask": service.QR_MASK,
    }


def _issued(label_place: str = "Tangerang,") -> dict[str, str]:
    return {"label_place": label_place, "place": "", "label_date": "", "date": "1 Desember 2026"}


def surat_perintah() -> dict[str, Any]:
    people = [
        {
            "nama": f"Anggota Trantib {i}",
            "pangkat": "Pengatur (II/c)",
            "nip": service.nip_text(f"1990010220140210{i:02d}"),
            "jabatan": "Pelaksana Seksi Ketenteraman dan Ketertiban Umum",
        }
        for i in range(1, 26)
    ]
    return {
        "meta": {"title": "Surat Perintah", "author": "Kecamatan Ciledug", "keywords": []},
        "page": _page(),
        "kop": _kop(),
        "document": _document("SURAT PERINTAH", "300.1.2.1/0007/36.71.06/2026"),
        "letter": {
            "menimbang": [],
            "dasar": [
                "Peraturan Daerah Kota Tangerang Nomor 8 Tahun 2018 tentang Ketenteraman dan "
                "Ketertiban Umum serta Pelindungan Masyarakat;",
                "Surat Perintah Wali Kota Tangerang Nomor 300.1.2.1/123/Trantib/2026;",
                "Surat Tanda Terima Pemberitahuan Kepolisian Sektor Ciledug.",
            ],
            "kepada": people,
            "attached": True,
            "untuk": [
                "Melaksanakan pengamanan kegiatan penyampaian pendapat di muka umum;",
                "Berkoordinasi dengan Polsek Ciledug dan Koramil;",
                "Melaporkan hasil pelaksanaan tugas secara tertulis kepada Camat.",
            ],
            "tembusan": ["Wali Kota Tangerang (sebagai laporan)", "Kapolsek Ciledug"],
        },
        "issued": {
            "label_place": "Ditetapkan di",
            "place": "Tangerang",
            "label_date": "pada tanggal",
            "date": "1 Desember 2026",
        },
        "signer": _signer("Camat Ciledug"),
    }


def konsep() -> dict[str, Any]:
    data = surat_perintah()
    data["watermark"] = "KONSEP"
    data["document"] = {"heading": "SURAT PERINTAH", "number": "…", "konsep": "KONSEP versi 2"}
    data["paraf"] = {
        "title": "Konsep Surat Perintah",
        "version": 2,
        "rows": [
            {
                "stage": stage,
                "nama": name,
                "decision": "Setuju",
                "note": "",
                "at": "1 Desember 2026 pukul 09.15 WIB",
            }
            for stage, name in [
                ("Pemeriksaan Kasi Trantib", "Andi Wijaya, S.Sos."),
                ("Paraf Sekcam", "Drs. Rudi Hartono"),
                ("Verifikasi dan paraf Camat", "H. Bambang Sutrisno, S.STP., M.Si."),
            ]
        ],
    }
    return data


def _field() -> dict[str, Any]:
    return {
        "author": "Anggota Trantib 1",
        "started": "1 Desember 2026 pukul 08.00 WIB",
        "ended": "1 Desember 2026 pukul 11.30 WIB",
        "location": "Depan Kantor Kecamatan Ciledug",
        "crowd": "250",
        "situation": "Kondusif",
        "actions": ["Pemantauan", "Pengamanan objek", "Pengaturan lalu lintas"],
        "notes": "Massa berkumpul pukul 08.30 WIB dan membubarkan diri dengan tertib. " * 4,
        "casualties": [],
        "damage": [],
        "handovers": [],
    }


def laporan(photos: list[dict[str, Any]]) -> dict[str, Any]:
    field = _field()
    return {
        "meta": {"title": "Laporan Pelaksanaan", "author": "Kecamatan Ciledug", "keywords": []},
        "page": _page(),
        "kop": _kop(),
        "document": _document("LAPORAN PELAKSANAAN", "300.1.2.1/0007/36.71.06/2026"),
        "report": {
            "kepada": "Camat Ciledug",
            "dari": "Kepala Seksi Ketenteraman dan Ketertiban Umum Kecamatan Ciledug",
            "perihal": "Laporan Pelaksanaan Penanganan Unjuk Rasa dan Kerusuhan Warga",
            "dasar": ["Surat Perintah Camat Ciledug Nomor 300.1.2.1/0007/36.71.06/2026"],
            "summary": "Unjuk rasa berlangsung tertib dan bubar pukul 12.00 WIB.",
            "chronology": [
                {"at": f"1 Desember 2026 pukul {h:02d}.00 WIB", "description": d, "level": "hijau"}
                for h, d in [(8, "Massa berkumpul"), (10, "Orasi"), (12, "Massa bubar")]
            ],
            "final_situation": "Kondusif",
            "actions": field["actions"],
            "casualties": [],
            "damage": [],
            "handovers": [],
            "members": [f"Anggota Trantib {i}" for i in range(1, 9)],
            "recommendations": "",
            "follow_up": "",
            "version": 1,
        },
        "photos": photos,
        "issued": _issued(),
        "signer": _signer("Kepala Seksi Ketenteraman dan Ketertiban Umum Kecamatan Ciledug"),
    }


def lapangan(photos: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "meta": {"title": "Laporan Pelaksanaan Lapangan", "author": "Ciledug", "keywords": []},
        "page": _page(),
        "kop": _kop(),
        "document": {"heading": "LAPORAN PELAKSANAAN LAPANGAN", "number": "300.1.2.1/0007"},
        "field": _field(),
        "photos": photos,
        "issued": _issued(),
        "signer": _signer("Anggota Trantib Kecamatan Ciledug"),
    }


def lembar_arsip() -> dict[str, Any]:
    return {
        "meta": {"title": "Lembar Arsip", "author": "Kecamatan Ciledug", "keywords": []},
        "page": _page(),
        "kop": _kop(),
        "document": _document("LEMBAR ARSIP", "300.1.2.1/0001/36.71.06/2026"),
        "archive": {
            "title": "Laporan Pelaksanaan Penanganan Unjuk Rasa dan Kerusuhan Warga",
            "description": "Penanganan unjuk rasa di depan Kantor Kecamatan Ciledug.",
            "classification": "300.1.2.1",
            "retention": "5 tahun",
            "security": "TERBATAS",
            "creator": "Kecamatan Ciledug",
            "period": "1 Desember 2026 pukul 08.00 WIB s.d. 3 Desember 2026 pukul 10.00 WIB",
            "note": "",
            "manifest_sha256": "ab" * 32,
            "manifest": [
                {"title": f"Dokumen {i}", "version": "1", "sha256": f"{i:02d}" * 32}
                for i in range(20)
            ],
        },
        "issued": _issued(),
        "signer": _signer("Kepala Seksi Ketenteraman dan Ketertiban Umum Kecamatan Ciledug"),
    }


def _photos(folder: Path) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    photos, files = [], {}
    for i in range(3):
        buffer = io.BytesIO()
        Image.new("RGB", (1600, 1200), (40 * i, 120, 200)).save(buffer, format="JPEG")
        name = f"photo{i}.jpg"
        (folder / name).write_bytes(buffer.getvalue())
        files[name] = folder / name
        photos.append({"file": name, "caption": f"Foto {i + 1}", "at": "pukul 09.00 WIB"})
    return photos, files


def documents_phase(renders: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="trantib-bench-photos-") as folder:
        photos, files = _photos(Path(folder))
        cases: list[tuple[str, Any]] = [
            (
                "surat_perintah (2 pages, 25-row Lampiran, PDF/A-2b, QR)",
                lambda: service.render_issued(
                    DocumentKind.surat_perintah, surat_perintah(), ISSUED_AT, {}
                ),
            ),
            (
                "konsep (watermark, paraf sheet)",
                lambda: render("surat-perintah.typ", konsep(), created_at=ISSUED_AT, pdf_a=False),
            ),
            (
                "laporan_pelaksanaan (3 photos, PDF/A-2b, QR)",
                lambda: service.render_issued(
                    DocumentKind.laporan_pelaksanaan, laporan(photos), ISSUED_AT, files
                ),
            ),
            (
                "laporan_lapangan (3 photos)",
                lambda: render(
                    service.FIELD_REPORT_TEMPLATE,
                    lapangan(photos),
                    created_at=ISSUED_AT,
                    pdf_a=False,
                    files=files,
                ),
            ),
            (
                "lembar_arsip (20 entries, PDF/A-2b, QR)",
                lambda: service.render_issued(
                    DocumentKind.lembar_arsip, lembar_arsip(), ISSUED_AT, {}
                ),
            ),
        ]
        started = time.perf_counter()
        cases[0][1]()  # starts the render process
        first_ms = round((time.perf_counter() - started) * 1000, 1)
        results = []
        for label, make in cases:
            samples, sha = [], set()
            for _ in range(renders):
                began = time.perf_counter()
                rendered = make()
                samples.append(time.perf_counter() - began)
                sha.add(rendered.sha256)
            results.append(
                {
                    "document": label,
                    "n": renders,
                    "p50_ms": round(percentile(samples, 50) * 1000, 2),
                    "p99_ms": round(percentile(samples, 99) * 1000, 2),
                    "pages": rendered.pages,
                    "bytes": len(rendered.pdf),
                    "deterministic": len(sha) == 1,
                }
            )
    pid = renderer.pid()
    memory = servers.memory_kib(pid) if pid else {}
    renderer.shutdown()
    return {
        "first_render_ms": first_ms,
        "documents": results,
        "render_process_peak_mb": round(memory.get("VmHWM", 0) / 1024, 1),
    }


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        f"documents (render process; first render with its start {result['first_render_ms']} "
        f"ms; its peak RSS {result['render_process_peak_mb']} MB, outside the API workers)"
    ]
    lines.append(f"  {'document':58} {'n':>4} {'p50':>8} {'p99':>8} {'pages':>5} {'KiB':>6}")
    for r in result["documents"]:
        same = "" if r["deterministic"] else "  NOT DETERMINISTIC"
        lines.append(
            f"  {r['document']:58} {r['n']:>4} {r['p50_ms']:>8} {r['p99_ms']:>8} "
            f"{r['pages']:>5} {r['bytes'] // 1024:>6}{same}"
        )
    return lines
