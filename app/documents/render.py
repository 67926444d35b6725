"""Render a template to PDF in a render process of its own, synchronously.

Typst keeps about 100 MB of caches after its first renders; in a process of its own they stay
off the API worker's heap, and a worker that renders nothing never pays for them. The caller
waits for the bytes (a document issued by a step action is fixed inside that action's
transaction), one render at a time per API process: the plain `typst.compile` call is used,
never a shared Compiler (which fails when two threads use it).

What a user typed reaches the template only as JSON data in `sys.inputs`, never as template
source: a title written in typst markup prints as those characters. Characters the shipped
font cannot show (emoji, symbols outside it) would make a PDF/A render fail, so they print
as their code point, "[U+1F600]", instead; a tab prints as a space, and a line end as a line
break. Rendering is deterministic: the fonts ship with the
package, system fonts are ignored and the creation time is the document's own.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import struct
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
FONTS = HERE / "fonts"
# The key of the JSON data in the template's sys.inputs.
DATA_INPUT = "data"
# Values of these keys are not user text but machine-made markup (the QR as SVG).
_RAW_KEYS = frozenset({"qr_svg"})
_PAGE_COUNT = re.compile(rb"/Count (\d+)")
RENDER_TIMEOUT_SECONDS = 60.0
# How often the render process looks whether the API process that started it is still there.
PARENT_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    sha256: str
    pages: int
    template_sha256: str


@cache
def _font_codepoints() -> frozenset[int]:
    """Every character the shipped fonts map (their common part), read from the cmap tables."""
    sets = [_codepoints(path.read_bytes()) for path in sorted(FONTS.glob("*.ttf"))]
    return frozenset.intersection(*sets)


def _codepoints(font: bytes) -> frozenset[int]:
    tables = {
        font[12 + 16 * i : 16 + 16 * i]: struct.unpack(">I", font[20 + 16 * i : 24 + 16 * i])[0]
        for i in range(struct.unpack(">H", font[4:6])[0])
    }
    cmap = tables[b"cmap"]
    chosen: tuple[int, int] | None = None
    for i in range(struct.unpack(">H", font[cmap + 2 : cmap + 4])[0]):
        platform, _, offset = struct.unpack(">HHI", font[cmap + 4 + 8 * i : cmap + 12 + 8 * i])
        at = cmap + offset
        fmt = struct.unpack(">H", font[at : at + 2])[0]
        if platform == 3 and fmt in (4, 12) and (chosen is None or fmt == 12):
            chosen = (fmt, at)
    if chosen is None:
        raise ValueError("font has no Unicode cmap")
    fmt, at = chosen
    points: set[int] = set()
    if fmt == 12:
        for g in range(struct.unpack(">I", font[at + 12 : at + 16])[0]):
            start, end, _ = struct.unpack(">III", font[at + 16 + 12 * g : at + 28 + 12 * g])
            points.update(range(start, end + 1))
    else:
        double = struct.unpack(">H", font[at + 6 : at + 8])[0]
        count = double // 2
        ends = struct.unpack(f">{count}H", font[at + 14 : at + 14 + double])
        starts = struct.unpack(f">{count}H", font[at + 16 + double : at + 16 + 2 * double])
        for start, end in zip(starts, ends, strict=True):
            if start != 0xFFFF:
                points.update(range(start, end + 1))
    return frozenset(points)


def printable(text: str) -> str:
    """The text with every character the fonts cannot show written as its code point."""
    shown = _font_codepoints()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(
        ch if ch == "\n" or (ord(ch) in shown and ord(ch) >= 0x20) else f"[U+{ord(ch):04X}]"
        for ch in text
    )


def _printable_data(value: Any, key: str | None = None) -> Any:
    if isinstance(value, str):
        return value if key in _RAW_KEYS else printable(value)
    if isinstance(value, dict):
        return {k: _printable_data(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_data(v) for v in value]
    return value


@cache
def template_sha256(template: str) -> str:
    """The hash of a template with the shared parts it imports (every file of the folder)."""
    digest = hashlib.sha256()
    for path in sorted(TEMPLATES.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(template.encode())
    return digest.hexdigest()


def _compile(
    template: str, data: str, files: dict[str, str], standard: str | None, timestamp: int
) -> bytes:
    """Runs in the render process: the template folder and the files the data names (photos)
    are laid in a private folder, the only one the template can read."""
    import typst

    with tempfile.TemporaryDirectory(prefix="trantib-render-") as folder:
        root = Path(folder)
        for path in TEMPLATES.iterdir():
            shutil.copyfile(path, root / path.name)
        unreadable = []
        if files:
            (root / "files").mkdir()
            for name, source in files.items():
                shutil.copyfile(source, root / "files" / name)
                # A photo whose bytes typst cannot decode (its type was decided by its first
                # bytes only) is named to the template, which prints a note in its place.
                try:
                    probe = f'#image("files/{name}")'.encode()
                    typst.compile(probe, root=str(root), ignore_system_fonts=True)  # type: ignore[type-var]
                except typst.TypstError:
                    unreadable.append(name)
        if unreadable:
            parsed = json.loads(data)
            kop = parsed.get("kop") or {}
            if kop.get("logo") in unreadable:
                kop["logo"] = None  # the placeholder, rather than no letter at all
            data = json.dumps({**parsed, "unreadable": sorted(unreadable)})
        pdf = typst.compile(
            str(root / template),
            root=str(root),
            font_paths=[str(FONTS)],
            ignore_system_fonts=True,
            sys_inputs={DATA_INPUT: data},
            pdf_standards=[standard] if standard else [],  # type: ignore[list-item]
            timestamp=timestamp,
        )
    assert isinstance(pdf, bytes)
    return pdf


def _leave_with_parent(parent: int) -> None:
    """Runs in the render process as it starts: it ends itself once the API process that
    started it is gone. A process pool's worker holds both ends of its own task queue, so a
    parent killed with -9 (or one that exits while a request starts a fresh render process
    during its shutdown) would otherwise leave it waiting for a task for ever, 85 MB each."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class RenderProcess:
    """One long-lived render process, started on first use and again after it died."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_leave_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def compile(
        self,
        template: str,
        data: str,
        files: dict[str, str],
        standard: str | None,
        timestamp: int,
    ) -> bytes:
        with self._lock:
            for attempt in (1, 2):
                try:
                    future = self._executor().submit(
                        _compile, template, data, files, standard, timestamp
                    )
                    return future.result(timeout=RENDER_TIMEOUT_SECONDS)
                except BrokenProcessPool:
                    # The process died (killed, out of memory): a fresh one tries once more.
                    self._pool = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def pid(self) -> int | None:
        """The render process's id, once it runs (for the benchmark's memory readings)."""
        pool = self._pool
        processes = getattr(pool, "_processes", None) if pool is not None else None
        return next(iter(processes), None) if processes else None

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None


renderer = RenderProcess()


def render(
    template: str,
    data: dict[str, Any],
    *,
    created_at: datetime,
    pdf_a: bool,
    files: dict[str, Path] | None = None,
) -> Rendered:
    """The PDF of `template` filled with `data`; the same arguments give the same bytes."""
    text = json.dumps(_printable_data(data), ensure_ascii=False, sort_keys=True)
    pdf = renderer.compile(
        template,
        text,
        {name: str(path) for name, path in (files or {}).items()},
        "a-2b" if pdf_a else None,
        int(created_at.timestamp()),
    )
    counts = [int(n) for n in _PAGE_COUNT.findall(pdf)]
    return Rendered(
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        pages=max(counts) if counts else 1,
        template_sha256=template_sha256(template),
    )
