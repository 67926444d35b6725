"""GET /api/v1/sla/summary: figures computed by the database equal a hand count."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.lifecycle.sop import V1, V2, definition
from tests.timing.factory import wib

URL = "/api/v1/sla/summary"
PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
FROM = "2026-10-01T00:00:00+07:00"


@pytest.fixture
def dataset(seed) -> None:  # type: ignore[no-untyped-def]
    base = wib(2026, 10, 5, 9)
    hour = timedelta(hours=1)
    ciledug = [seed.incident("ciledug", base + i * hour) for i in range(6)]
    for incident, elapsed in zip(ciledug, (600, 1200, 3000, 4000), strict=False):
        seed.run(incident, 1, base, elapsed=elapsed)
    seed.run(ciledug[4], 1, base)  # running
    seed.run(ciledug[5], 1, base, elapsed=60, cancelled=True)
    seed.run(ciledug[0], 2, base + hour, elapsed=5000, role="kasi_trantib")
    # Started before the report window.
    early = seed.incident("ciledug", wib(2026, 9, 1, 9))
    seed.run(early, 1, wib(2026, 9, 1, 9), elapsed=9999)
    tangerang = [seed.incident("tangerang", base + i * hour) for i in range(3)]
    for incident, elapsed in zip(tangerang, (100, 200, 300), strict=True):
        seed.run(incident, 1, base, elapsed=elapsed)
    for incident, elapsed in zip(tangerang, (100_000, 200_000), strict=False):
        seed.run(
            incident,
            9,
            base + 2 * hour,
            sla="2 Hari",
            calendar="working_days",
            elapsed=elapsed,
            role="danru",
        )


def stats(
    step: int,
    runs: int,
    completed: int,
    on_time: int,
    late: int,
    running: int,
    cancelled: int,
    rate: float | None,
    median: float | None,
    p90: float | None,
    worst: int | None,
    unit: dict | None,
) -> dict:  # type: ignore[type-arg]
    return {
        "unit": unit,
        "sop_version": V1,
        "step": step,
        "step_code": definition(V1).step(step).code,
        "runs": runs,
        "completed": completed,
        "on_time": on_time,
        "late": late,
        "running": running,
        "cancelled": cancelled,
        # The dataset claims nothing: both clocks agree with the official one.
        "on_time_by_claimed": on_time,
        "on_time_by_recorded": on_time,
        "breach_announced": 0,
        "backdated": 0,
        "on_time_rate": rate,
        "median_elapsed_seconds": median,
        "p90_elapsed_seconds": p90,
        "max_elapsed_seconds": worst,
    }


TANGERANG = {"id": 1, "code": "36.71.01", "name": "Tangerang"}
CILEDUG = {"id": 6, "code": "36.71.06", "name": "Ciledug"}

CILEDUG_1 = stats(1, 6, 4, 3, 1, 1, 1, 0.75, 2100, 3700, 4000, CILEDUG)
CILEDUG_2 = stats(2, 1, 1, 0, 1, 0, 0, 0.0, 5000, 5000, 5000, CILEDUG)
TANGERANG_1 = stats(1, 3, 3, 3, 0, 0, 0, 1.0, 200, 280, 300, TANGERANG)
TANGERANG_9 = stats(9, 2, 2, 1, 1, 0, 0, 0.5, 150_000, 190_000, 200_000, TANGERANG)


class TestRefusals:
    def test_anonymous_is_401(self, client) -> None:
        response = client.get(URL)
        assert response.status_code == 401
        assert response.json()["type"] == PROBLEM + "unauthorized"

    def test_role_without_sla_read_is_403(self, client, auth) -> None:
        response = client.get(URL, headers=auth("anggota2.ciledug"))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "insufficient-scope"

    @pytest.mark.parametrize("unit", ["tangerang", "36.71.01"])
    def test_unit_role_asking_for_another_unit_is_403(self, client, auth, unit) -> None:
        response = client.get(URL, params={"unit": unit}, headers=auth("camat.ciledug"))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "forbidden-unit"

    @pytest.mark.parametrize(
        "params",
        [
            {"unit": "atlantis"},
            {"from": "2026-10-02T00:00:00+07:00", "to": "2026-10-01T00:00:00+07:00"},
            {"from": "2026-10-01T00:00:00"},
            {"step": "100"},
            {"step": "0"},
        ],
    )
    def test_bad_parameters_are_422(self, client, auth, params) -> None:
        response = client.get(URL, params=params, headers=auth("pimpinan"))
        assert response.status_code == 422
        assert response.json()["type"] == PROBLEM + "validation-error"


@pytest.mark.usefixtures("dataset")
class TestSummary:
    @pytest.mark.parametrize("unit", [None, "ciledug", "36.71.06"])
    def test_unit_role_sees_its_own_unit(self, client, auth, unit) -> None:
        params = {"from": FROM} | ({"unit": unit} if unit else {})
        response = client.get(URL, params=params, headers=auth("kasi.ciledug"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["scope"]["unit"] == CILEDUG
        assert body["by_step"] == [CILEDUG_1, CILEDUG_2]
        assert body["by_unit"] == []

    def test_without_a_window_every_run_counts(self, client, auth) -> None:
        body = client.get(URL, headers=auth("camat.ciledug")).json()
        step1 = body["by_step"][0]
        assert step1 == stats(1, 7, 5, 3, 2, 1, 1, 0.6, 3000, 7599.4, 9999, CILEDUG)

    def test_window_end_is_exclusive(self, client, auth) -> None:
        params = {"to": "2026-10-05T09:00:00+07:00"}
        body = client.get(URL, params=params, headers=auth("camat.ciledug")).json()
        assert body["by_step"] == [stats(1, 1, 1, 0, 1, 0, 0, 0.0, 9999, 9999, 9999, CILEDUG)]
        assert body["scope"]["to"].startswith("2026-10-05T02:00:00")

    @pytest.mark.parametrize("user", ["pimpinan", "admin"])
    def test_city_wide_callers_see_every_unit_and_the_whole(self, client, auth, user) -> None:
        body = client.get(URL, params={"from": FROM}, headers=auth(user)).json()
        assert body["scope"]["unit"] is None
        assert body["by_step"] == [
            stats(1, 9, 7, 6, 1, 1, 1, 0.8571, 600, 3400, 4000, None),
            {**CILEDUG_2, "unit": None},
            {**TANGERANG_9, "unit": None},
        ]
        assert body["by_unit"] == [TANGERANG_1, TANGERANG_9, CILEDUG_1, CILEDUG_2]

    def test_city_wide_caller_may_pick_a_unit_and_step(self, client, auth) -> None:
        params = {"from": FROM, "unit": "tangerang", "step": 9}
        body = client.get(URL, params=params, headers=auth("pimpinan")).json()
        assert body["scope"] == {
            "unit": TANGERANG,
            "from": body["scope"]["from"],
            "to": None,
            "step": 9,
            "sop_version": None,
        }
        assert body["by_step"] == [TANGERANG_9]
        assert body["by_unit"] == [TANGERANG_9]

    def test_versions_are_never_mixed(self, client, auth, seed) -> None:
        """Step 3 of v1 (the Danru's draft) and step 3 of v2 (the Kasi's instruction, one
        step later after the inserted coordination) are different steps."""
        base = wib(2026, 10, 6, 9)
        revised = seed.incident("ciledug", base, version=V2)
        seed.run(revised, 3, base, elapsed=120, role="kasi_trantib")
        params = {"from": FROM, "unit": "ciledug", "step": 3}
        body = client.get(URL, params=params, headers=auth("camat.ciledug")).json()
        assert [
            (r["sop_version"], r["step"], r["step_code"], r["runs"]) for r in body["by_step"]
        ] == [(V2, 3, definition(V2).step(3).code, 1)]
        body = client.get(URL, params={"from": FROM, "step": 1}, headers=auth("pimpinan")).json()
        assert {r["sop_version"] for r in body["by_step"]} == {V1}
        both = client.get(URL, params={"from": FROM}, headers=auth("camat.ciledug")).json()
        keys = [(r["sop_version"], r["step"]) for r in both["by_step"]]
        assert keys == [(V1, 1), (V1, 2), (V2, 3)]
        assert definition(V1).step(3).code != definition(V2).step(3).code
        only = client.get(URL, params={"from": FROM, "sop_version": V2}, headers=auth("pimpinan"))
        assert [r["step"] for r in only.json()["by_step"]] == [3]

    def test_no_runs_no_rows(self, client, auth) -> None:
        body = client.get(URL, params={"unit": "benda"}, headers=auth("pimpinan")).json()
        assert body["by_step"] == []
        assert body["by_unit"] == []

    def test_csv(self, client, auth) -> None:
        response = client.get(
            URL, params={"from": FROM}, headers={**auth("pimpinan"), "Accept": "text/csv"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 3 + 4
        whole = rows[0]
        assert whole["unit_code"] == ""
        assert whole["unit_name"] == "Semua kecamatan"
        assert (whole["step"], whole["runs"], whole["on_time"], whole["late"]) == (
            "1",
            "9",
            "6",
            "1",
        )
        assert float(whole["median_elapsed_seconds"]) == 600
        assert float(whole["on_time_rate"]) == pytest.approx(0.8571)
        last = rows[-1]
        assert (last["unit_code"], last["step"], last["completed"]) == ("36.71.06", "2", "1")
        assert float(last["p90_elapsed_seconds"]) == 5000

    def test_format_query_chooses_over_accept(self, client, auth) -> None:
        """?format= is for clients whose generated code cannot set Accept (OpenAPI tools
        ignore an Accept parameter); when given, it decides."""
        by_header = client.get(
            URL, params={"from": FROM}, headers={**auth("pimpinan"), "Accept": "text/csv"}
        )
        by_query = client.get(URL, params={"from": FROM, "format": "csv"}, headers=auth("pimpinan"))
        assert by_query.status_code == 200
        assert by_query.headers["content-type"].startswith("text/csv")
        assert by_query.text == by_header.text
        as_json = client.get(
            URL,
            params={"from": FROM, "format": "json"},
            headers={**auth("pimpinan"), "Accept": "text/csv"},
        )
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_json.json()["by_step"][0]["step"] == 1
        bad = client.get(URL, params={"format": "xlsx"}, headers=auth("pimpinan"))
        assert bad.status_code == 422
        assert bad.json()["type"] == PROBLEM + "validation-error"

    def test_json_when_json_is_preferred(self, client, auth) -> None:
        headers = {**auth("pimpinan"), "Accept": "application/json, text/csv;q=0.5"}
        response = client.get(URL, headers=headers)
        assert response.headers["content-type"].startswith("application/json")
