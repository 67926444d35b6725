"""Swagger UI as a person uses it: log in with the password flow, then try an operation.

Runs a real uvicorn on a migrated SQLite database with the demo users, and Debian's Chromium
driven by Playwright. Skipped when Chromium is not installed, unless TRANTIB_REQUIRE_BROWSER=1
(`make browser-test`, CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import service_environment

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "trantib-browser-test"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Chromium is not installed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("TRANTIB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; TRANTIB_REQUIRE_BROWSER=1 needs it")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    # The test run's own TRANTIB_* settings point at the suite's database; this server has its own.
    return service_environment(
        TRANTIB_ENVIRONMENT="development",
        TRANTIB_DATABASE_URL=f"sqlite:///{tmp_path / 'browser.db'}",
        TRANTIB_DEMO_PASSWORD=PASSWORD,
        TRANTIB_ATTACHMENTS_DIR=str(tmp_path / "attachments"),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("browser")
    env = _env(tmp_path)
    for command in (["migrate"], ["seed-demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "uvicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
        + ["--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start: " + (tmp_path / "uvicorn.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Browsing:
    page: Page
    requested: list[str]
    blocked: list[str]

    @property
    def outside(self) -> list[str]:
        """Requests to another host that the page's Content-Security-Policy did not stop."""
        return [url for url in self.requested if url not in self.blocked]


@pytest.fixture
def browsing(server: str, tmp_path: Path) -> Iterator[Browsing]:
    """A page in a fresh Chromium profile; every request leaving this server is recorded."""
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A fresh profile (--user-data-dir), so no stored authorization carries over.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            seen = Browsing(page, [], [])

            def elsewhere(url: str) -> bool:
                return not url.startswith((server, "data:", "blob:"))

            page.on(
                "request",
                lambda request: (
                    seen.requested.append(request.url) if elsewhere(request.url) else None
                ),
            )
            # ReDoc always asks for its vendor's logo; the CSP of /redoc stops it unsent.
            page.on(
                "requestfailed",
                lambda request: (
                    seen.blocked.append(request.url) if request.failure == "csp" else None
                ),
            )
            try:
                yield seen
            except BaseException:
                page.screenshot(path=str(tmp_path / "page.png"))
                raise
        finally:
            context.close()


def test_log_in_with_the_password_flow_and_try_users_me(server, browsing):
    from playwright.sync_api import expect

    page = browsing.page
    page.goto(server + "/docs")

    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    password_flow = dialog.locator(".auth-container").filter(has_text="Flow: password")
    password_flow.locator("input#oauth_username").fill("camat.ciledug")
    password_flow.locator("input#oauth_password").fill(PASSWORD)
    password_flow.locator("button.authorize").click()
    # Swagger UI swaps Authorize for Logout once the token endpoint answered 200.
    expect(password_flow.locator("button", has_text="Logout")).to_be_visible(timeout=TIMEOUT_MS)
    password_flow.locator("button.btn-done").click()

    operation = page.locator("#operations-users-users_me")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()

    response = operation.locator(".live-responses-table tr.response")
    expect(response.locator(".response-col_status")).to_have_text("200", timeout=TIMEOUT_MS)
    body = response.locator(".response-col_description")
    expect(body).to_contain_text('"role": "camat"', timeout=TIMEOUT_MS)
    expect(body).to_contain_text('"username": "camat.ciledug"', timeout=TIMEOUT_MS)
    assert not browsing.outside, f"the page reached outside this server: {browsing.outside}"


SHOTS = os.environ.get("TRANTIB_BROWSER_SHOTS", "")


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    """A screenshot beside the test's files, and where TRANTIB_BROWSER_SHOTS names a folder."""
    page.screenshot(path=str(tmp_path / name))
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


def test_the_authorize_dialog_asks_an_officer_only_for_username_and_password(
    server, browsing, tmp_path
):
    from playwright.sync_api import expect

    page = browsing.page
    page.goto(server + "/docs")
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    staff = dialog.locator(".auth-container").filter(has_text="Flow: password")
    expect(staff).to_contain_text("Akun petugas (username dan password)")
    expect(staff).to_contain_text("Scope tidak perlu dicentang")
    expect(staff.locator("input#oauth_username")).to_be_visible()
    expect(staff.locator("input#oauth_password")).to_be_visible()
    for hidden in ("#client_id_password", "#client_secret_password", "#password_type"):
        expect(staff.locator(hidden)).to_be_hidden()
    expect(staff.locator(".scopes")).to_be_hidden()
    city = dialog.locator(".auth-container").filter(has_text="Flow: clientCredentials")
    expect(city).to_contain_text("Sistem Pemkot (client_id dan client_secret)")
    expect(city.locator("input#client_id_clientCredentials")).to_be_visible()
    _shot(page, tmp_path, "authorize-dialog.png")

    # A wrong password: the dialog says why, from the answer's error_description.
    staff.locator("input#oauth_username").fill("camat.ciledug")
    staff.locator("input#oauth_password").fill("not-the-password")
    staff.locator("button.authorize").click()
    errors = staff.locator(".errors")
    expect(errors).to_contain_text("invalid_grant", timeout=TIMEOUT_MS)
    expect(errors).to_contain_text("Invalid username or password", timeout=TIMEOUT_MS)
    _shot(page, tmp_path, "authorize-wrong-password.png")
    assert not browsing.outside, f"the page reached outside this server: {browsing.outside}"


def test_redoc_renders_the_document_offline(server, browsing):
    from playwright.sync_api import expect

    page = browsing.page
    page.goto(server + "/redoc")
    expect(page.locator("h1").first).to_contain_text("Trantib SOP service", timeout=TIMEOUT_MS)
    operation = page.get_by_text("What waits on the caller now, oldest first").first
    expect(operation).to_be_attached(timeout=TIMEOUT_MS)
    assert not browsing.outside, f"the page reached outside this server: {browsing.outside}"
