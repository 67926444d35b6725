"""A web app's origin for the browser tests: a page at / and the files of one folder."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Static(SimpleHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        if self.path != "/":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def web_app(folder: Path, page: str) -> Iterator[str]:
    """`page` at / and `folder`'s files, on 127.0.0.1 (a secure context, as service workers
    need); the origin."""
    handler = type("Static", (_Static,), {"page": page.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
