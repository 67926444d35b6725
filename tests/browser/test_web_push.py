"""The example service worker (examples/web-push/) in headless Chromium shows a message the
push worker delivered: the decrypted payload the local push service received is handed to
the service worker by DevTools' ServiceWorker.deliverPushMessage, standing in for the
browser vendor's push service, and the notification it shows is read back with
registration.getNotifications().

Skipped without Chromium, unless TRANTIB_REQUIRE_BROWSER=1 (as the Swagger UI test)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.push import delivery
from tests.browser.test_swagger_ui import CHROMIUM_ARGS, TIMEOUT_MS, _chromium
from tests.browser.web_app import web_app
from tests.fixtures.push_service import PushService

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "web-push"
PAGE = "<!doctype html><title>Trantib</title><p>Trantib</p>"


@pytest.fixture
def app_origin() -> Iterator[str]:
    """The web app's origin, serving the example service worker."""
    with web_app(EXAMPLE, PAGE) as origin:
        yield origin


def test_a_delivered_push_is_shown_by_the_service_worker(
    engine,
    flow,
    notify,
    subscribe,
    push_service: PushService,
    app_origin: str,
    tmp_path: Path,
) -> None:
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    incident = flow.create()
    subscribe("camat.ciledug", push_service.browser())
    notify("camat.ciledug", incident["id"], "sla.breached")
    assert delivery.run_once(engine).delivered == 1
    [pushed] = push_service.wait_for(1)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            context.grant_permissions(["notifications"], origin=app_origin)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            cdp = context.new_cdp_session(page)
            registrations: list[dict[str, Any]] = []
            cdp.on(
                "ServiceWorker.workerRegistrationUpdated",
                lambda event: registrations.extend(event["registrations"]),
            )
            cdp.send("ServiceWorker.enable")
            page.goto(app_origin + "/")
            page.evaluate(
                "async () => { await navigator.serviceWorker.register('/service-worker.js');"
                " await navigator.serviceWorker.ready; }"
            )
            deadline = time.monotonic() + TIMEOUT_MS / 1000
            while not registrations and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            registration = next(r for r in registrations if not r.get("isDeleted"))
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {
                    "origin": app_origin + "/",
                    "registrationId": registration["registrationId"],
                    "data": json.dumps(pushed.payload),
                },
            )
            shown = page.wait_for_function(
                "async () => { const r = await navigator.serviceWorker.ready;"
                " const n = await r.getNotifications();"
                " return n.length ? n.map(x => ({title: x.title, body: x.body, tag: x.tag,"
                " id: x.data && x.data.id})) : null; }"
            ).json_value()
            # The same message again (a delivery repeated after a crash) shows nothing new.
            cdp.send(
                "ServiceWorker.deliverPushMessage",
                {
                    "origin": app_origin + "/",
                    "registrationId": registration["registrationId"],
                    "data": json.dumps(pushed.payload),
                },
            )
            page.wait_for_timeout(500)
            again = page.evaluate(
                "async () => (await (await navigator.serviceWorker.ready).getNotifications())"
                ".length"
            )
        finally:
            context.close()

    assert shown == [
        {
            "title": pushed.payload["title"],
            "body": pushed.payload["body"],
            "tag": f"{incident['id']}/1",
            "id": pushed.payload["id"],
        }
    ]
    assert incident["register_number"] in shown[0]["body"]
    assert again == 1
