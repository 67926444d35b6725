"""The public verification page /v/{code}: no login, no personal data, byte-identical or not."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.config import get_settings
from tests.documents.conftest import pdf_of, problem
from tests.lifecycle.flow import INCIDENT, ORDER_DRAFT, Flow


def code_of(order: dict[str, Any]) -> str:
    return str(order["verification_url"]).rsplit("/", 1)[1]


class TestPage:
    def test_json_names_the_document_and_says_valid(
        self, issued: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, order = issued
        response = flow.client.get(f"/v/{code_of(order)}", headers={"Accept": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "document_type": "Surat Perintah",
            "number": order["number"],
            "issued_on": order["issued_on"],
            "kecamatan": "Ciledug",
            "signer_jabatan": ORDER_DRAFT["letter"]["penandatangan"]["jabatan"],
            "status": "valid",
            "status_since": None,
            "sha256": order["document_sha256"],
            "pages": 1,
        }

    def test_html_page_without_personal_data(self, issued: tuple[Flow, dict[str, Any]]) -> None:
        flow, order = issued
        response = flow.client.get(f"/v/{code_of(order)}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert order["number"] in page and "SAH" in page and order["document_sha256"] in page
        assert "bukan tanda tangan elektronik" in page
        personal = [
            *[p["nama"] for p in ORDER_DRAFT["letter"]["kepada"]],
            ORDER_DRAFT["letter"]["penandatangan"]["nama"],
            "Camat Ciledug (demo)",
            INCIDENT["organizer"]["name"],
            INCIDENT["organizer"]["contact"],
            INCIDENT["title"],
            INCIDENT["location"]["address"],
        ]
        for value in personal:
            assert value not in page, value
        json_answer = flow.client.get(
            f"/v/{code_of(order)}", headers={"Accept": "application/json"}
        ).text
        for value in personal:
            assert value not in json_answer, value

    def test_a_cancelled_incident_cancels_its_letter(
        self, issued: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, order = issued
        cancelled = flow.client.post(
            f"/api/v1/incidents/{flow.incident_id}/cancel",
            json={"reason": "Unjuk rasa dibatalkan oleh penyelenggara"},
            headers=flow.as_("camat"),
        )
        assert cancelled.status_code == 200, cancelled.text
        answer = flow.client.get(
            f"/v/{code_of(order)}", headers={"Accept": "application/json"}
        ).json()
        assert answer["status"] == "cancelled" and answer["status_since"] is not None
        assert "DIBATALKAN" in flow.client.get(f"/v/{code_of(order)}").text

    def test_an_unknown_code_is_404(self, flow: Flow) -> None:
        problem(flow.client.get("/v/" + "A" * 32), 404, "not-found")
        problem(
            flow.client.post(
                "/v/" + "A" * 32, content=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}
            ),
            404,
            "not-found",
        )


class TestCheck:
    def test_the_issued_bytes_match_and_a_changed_byte_does_not(
        self, issued: tuple[Flow, dict[str, Any]]
    ) -> None:
        flow, order = issued
        pdf = pdf_of(
            flow.client.get(f"/api/v1/orders/{order['id']}/document", headers=flow.as_("kasi"))
        )
        url = f"/v/{code_of(order)}"
        same = flow.client.post(url, content=pdf, headers={"Content-Type": "application/pdf"})
        assert same.status_code == 200, same.text
        assert same.json()["matches"] is True
        assert same.json()["issued_sha256"] == order["document_sha256"]
        middle = len(pdf) // 2
        altered = pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :]
        answer = flow.client.post(
            url, content=altered, headers={"Content-Type": "application/pdf"}
        ).json()
        assert answer["matches"] is False and answer["sha256"] != order["document_sha256"]

    def test_a_body_that_is_not_a_pdf_is_415(self, issued: tuple[Flow, dict[str, Any]]) -> None:
        flow, order = issued
        response = flow.client.post(
            f"/v/{code_of(order)}", content=b"hello", headers={"Content-Type": "text/plain"}
        )
        problem(response, 415, "unsupported-media-type")


def test_each_client_address_has_its_rate(
    issued: tuple[Flow, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.documents import public

    flow, order = issued
    monkeypatch.setenv("TRANTIB_VERIFY_RATE_PER_MINUTE", "3")
    get_settings.cache_clear()
    public._buckets.clear()
    try:
        url = f"/v/{code_of(order)}"
        for _ in range(3):
            assert flow.client.get(url).status_code == 200
        refused = problem(flow.client.get(url), 429, "rate-limited")
        assert refused["limit_per_minute"] == 3
        assert int(flow.client.get(url).headers["retry-after"]) >= 1
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        public._buckets.clear()
