"""Concurrent actions on one incident over a real HTTP server: exactly one wins."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.lifecycle.flow import WALIKOTA_ORDER, Flow

pytestmark = pytest.mark.slow


def fire(url: str, calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    """Send every call at once from its own thread and connection."""
    barrier = threading.Barrier(len(calls))

    def send(call: tuple[str, dict, dict]) -> httpx.Response:
        path, body, headers = call
        with httpx.Client(base_url=url, timeout=30) as client:
            barrier.wait()
            return client.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


def test_two_step_actions_at_once_one_wins(flow: Flow, live_url: str) -> None:
    flow.run_to(1)
    body = {**WALIKOTA_ORDER, "number": "WK/RACE"}
    calls = [
        (
            f"/api/v1/incidents/{flow.incident_id}/orders",
            {**body, "number": f"WK/RACE/{i}"},
            flow.as_("camat"),
        )
        for i in range(6)
    ]
    responses = fire(live_url, calls)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 5, [r.text for r in responses]
    assert flow.incident()["current_step"] == 2
    orders = flow.client.get(
        f"/api/v1/incidents/{flow.incident_id}/orders", headers=flow.as_("camat")
    ).json()
    assert len(orders) == 1


def test_surat_perintah_numbers_have_no_gaps_under_concurrency(flow_for, live_url: str) -> None:
    flows = [flow_for("ciledug") for _ in range(5)]
    for one in flows:
        one.run_to(5)
    calls = [
        (
            f"/api/v1/incidents/{one.incident_id}/orders",
            {"kind": "surat_perintah", "draft_id": one.draft_id},
            one.as_("camat"),
        )
        for one in flows
    ]
    responses = fire(live_url, calls)
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    sequences = sorted(int(re.split("/", r.json()["number"])[1]) for r in responses)
    assert sequences == [1, 2, 3, 4, 5]
