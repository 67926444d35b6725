"""GET /api/v1/sla/breaches: running runs at risk or breached, most overdue first."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.roles import Role
from app.timing import service
from app.timing.calendars import calendar_for
from tests.timing.factory import wib

URL = "/api/v1/sla/breaches"
PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def runs(seed, frozen) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    now = frozen
    ciledug = seed.incident("ciledug", now - 5 * H)
    tangerang = seed.incident("tangerang", now - 40 * 24 * H)
    return {
        "A": seed.run(ciledug, 1, now - 3 * H),  # breached by 2 h
        "B": seed.run(ciledug, 2, now - 50 * M, role="kasi_trantib"),  # at risk
        "C": seed.run(ciledug, 3, now - 10 * M, role="danru"),  # fine
        "D": seed.run(tangerang, 1, now - 150 * M, sla="2 Jam"),  # breached by 30 min
        "E": seed.run(tangerang, 2, now - 5 * H, elapsed=2 * 3600),  # finished late
        # Thirty days hold far more than two working days in any month.
        "F": seed.run(tangerang, 9, now - 30 * 24 * H, sla="2 Hari", calendar="working_days"),
        "G": seed.run(
            tangerang, 10, now - timedelta(seconds=1), sla="1 Hari", calendar="working_days"
        ),
    }


class TestRefusals:
    def test_anonymous_is_401(self, client) -> None:
        response = client.get(URL)
        assert response.status_code == 401
        assert response.json()["type"] == PROBLEM + "unauthorized"

    def test_role_without_sla_read_is_403(self, client, auth) -> None:
        response = client.get(URL, headers=auth("anggota1.tangerang"))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "insufficient-scope"

    def test_unit_role_asking_for_another_unit_is_403(self, client, auth) -> None:
        response = client.get(URL, params={"unit": "tangerang"}, headers=auth("sekcam.ciledug"))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "forbidden-unit"

    @pytest.mark.parametrize(
        "params", [{"status": "late"}, {"limit": "0"}, {"offset": "-1"}, {"unit": "nowhere"}]
    )
    def test_bad_parameters_are_422(self, client, auth, params) -> None:
        response = client.get(URL, params=params, headers=auth("pimpinan"))
        assert response.status_code == 422
        assert response.json()["type"] == PROBLEM + "validation-error"


@pytest.mark.usefixtures("frozen")
class TestBreaches:
    def test_most_overdue_first(self, client, auth, runs, frozen) -> None:
        body = client.get(URL, headers=auth("pimpinan")).json()
        items = body["items"]
        assert [i["run_id"] for i in items] == [str(runs[k]) for k in ("F", "A", "D", "B")]
        assert body["total"] == 4
        assert [i["status"] for i in items] == ["breached", "breached", "breached", "at_risk"]
        assert [i["overdue_seconds"] for i in items[1:]] == [7200, 1800, 0]
        working = calendar_for("working_days")
        start_f = frozen - 30 * 24 * H
        assert items[0]["elapsed_seconds"] == working.elapsed_seconds(start_f, frozen)
        assert items[0]["overdue_seconds"] == items[0]["elapsed_seconds"] - 2 * 86_400
        a = items[1]
        assert a["register_number"].startswith("36.71.06/UR/")
        assert a["unit"] == {"id": 6, "code": "36.71.06", "name": "Ciledug"}
        assert (a["step"], a["attempt"], a["sla"], a["calendar"]) == (1, 1, "1 Jam", "wall")
        assert a["elapsed_text"] == "3 jam"

    def test_pages(self, client, auth, runs) -> None:
        body = client.get(URL, params={"limit": 2, "offset": 1}, headers=auth("admin")).json()
        assert [i["run_id"] for i in body["items"]] == [str(runs["A"]), str(runs["D"])]
        assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)
        tail = client.get(URL, params={"offset": 3}, headers=auth("admin")).json()
        assert [i["run_id"] for i in tail["items"]] == [str(runs["B"])]

    def test_filter_by_status(self, client, auth, runs) -> None:
        breached = client.get(URL, params={"status": "breached"}, headers=auth("pimpinan"))
        assert [i["run_id"] for i in breached.json()["items"]] == [
            str(runs[k]) for k in ("F", "A", "D")
        ]
        at_risk = client.get(URL, params={"status": "at_risk"}, headers=auth("pimpinan"))
        assert [i["run_id"] for i in at_risk.json()["items"]] == [str(runs["B"])]
        assert at_risk.json()["total"] == 1

    def test_unit_role_sees_its_own_unit(self, client, auth, runs) -> None:
        body = client.get(URL, headers=auth("camat.ciledug")).json()
        assert [i["run_id"] for i in body["items"]] == [str(runs["A"]), str(runs["B"])]
        assert body["total"] == 2

    def test_city_wide_caller_may_pick_a_unit(self, client, auth, runs) -> None:
        body = client.get(URL, params={"unit": "36.71.01"}, headers=auth("pimpinan")).json()
        assert [i["run_id"] for i in body["items"]] == [str(runs["F"]), str(runs["D"])]

    def test_csv(self, client, auth, runs) -> None:
        headers = {**auth("pimpinan"), "Accept": "text/csv"}
        response = client.get(URL, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["run_id"] for r in rows] == [str(runs[k]) for k in ("F", "A", "D", "B")]
        assert rows[1]["status"] == "breached"
        assert rows[1]["overdue_seconds"] == "7200"
        assert rows[1]["unit_name"] == "Ciledug"
        for name in ("started_at", "at_risk_at", "due_at"):
            assert datetime.fromisoformat(rows[1][name]).utcoffset() == timedelta(hours=7)


def test_working_day_runs_measured_in_python_merge_with_wall_runs(seed, db) -> None:  # type: ignore[no-untyped-def]
    # Monday 30 November 2026, 10:00 WIB. A 1 Hari run from Friday 16:00 has used 8 h + 10 h
    # = 18 h: exactly 75%. A 2 Hari run from the Wednesday before at 10:00 has used
    # 14 + 24 + 24 + 10 = 72 working hours: one working day past its SLA.
    now = wib(2026, 11, 30, 10)
    incident = seed.incident("ciledug", wib(2026, 11, 20))
    at_risk = seed.run(incident, 10, wib(2026, 11, 27, 16), sla="1 Hari", calendar="working_days")
    breached = seed.run(incident, 9, wib(2026, 11, 25, 10), sla="2 Hari", calendar="working_days")
    wall = seed.run(incident, 1, now - 3 * H)
    pimpinan = Principal(uuid.uuid4(), "pimpinan", Role.pimpinan, None, frozenset(), "x")
    with Session(db) as session:
        page = service.breaches(session, pimpinan, now=now)
    items = page["items"]
    assert [i["run_id"] for i in items] == [breached, wall, at_risk]
    assert [i["status"] for i in items] == ["breached", "breached", "at_risk"]
    assert [i["elapsed_seconds"] for i in items] == [72 * 3600, 3 * 3600, 18 * 3600]
    assert [i["overdue_seconds"] for i in items] == [86_400, 7200, 0]
    assert items[0]["due_at"] == wib(2026, 11, 27, 10)
    assert items[2]["at_risk_at"] == now
    assert page["total"] == 3
    with Session(db) as session:
        earlier = service.breaches(
            session, pimpinan, now=now - timedelta(seconds=1), only="at_risk"
        )
    assert earlier["items"] == []
