"""GET /api/v1/sla/summary.csv and /sla/breaches.csv: the CSV files as operations of their
own (a generated client reads one type per answer), the same files ?format=csv answers."""

from __future__ import annotations

import pytest

PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
CSV_ROUTES = [
    ("/api/v1/sla/summary.csv", "/api/v1/sla/summary"),
    ("/api/v1/sla/breaches.csv", "/api/v1/sla/breaches"),
]


@pytest.mark.parametrize(("csv_url", "json_url"), CSV_ROUTES)
def test_the_file_is_the_one_format_csv_answers(client, auth, csv_url, json_url) -> None:
    headers = auth("kasi.ciledug")
    answer = client.get(csv_url, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.text == client.get(json_url, params={"format": "csv"}, headers=headers).text


@pytest.mark.parametrize(("csv_url", "_"), CSV_ROUTES)
def test_refusals(client, auth, csv_url, _) -> None:
    assert client.get(csv_url).json()["type"] == PROBLEM + "unauthorized"
    refused = client.get(csv_url, headers=auth("anggota2.ciledug"))
    assert (refused.status_code, refused.json()["type"]) == (403, PROBLEM + "insufficient-scope")
    other = client.get(csv_url, params={"unit": "tangerang"}, headers=auth("camat.ciledug"))
    assert (other.status_code, other.json()["type"]) == (403, PROBLEM + "forbidden-unit")
