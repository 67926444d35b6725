"""Receive one file from a multipart/form-data request, streamed to disk as it arrives.

FastAPI's `UploadFile` parses the whole request before the endpoint runs. Here the body is fed
to python-multipart chunk by chunk: the file part goes straight to a temporary file while its
SHA-256 and size are computed, the type is decided from the first bytes, and the request is
refused (413, 415) as soon as the limit is passed or the magic bytes are wrong, without
parsing the rest. The bytes themselves arrived before the request was let in
(app.core.limits): into a temporary file, under the upload deadline and the size limit, so a
slow upload never holds a turn.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from app.core.config import get_settings
from app.core.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from app.field_reports import storage

# The accepted types, by their signature; the declared type and the name are not trusted.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
# The extensions a name may keep for each type; the first is given when it has none of them.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "application/pdf": (".pdf",),
}
SNIFF_BYTES = max(len(magic) for magic, _ in MAGIC)
# Room for boundaries, part headers and the text fields around the file.
FORM_OVERHEAD = 64 * 1024
MAX_FIELD_BYTES = 4096
# Characters that change how a name displays without being part of it: controls, format
# characters (bidi overrides and isolates such as U+202E, zero-width spaces and joiners, the
# BOM, soft hyphens), surrogates and line or paragraph separators. "\u202egnp.exe" shows
# as "exe.png".
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def upload_body(
    description: str,
    fields: dict[str, dict[str, Any]] | None = None,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The OpenAPI request body of a multipart upload: one `file` part, and text `fields`
    (the route reads the body itself, so FastAPI cannot describe it)."""
    properties = {"file": {"type": "string", "format": "binary", "description": description}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", *required],
                        "properties": {**properties, **(fields or {})},
                    }
                }
            },
        }
    }


def sniff(head: bytes) -> str | None:
    for magic, content_type in MAGIC:
        if head.startswith(magic):
            return content_type
    return None


def clean_filename(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _INVISIBLE)
    name = name.strip().strip(".")
    return name[-255:] or "attachment"


def named_for_type(filename: str, content_type: str) -> str:
    """The name with an extension of the type its bytes are: "x.html" holding a PDF is
    "x.pdf", so what the browser saves opens as what it is."""
    extensions = EXTENSIONS[content_type]
    if filename.lower().endswith(extensions):
        return filename
    stem, dot, extension = filename.rpartition(".")
    base = stem if dot and stem else filename
    return base[: 255 - len(extensions[0])] + extensions[0]


@dataclass
class ReceivedFile:
    path: Path
    filename: str
    content_type: str
    size: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Receiver:
    """python-multipart callbacks: one file part to disk, small text fields in memory."""

    def __init__(
        self, file_field: str, text_fields: frozenset[str], max_bytes: int, temp_dir: Path
    ) -> None:
        self.file_field = file_field
        self.text_fields = text_fields
        self.max_bytes = max_bytes
        self.temp_dir = temp_dir
        self.fields: dict[str, str] = {}
        self.part = _Part()
        self.in_file = False
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.handle: IO[bytes] | None = None
        self.path: Path | None = None
        self.filename: str | None = None
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.content_type: str | None = None
        self.file_done = False
        self.ended = False
        self.pending: list[bytes] = []

    # -- python-multipart callbacks -------------------------------------------------------
    def on_part_begin(self) -> None:
        self.part = _Part()
        self.disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.strip().lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise BadRequest("A multipart part has no name")
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")
        if self.part.name == self.file_field:
            if self.part.filename is None:
                raise Unprocessable(f"`{self.file_field}` must be a file part", field="file")
            if self.handle is not None or self.file_done:
                raise Unprocessable("Send one file per request", field=self.file_field)
            fd, name = tempfile.mkstemp(prefix="upload-", dir=self.temp_dir)
            self.path = Path(name)
            self.handle = os.fdopen(fd, "wb")
            self.filename = clean_filename(self.part.filename)
            self.in_file = True
        elif self.part.name not in self.text_fields or self.part.filename is not None:
            raise Unprocessable(f"Unexpected form field `{self.part.name}`", field=self.part.name)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if not self.in_file:
            if len(self.part.data) + len(chunk) > MAX_FIELD_BYTES:
                raise Unprocessable(f"`{self.part.name}` is too long", field=self.part.name)
            self.part.data.extend(chunk)
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"The file is larger than {self.max_bytes} bytes", max_bytes=self.max_bytes
            )
        if self.content_type is None:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._decide_type()
        self.digest.update(chunk)
        self.pending.append(chunk)

    def on_part_end(self) -> None:
        if self.in_file:
            if self.size == 0:
                raise Unprocessable("The file is empty", field=self.file_field)
            if self.content_type is None:
                self._decide_type()
            self.in_file = False
            self.file_done = True
        else:
            self.fields[self.part.name] = self.part.data.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True

    # -- helpers -----------------------------------------------------------------------------
    def _decide_type(self) -> None:
        self.content_type = sniff(self.head)
        if self.content_type is None:
            raise UnsupportedMediaType(
                "The file is not a JPEG, PNG or PDF (decided by its content, not its name)",
                accepted=[content_type for _, content_type in MAGIC],
            )

    async def flush(self) -> None:
        if self.pending and self.handle is not None:
            data = b"".join(self.pending)
            self.pending.clear()
            await anyio.to_thread.run_sync(self.handle.write, data)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _durable(handle: IO[bytes]) -> None:
    # The file is renamed into place and recorded next; its bytes must be on disk first.
    handle.flush()
    os.fsync(handle.fileno())


async def receive_file(
    request: Request,
    *,
    max_bytes: int,
    temp_dir: Path,
    file_field: str = "file",
    text_fields: frozenset[str] = frozenset(),
) -> ReceivedFile:
    """Stream the request's file part to a temporary file; the caller stores or discards it."""
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            "Send the file as multipart/form-data", accepted=["multipart/form-data"]
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("The multipart body has no boundary")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + FORM_OVERHEAD:
        raise PayloadTooLarge(f"The file is larger than {max_bytes} bytes", max_bytes=max_bytes)

    receiver = _Receiver(file_field, text_fields, max_bytes, temp_dir)
    callbacks = {
        "on_part_begin": receiver.on_part_begin,
        "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end,
        "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value,
        "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
        "on_end": receiver.on_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await receiver.flush()
        parser.finalize()
        if not receiver.ended:
            raise BadRequest("The multipart body ended early")
        if not receiver.file_done or receiver.path is None or receiver.handle is None:
            raise Unprocessable(f"A file is required in the `{file_field}` field", field=file_field)
        await anyio.to_thread.run_sync(_durable, receiver.handle)
        receiver.close()
    except BaseException as exc:
        receiver.close()
        if receiver.path is not None:
            receiver.path.unlink(missing_ok=True)
        if isinstance(exc, FormParserError):
            raise BadRequest("The multipart body is malformed") from exc
        raise
    assert receiver.content_type is not None and receiver.filename is not None
    return ReceivedFile(
        path=receiver.path,
        filename=named_for_type(receiver.filename, receiver.content_type),
        content_type=receiver.content_type,
        size=receiver.size,
        sha256=receiver.digest.hexdigest(),
        fields=receiver.fields,
    )


async def receive_upload(request: Request, text_fields: frozenset[str]) -> ReceivedFile:
    """The request's file under the attachment size limit, streamed to the store's incoming
    folder; the caller stores it or discards it."""
    return await receive_file(
        request,
        max_bytes=get_settings().attachment_max_bytes,
        temp_dir=storage.incoming_dir(),
        text_fields=text_fields,
    )
