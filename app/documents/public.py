"""The public verification page the QR of an issued document leads to: /v/{code}.

No login. GET answers the document's identity and whether it stands (a small HTML page, or
JSON when asked for); POST with a PDF body answers whether those bytes are the issued ones,
the way to catch an altered printout or a forged file. Nothing about the people in the
document, their contacts or the incident is shown. Each client address has its own rate.
"""

from __future__ import annotations

import html
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session

from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import TooManyRequests, UnsupportedMediaType
from app.core.http import problems
from app.core.limits import TokenBuckets
from app.core.routing import OneHopRoute
from app.documents import files, schemas, service

router = APIRouter(route_class=OneHopRoute, tags=["verification"])

_buckets = TokenBuckets()
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
STATUS_TEXT = {"valid": "SAH", "superseded": "DIGANTI", "cancelled": "DIBATALKAN"}


async def _client_rate(request: Request) -> None:
    # Async: it does no blocking work, and a synchronous dependency costs a thread hop.
    # Behind a proxy, uvicorn puts the client from X-Forwarded-For here only for the proxies
    # in FORWARDED_ALLOW_IPS.
    address = request.client.host if request.client else "unknown"
    per_minute = get_settings().verify_rate_per_minute
    wait = _buckets.take(f"verify:{address}", per_minute)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise TooManyRequests(
            retry_after,
            f"More than {per_minute} verification requests a minute from this address; "
            f"retry in {retry_after} seconds",
            limit_per_minute=per_minute,
        )


Code = Annotated[str, Path(max_length=64, description="The code in the document's QR")]
RateLimited = Depends(_client_rate)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept.split(",")[0]


def _page(status: dict[str, Any]) -> str:
    rows = [
        ("Jenis dokumen", status["document_type"]),
        ("Nomor", status["number"]),
        ("Tanggal", service.tanggal(status["issued_on"])),
        ("Kecamatan", status["kecamatan"]),
        ("Penanda tangan (jabatan)", status["signer_jabatan"]),
        ("Status", STATUS_TEXT[status["status"]]),
        ("Jumlah halaman", str(status["pages"])),
        ("SHA-256", status["sha256"]),
    ]
    if status["status_since"] is not None:
        rows.insert(6, ("Sejak", service.waktu_wib(status["status_since"])))
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    colour = "#1b7a32" if status["status"] == "valid" else "#a11"
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Verifikasi dokumen</title><style>"
        "body{font-family:Arial,Helvetica,sans-serif;max-width:40rem;margin:2rem auto;"
        "padding:0 1rem;color:#222}th{text-align:left;padding:.3rem 1rem .3rem 0;"
        "vertical-align:top}td{word-break:break-all}"
        f".status{{color:{colour};font-weight:bold;font-size:1.3rem}}"
        "</style></head><body><h1>Verifikasi dokumen</h1>"
        f'<p class="status">{html.escape(STATUS_TEXT[status["status"]])}</p>'
        f"<table>{cells}</table>"
        "<p>Halaman ini menyatakan bahwa dokumen dengan nomor di atas diterbitkan oleh "
        "layanan SOP Trantib. Kode QR bukan tanda tangan elektronik. Untuk memeriksa sebuah "
        "berkas PDF, kirimkan berkas tersebut dengan POST ke alamat halaman ini: jawabannya "
        "menyatakan apakah berkas itu sama persis dengan yang diterbitkan.</p>"
        "</body></html>"
    )


@router.get(
    "/v/{code}",
    response_model=schemas.VerificationStatus,
    operation_id="verification_get",
    summary="Public: is this issued document genuine and in force?",
    description="No login. A small HTML page, or JSON with `Accept: application/json`: the "
    "document type, number, date, kecamatan, the signer's jabatan, its status (valid, or "
    "superseded / cancelled with when) and its SHA-256. Rate-limited per client address.",
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **problems(404, 429),
    },
)
def verification_page(
    code: Code, request: Request, session: SessionDep, _rate: None = RateLimited
) -> Any:
    status = files.public_status(session, files.by_code(session, code))
    if _wants_json(request):
        return JSONResponse(schemas.VerificationStatus(**status).model_dump(mode="json"))
    return HTMLResponse(_page(status), headers={"Content-Security-Policy": PAGE_CSP})


@router.post(
    "/v/{code}",
    response_model=schemas.VerificationMatch,
    operation_id="verification_check",
    summary="Public: is this PDF byte-identical to the issued document?",
    description="Send the PDF as the body (`Content-Type: application/pdf`). `matches` is "
    "true only for the exact bytes issued: a changed byte, an edited or re-saved file, or a "
    "forged one does not match. Rate-limited per client address.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses=problems(404, 413, 415, 429),
)
async def verification_check(
    code: Code, request: Request, session: SessionDep, _rate: None = RateLimited
) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/pdf":
        raise UnsupportedMediaType(
            "Send the PDF as the body, with Content-Type: application/pdf",
            accepted=["application/pdf"],
        )
    body = await request.body()
    return await run_in_threadpool(_check, session, code, body)


def _check(session: Session, code: str, body: bytes) -> dict[str, Any]:
    return files.matches(session, files.by_code(session, code), body)
