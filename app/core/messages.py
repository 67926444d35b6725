"""The words of problem documents in Bahasa Indonesia, keyed by problem type.

English is the default: a problem's title is its class's, its detail what the code that refused
wrote. A request with `Accept-Language: id` reads the title and detail below instead; `type`,
`status` and every machine member stay as they are. A new problem type needs its entry here
(tests/test_messages.py fails naming the missing type): a title, a detail that holds whatever
the refusal, and, where the problem carries the members it needs, a detail that names them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

from app.auth.roles import role_name

ENGLISH, INDONESIAN = "en", "id"
LANGUAGES = (ENGLISH, INDONESIAN)


@dataclass(frozen=True)
class Message:
    title: str
    detail: str
    # Tried first: filled in from the problem's members (e.g. {current_step}), used when the
    # problem has every member it names.
    specific: str | None = None
    # By the problem's `reason` member, when it has one of these.
    reasons: Mapping[str, str] = field(default_factory=dict)


_ID: dict[str, Message] = {
    # 400
    "bad-request": Message("Permintaan tidak valid", "Permintaan ini tidak dapat diproses."),
    "bad-idempotency-key": Message(
        "Idempotency-Key tidak valid",
        "Header Idempotency-Key harus berisi satu kunci pendek tanpa karakter kendali.",
    ),
    "malformed-json": Message(
        "Isi permintaan bukan JSON yang valid", "Isi permintaan bukan JSON yang valid."
    ),
    "invalid-request": Message(
        "Permintaan token tidak valid",
        "Permintaan token tidak lengkap atau kredensial klien dikirim dengan dua cara.",
    ),
    "invalid-scope": Message(
        "Scope yang diminta tidak valid",
        "Scope yang diminta tidak dikenal atau tidak diberikan kepada akun ini.",
    ),
    "unsupported-grant-type": Message(
        "Jenis grant tidak didukung",
        "Gunakan grant_type=password untuk petugas atau client_credentials untuk sistem.",
    ),
    # 401
    "unauthorized": Message("Perlu masuk", "Silakan masuk (Authorize) terlebih dahulu."),
    "invalid-token": Message(
        "Sesi tidak valid atau telah berakhir",
        "Token tidak valid; silakan masuk lagi.",
        reasons={
            "expired": "Sesi Anda telah berakhir; silakan masuk lagi.",
            "revoked": "Sesi ini telah diakhiri (keluar); silakan masuk lagi.",
        },
    ),
    "invalid-credentials": Message(
        "Username atau password salah", "Username atau password salah, atau akun tidak aktif."
    ),
    "invalid-refresh-token": Message(
        "Sesi tidak dapat diperpanjang",
        "Refresh token tidak dikenal, kedaluwarsa atau sudah dipakai; silakan masuk lagi.",
    ),
    "invalid-client": Message(
        "Autentikasi sistem gagal",
        "client_id atau client_secret salah, atau sistem ini dinonaktifkan.",
    ),
    # 403
    "forbidden": Message(
        "Tidak diizinkan",
        "Akun Anda tidak diizinkan melakukan tindakan ini.",
        specific="Hanya {allowed_roles_names} yang dapat melakukan ini; Anda masuk sebagai "
        "{role_name}.",
    ),
    "insufficient-scope": Message(
        "Tidak diizinkan",
        "Akun Anda tidak memiliki izin (scope) untuk tindakan ini.",
        specific="Hanya {allowed_roles_names} yang dapat melakukan ini (perlu scope "
        "{required_scopes_text}).",
    ),
    "forbidden-unit": Message(
        "Data kecamatan lain",
        "Data ini milik kecamatan lain; Anda hanya dapat memakai milik kecamatan Anda.",
    ),
    "not-assigned": Message(
        "Bukan penugasan Anda",
        "Anda tidak ditugaskan pada insiden ini untuk langkah ini.",
    ),
    "not-author": Message(
        "Bukan penyusunnya", "Hanya penyusunnya yang dapat mengubah atau melakukan ini."
    ),
    "own-draft": Message(
        "Tidak dapat memverifikasi draft sendiri",
        "Draft yang Anda susun sendiri diverifikasi oleh orang lain.",
    ),
    "same-person-twice": Message(
        "Satu orang satu tahap",
        "Anda sudah mengambil satu tahap pada versi draft ini; pejabat lain harus mengambil "
        "tahap ini.",
        specific="Anda sudah mengambil tahap {taken_stage} pada versi draft ini; pejabat lain "
        "harus mengambil tahap {stage}.",
    ),
    "delegation-not-yours": Message(
        "Bukan kewenangan Anda",
        "Hanya administrator, atau pemegang jabatan itu sendiri untuk Plh-nya, yang dapat "
        "mencatat atau mengakhiri pelimpahan ini. Plt selalu dicatat oleh administrator.",
    ),
    "delegations-for-people-only": Message(
        "Pelimpahan hanya untuk petugas",
        "Data Plh dan Plt hanya dapat dibuka oleh petugas yang masuk, bukan oleh sistem.",
    ),
    "staff-for-people-only": Message(
        "Daftar petugas hanya untuk petugas",
        "Daftar petugas hanya dapat dibuka oleh petugas yang masuk, bukan oleh sistem.",
    ),
    # 404 to 408
    "not-found": Message("Tidak ditemukan", "Data ini tidak ada, atau bukan milik kecamatan Anda."),
    "push-disabled": Message(
        "Web Push tidak aktif", "Layanan ini tidak mengirim Web Push (TRANTIB_PUSH_ENABLED)."
    ),
    "no-document": Message(
        "Dokumen tidak ada",
        "Belum ada dokumen ini: dokumen terbit saat langkahnya selesai, dan Surat Perintah "
        "Walikota hanya ada bila pindaiannya sudah diunggah.",
    ),
    "method-not-allowed": Message(
        "Metode tidak diizinkan", "Alamat ini tidak menerima metode HTTP tersebut."
    ),
    "not-acceptable": Message(
        "Format jawaban tidak tersedia", "Jawaban tersedia sebagai JSON saja."
    ),
    "request-timeout": Message(
        "Isi permintaan terlalu lambat", "Isi permintaan tiba terlalu lambat; kirim lagi."
    ),
    # 409
    "conflict": Message("Konflik", "Permintaan ini bertentangan dengan keadaan data saat ini."),
    "wrong-step": Message(
        "Belum dapat dilakukan pada langkah ini",
        "Tindakan ini tidak dapat dilakukan pada langkah insiden saat ini.",
        specific="Tindakan ini belum dapat dilakukan: insiden sedang di langkah "
        "{current_step} ({step_name}) dan menunggu {waiting_on_name}.",
    ),
    "concurrent-update": Message(
        "Data berubah saat diproses",
        "Tindakan lain pada data ini diterima lebih dulu; muat ulang lalu coba lagi.",
    ),
    "incident-closed": Message(
        "Insiden sudah selesai",
        "Insiden ini sudah ditutup atau dibatalkan; tidak ada tindakan lagi.",
    ),
    "idempotency-in-flight": Message(
        "Permintaan masih diproses",
        "Permintaan dengan Idempotency-Key yang sama masih diproses; tunggu sebentar.",
    ),
    "already-dispatched": Message(
        "Perintah sudah diberikan", "Surat Perintah ini sudah diberikan kepada Danru."
    ),
    "already-reported": Message(
        "Sudah melapor", "Anggota ini sudah mengirim laporan pelaksanaan lapangan."
    ),
    "attachment-limit": Message(
        "Lampiran sudah penuh", "Laporan ini sudah memiliki lampiran sebanyak yang diizinkan."
    ),
    "delivery-pending": Message(
        "Pengiriman sudah antre", "Pengiriman webhook ini sudah dalam antrean."
    ),
    "draft-exists": Message("Draft sudah ada", "Insiden ini sudah memiliki draft jenis ini."),
    "draft-frozen": Message(
        "Draft tidak dapat diubah lagi", "Draft ini sudah disetujui atau divalidasi."
    ),
    "draft-in-review": Message(
        "Draft sedang diverifikasi", "Draft ini sedang diverifikasi; tunggu hasilnya."
    ),
    "draft-not-approved": Message(
        "Draft belum diverifikasi penuh", "Draft ini belum disetujui pada semua tahap verifikasi."
    ),
    "draft-not-revised": Message(
        "Draft belum diperbaiki", "Perbaiki draft yang dikembalikan (PATCH) sebelum mengirim lagi."
    ),
    "draft-not-submitted": Message(
        "Draft belum dikirim", "Draft ini tidak sedang menunggu verifikasi."
    ),
    "no-field-reports": Message(
        "Belum ada laporan lapangan",
        "Pekerjaan lapangan belum dapat ditutup sebelum ada anggota yang melapor.",
    ),
    "number-taken": Message(
        "Nomor sudah dipakai",
        "Nomor surat ini sudah tercatat di kecamatan ini; gunakan nomor surat yang sebenarnya.",
    ),
    "report-not-approved": Message(
        "Laporan belum disetujui", "Belum ada Laporan Pelaksanaan yang disetujui untuk diarsipkan."
    ),
    "delegation-overlap": Message(
        "Jabatan sudah dilimpahkan pada masa itu",
        "Pada masa itu jabatan ini sudah dipegang Plh/Plt lain; akhiri atau ubah yang lain "
        "terlebih dahulu.",
        specific="Pada masa itu jabatan ini sudah dipegang oleh pelimpahan {other}.",
    ),
    "already-archived": Message(
        "Insiden sudah diarsipkan",
        "Berkas insiden yang sudah diarsipkan tidak menerima dokumen lagi.",
    ),
    "delegation-ended": Message(
        "Pelimpahan sudah berakhir", "Pelimpahan ini sudah berakhir atau sudah dicabut."
    ),
    "position-would-be-vacant": Message(
        "Jabatan akan kosong",
        "Insiden kecamatan ini menunggu jabatan tersebut: catat Plt terlebih dahulu, atau "
        "kirim allow_vacancy=true untuk tetap mengosongkannya.",
    ),
    "role-holder-exists": Message(
        "Jabatan sudah terisi", "Kecamatan ini sudah memiliki pemegang aktif jabatan tersebut."
    ),
    "self-lockout": Message(
        "Tidak dapat mengunci diri sendiri",
        "Administrator tidak dapat menonaktifkan atau menurunkan perannya sendiri.",
    ),
    "stored-file-mismatch": Message(
        "Berkas tersimpan tidak cocok", "Sebuah berkas tersimpan tidak cocok dengan hash-nya."
    ),
    "username-taken": Message("Username sudah dipakai", "Pilih username lain."),
    # 412 to 429
    "precondition-failed": Message(
        "Data sudah berubah",
        "Data sudah berubah sejak Anda memuatnya; muat ulang lalu coba lagi.",
        specific="Data sudah berubah: versinya sekarang {current_version}; muat ulang lalu "
        "coba lagi.",
    ),
    "payload-too-large": Message("Isi permintaan terlalu besar", "Isi permintaan terlalu besar."),
    "unsupported-media-type": Message(
        "Jenis isi tidak didukung", "Jenis isi (Content-Type) ini tidak diterima."
    ),
    "validation-error": Message(
        "Isian tidak valid",
        "Ada isian yang tidak valid.",
        specific="Ada isian yang tidak valid: {fields}.",
    ),
    "idempotency-key-reused": Message(
        "Idempotency-Key dipakai ulang",
        "Idempotency-Key ini sudah dipakai untuk isi permintaan lain; buat kunci baru.",
    ),
    "occurred-at-out-of-bounds": Message(
        "Waktu kejadian di luar batas",
        "Waktu kejadian (occurred_at) di luar batas yang diizinkan langkah ini.",
        specific="Waktu kejadian ({field}) di luar batas; batasnya {bound}.",
    ),
    "occurred-at-reason-required": Message(
        "Perlu alasan", "Waktu kejadian sejauh ini ke belakang perlu alasan (occurred_at_reason)."
    ),
    "unit-role-mismatch": Message(
        "Peran dan kecamatan tidak cocok", "Peran ini dan kecamatan yang dipilih tidak cocok."
    ),
    "delegate-not-eligible": Message(
        "Petugas ini tidak dapat menjadi Plh/Plt",
        "Plh atau Plt adalah petugas aktif kecamatan yang sama, bukan anggota dan bukan "
        "pemegang jabatan itu sendiri.",
    ),
    "delegation-period-invalid": Message(
        "Masa pelimpahan tidak valid",
        "Pelimpahan berlaku mulai sekarang atau nanti, dan berakhir setelah dimulai.",
    ),
    "unknown-unit": Message("Kecamatan tidak dikenal", "Tidak ada kecamatan dengan kode itu."),
    "webhook-url-not-allowed": Message(
        "URL webhook tidak diizinkan", "URL webhook ini tidak diizinkan."
    ),
    "push-endpoint-not-allowed": Message(
        "Endpoint push tidak diizinkan",
        "Endpoint push harus https dan mengarah ke alamat publik.",
    ),
    "push-keys-invalid": Message(
        "Kunci langganan push tidak valid",
        "keys.p256dh harus titik P-256 (65 byte) dan keys.auth 16 byte, dalam base64url.",
    ),
    "too-many-streams": Message(
        "Terlalu banyak siaran langsung",
        "Terlalu banyak siaran langsung terbuka untuk pengguna ini; tutup salah satu.",
    ),
    "rate-limited": Message(
        "Terlalu banyak permintaan",
        "Terlalu banyak permintaan; tunggu sebentar lalu coba lagi (lihat Retry-After).",
    ),
    # 500, 503
    "internal-error": Message(
        "Kesalahan server", "Server tidak dapat menyelesaikan permintaan; kejadian ini dicatat."
    ),
    "content-missing": Message(
        "Berkas lampiran hilang", "Berkas lampiran ini tidak ada di penyimpanan."
    ),
    "service-unavailable": Message(
        "Layanan sedang penuh",
        "Layanan sedang penuh; coba lagi sebentar lagi.",
        reasons={
            "database-connection-lost": "Sambungan ke basis data terputus; tidak ada yang "
            "berubah, kirim ulang permintaan ini."
        },
    ),
}

CATALOGUE: dict[str, dict[str, Message]] = {INDONESIAN: _ID}


def language(accept_language: str | None) -> str:
    """The language a problem is answered in: the client's most preferred of ours by
    Accept-Language (q-values), English when it names none of them."""
    best, best_q = ENGLISH, 0.0
    for part in (accept_language or "").split(","):
        tag, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.lower().split("-", 1)[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def _values(members: Mapping[str, Any]) -> dict[str, Any]:
    """The problem's members, and the words people read for the machine ones."""
    values = dict(members)
    if members.get("waiting_on"):
        values["waiting_on_name"] = role_name(str(members["waiting_on"]))
    if members.get("role"):
        values["role_name"] = role_name(str(members["role"]))
    if members.get("allowed_roles"):
        values["allowed_roles_names"] = " atau ".join(
            role_name(str(r)) for r in members["allowed_roles"]
        )
    if members.get("required_scopes"):
        values["required_scopes_text"] = " atau ".join(map(str, members["required_scopes"]))
    if members.get("errors"):
        values["fields"] = ", ".join(
            e.get("field") or ".".join(e.get("loc", [])) for e in members["errors"][:5]
        )
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _fits(template: str, values: Mapping[str, Any]) -> bool:
    return all(name in values for _, name, _, _ in Formatter().parse(template) if name)


def localize(
    lang: str, kind: str, title: str, detail: str | None, members: Mapping[str, Any]
) -> tuple[str, str | None]:
    """The title and detail of a problem in `lang`; English (the code's own words) unless the
    catalogue has the type in that language."""
    message = CATALOGUE.get(lang, {}).get(kind)
    if message is None:
        return title, detail
    reason = members.get("reason")
    if isinstance(reason, str) and reason in message.reasons:
        return message.title, message.reasons[reason]
    values = _values(members)
    if message.specific and _fits(message.specific, values):
        return message.title, message.specific.format_map(values)
    return message.title, message.detail
