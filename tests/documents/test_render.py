"""The render process itself: the same data gives the same bytes, in any process, and a
render process that died is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.documents import service
from app.documents.models import DocumentKind, IssuedDocument
from app.documents.render import printable, renderer
from tests.documents.conftest import pdf_of
from tests.lifecycle.flow import Flow


def test_an_issued_letter_renders_again_from_its_stored_data_to_the_same_bytes(
    issued: tuple[Flow, dict[str, Any]], engine: Engine
) -> None:
    flow, order = issued
    stored = pdf_of(
        flow.client.get(f"/api/v1/orders/{order['id']}/document", headers=flow.as_("kasi"))
    )
    with Session(engine) as session:
        document = session.exec(
            select(IssuedDocument).where(IssuedDocument.subject_id == uuid.UUID(order["id"]))
        ).one()
    again = service.render_issued(
        DocumentKind.surat_perintah, document.data, document.issued_at, {}
    )
    assert again.pdf == stored
    assert again.sha256 == order["document_sha256"] == document.sha256


def test_a_killed_render_process_is_replaced(issued: tuple[Flow, dict[str, Any]]) -> None:
    flow, _ = issued
    pid = renderer.pid()
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    second: Flow = type(flow)(flow.client, flow.auth, flow.user_id)
    second.create(title="Unjuk rasa setelah proses render mati")
    second.run_to(5)
    order = second.step5()
    assert order["document_sha256"]
    assert renderer.pid() not in (None, pid)


def test_the_render_process_ends_when_its_api_process_is_killed() -> None:
    """An API worker killed with -9 leaves no render process behind."""
    probe = (
        "import os; from app.documents.render import renderer;"
        " print(renderer._executor().submit(os.getpid).result(), flush=True); os._exit(9)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 9, done.stderr
    pid = int(done.stdout)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting for init to reap it has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_characters_the_font_lacks_print_as_their_code_point() -> None:
    assert printable("Camat 😀 ☃\tCiledug\r\nbaris") == "Camat [U+1F600] [U+2603] Ciledug\nbaris"
    assert printable("Ç é ß Ğ") == "Ç é ß Ğ"
