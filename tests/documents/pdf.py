"""Read a PDF back as a person would: its text, its pages, the QR on a page."""

from __future__ import annotations

import io
import re
from datetime import date

import pypdf
import pypdfium2
import zxingcpp

# The months as Indonesian letters print them (the service formats them with Babel).
BULAN = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def tanggal(day: date) -> str:
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"


def pages(pdf: bytes) -> list[str]:
    """The text of each page, with runs of whitespace as one space."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def text(pdf: bytes) -> str:
    return " ".join(pages(pdf))


def qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """Every QR code on the page, rasterised at 200 dpi and decoded."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    return [found.text for found in zxingcpp.read_barcodes(image)]


def png_of_page(pdf: bytes, page: int = 0, scale: float = 1.5) -> bytes:
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=scale).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
