"""The named request examples Swagger UI offers walk an incident through its steps as they
are, but for what the README's walkthrough says to change: ids from earlier answers and the
Surat Perintah Walikota's number."""

from __future__ import annotations

from typing import Any

from tests.lifecycle.flow import Flow


def _examples(flow: Flow, path: str) -> dict[str, Any]:
    document = flow.client.get("/openapi.json").json()
    media = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in media["examples"].items()}


def test_the_named_examples_walk_an_incident(flow: Flow) -> None:
    orders = _examples(flow, "/api/v1/incidents/{incident_id}/orders")
    drafts = _examples(flow, "/api/v1/incidents/{incident_id}/drafts")
    orders_url = "/api/v1/incidents/{}/orders"

    flow.create()
    recorded = flow.client.post(
        orders_url.format(flow.incident_id), json=orders["walikota"], headers=flow.as_("camat")
    )
    assert recorded.status_code == 201, recorded.text

    # The same letter again in the kecamatan: the number is what the walkthrough changes.
    second = Flow(flow.client, flow.auth, flow.user_id)
    second.create()
    again = second.client.post(
        orders_url.format(second.incident_id), json=orders["walikota"], headers=flow.as_("camat")
    )
    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("/number-taken")

    flow.step2()
    written = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/drafts",
        json=drafts["order"],
        headers=flow.as_("danru"),
    )
    assert written.status_code == 201, written.text
    flow.draft_id = written.json()["id"]
    flow.run_to(5)
    validated = flow.client.post(
        orders_url.format(flow.incident_id),
        json={**orders["surat_perintah"], "draft_id": flow.draft_id},
        headers=flow.as_("camat"),
    )
    assert validated.status_code == 201, validated.text
    flow.order_id = validated.json()["id"]

    flow.run_to(9)
    report = flow.client.post(
        f"/api/v1/incidents/{flow.incident_id}/drafts",
        json={**drafts["report"], "field_report_ids": flow.field_report_ids},
        headers=flow.as_("danru"),
    )
    assert report.status_code == 201, report.text
