"""GET /api/v1/incidents/{id}/timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.timing.calendars import calendar_for
from app.timing.service import elapsed_text

H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
PROBLEM = "https://trantib.tangerangkota.go.id/problems/"


def url(incident_id: uuid.UUID | str) -> str:
    return f"/api/v1/incidents/{incident_id}/timeline"


def parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 detik"),
        (45, "45 detik"),
        (60, "1 menit"),
        (61, "1 menit 1 detik"),
        (3600, "1 jam"),
        (3601, "1 jam"),
        (4320, "1 jam 12 menit"),
        (86_400, "1 hari"),
        (86_400 + 300, "1 hari"),
        (2 * 86_400 + 3 * 3600 + 59, "2 hari 3 jam"),
        (-5, "0 detik"),
    ],
)
def test_elapsed_text_in_indonesian(seconds: int, text: str) -> None:
    assert elapsed_text(seconds) == text


class TestRefusals:
    def test_anonymous_is_401(self, client, seed, frozen) -> None:
        incident = seed.incident("ciledug", frozen - H)
        response = client.get(url(incident))
        assert response.status_code == 401
        assert response.json()["type"] == PROBLEM + "unauthorized"

    def test_role_without_sla_read_is_403(self, client, auth, seed, frozen) -> None:
        incident = seed.incident("ciledug", frozen - H)
        response = client.get(url(incident), headers=auth("anggota1.ciledug"))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "insufficient-scope"

    def test_another_units_incident_is_404(self, client, auth, seed, frozen) -> None:
        incident = seed.incident("tangerang", frozen - H)
        seed.run(incident, 1, frozen - H)
        response = client.get(url(incident), headers=auth("camat.ciledug"))
        assert response.status_code == 404
        assert response.json()["type"] == PROBLEM + "not-found"

    def test_unknown_incident_is_404(self, client, auth) -> None:
        response = client.get(url(uuid.uuid4()), headers=auth("pimpinan"))
        assert response.status_code == 404
        assert response.json()["type"] == PROBLEM + "not-found"

    def test_malformed_id_is_422(self, client, auth) -> None:
        response = client.get(url("not-a-uuid"), headers=auth("pimpinan"))
        assert response.status_code == 422
        assert response.json()["type"] == PROBLEM + "validation-error"


def _seed_history(seed, now: datetime) -> uuid.UUID:  # type: ignore[no-untyped-def]
    incident = seed.incident("ciledug", now - 5 * H)
    start = now - 5 * H
    seed.run(incident, 1, start, sla="1 Jam", elapsed=50 * 60)
    seed.run(incident, 2, start + 50 * M, sla="1 Jam", elapsed=72 * 60, role="kasi_trantib")
    seed.run(incident, 3, now - 2 * H - 58 * M, sla="1 Jam", elapsed=30 * 60, role="danru")
    seed.run(incident, 4, now - 2 * H - 28 * M, sla="2 Jam", elapsed=28 * 60, role="kasi_trantib")
    seed.run(incident, 3, now - 2 * H, sla="1 Jam", attempt=2, role="danru")
    return incident


class TestTimeline:
    @pytest.mark.parametrize("user", ["camat.ciledug", "danru.ciledug", "pimpinan", "admin"])
    def test_every_run_measured_in_order(self, client, auth, seed, frozen, user) -> None:
        incident = _seed_history(seed, frozen)
        response = client.get(url(incident), headers=auth(user))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["incident_id"] == str(incident)
        assert parse(body["as_of"]) == frozen
        runs = body["runs"]
        assert [(r["step"], r["attempt"]) for r in runs] == [(1, 1), (2, 1), (3, 1), (4, 1), (3, 2)]
        assert [r["status"] for r in runs] == ["on_time", "late", "on_time", "on_time", "breached"]
        assert [r["elapsed_seconds"] for r in runs] == [3000, 4320, 1800, 1680, 7200]
        assert [r["elapsed_text"] for r in runs] == [
            "50 menit",
            "1 jam 12 menit",
            "30 menit",
            "28 menit",
            "2 jam",
        ]
        assert [r["overdue_seconds"] for r in runs] == [0, 720, 0, 0, 3600]
        assert [r["sla"] for r in runs] == ["1 Jam", "1 Jam", "1 Jam", "2 Jam", "1 Jam"]
        assert [r["sla_seconds"] for r in runs] == [3600, 3600, 3600, 7200, 3600]
        assert [r["role"] for r in runs] == [
            "camat",
            "kasi_trantib",
            "danru",
            "kasi_trantib",
            "danru",
        ]
        first, last = runs[0], runs[-1]
        assert first["calendar"] == "wall"
        assert parse(first["started_at"]) == frozen - 5 * H
        assert parse(first["due_at"]) == frozen - 4 * H
        assert parse(first["completed_at"]) == frozen - 4 * H - 10 * M
        assert last["completed_at"] is None
        assert parse(last["due_at"]) == frozen - H
        assert body["totals"] == {
            "started_at": first["started_at"],
            "ended_at": None,
            "elapsed_seconds": 5 * 3600,
            "elapsed_text": "5 jam",
            "sla_seconds": 4 * 3600 + 7200,
            "statuses": {
                "on_time": 3,
                "late": 1,
                "running": 0,
                "at_risk": 0,
                "breached": 1,
                "cancelled": 0,
            },
        }

    def test_exact_75_and_100_percent_instants(self, client, auth, seed, frozen) -> None:
        incident = seed.incident("ciledug", frozen - 2 * H)
        # 1 Jam runs: 75% is 45 minutes, 100% is 60 minutes.
        seed.run(incident, 1, frozen - 45 * M + S)  # one second before 75%
        seed.run(incident, 2, frozen - 45 * M)  # exactly 75%
        seed.run(incident, 3, frozen - H)  # exactly 100%: used up, not yet past
        seed.run(incident, 4, frozen - H - S, sla="1 Jam")  # one second past the SLA
        body = client.get(url(incident), headers=auth("kasi.ciledug")).json()
        runs = {r["step"]: r for r in body["runs"]}
        assert runs[1]["status"] == "running"
        assert runs[1]["elapsed_seconds"] == 45 * 60 - 1
        assert runs[2]["status"] == "at_risk"
        assert runs[3]["status"] == "at_risk"
        assert runs[3]["overdue_seconds"] == 0
        assert runs[4]["status"] == "breached"
        assert runs[4]["overdue_seconds"] == 1
        assert body["totals"]["statuses"] == {
            "on_time": 0,
            "late": 0,
            "running": 1,
            "at_risk": 2,
            "breached": 1,
            "cancelled": 0,
        }

    def test_finished_incident_totals_stop_at_the_last_completion(
        self, client, auth, seed, frozen
    ) -> None:
        incident = seed.incident("ciledug", frozen - 10 * H)
        seed.run(incident, 1, frozen - 10 * H, elapsed=3600)
        seed.run(incident, 2, frozen - 9 * H, elapsed=1800, cancelled=True)
        body = client.get(url(incident), headers=auth("camat.ciledug")).json()
        assert [r["status"] for r in body["runs"]] == ["on_time", "cancelled"]
        assert body["runs"][1]["overdue_seconds"] == 0
        totals = body["totals"]
        assert parse(totals["ended_at"]) == frozen - 9 * H + 30 * M
        assert totals["elapsed_seconds"] == 3600 + 1800
        assert totals["statuses"]["cancelled"] == 1

    def test_working_day_run_measured_by_its_calendar(self, client, auth, seed, frozen) -> None:
        start = frozen - timedelta(days=3, hours=2)
        incident = seed.incident("ciledug", start)
        seed.run(incident, 9, start, sla="2 Hari", calendar="working_days", role="danru")
        run = client.get(url(incident), headers=auth("danru.ciledug")).json()["runs"][0]
        cal = calendar_for("working_days")
        used = cal.elapsed_seconds(start, frozen)
        assert run["calendar"] == "working_days"
        assert run["elapsed_seconds"] == used
        due, risk = cal.advance(start, 2 * 86_400), cal.advance(start, 1.5 * 86_400)
        assert parse(run["due_at"]) == due
        expected = "breached" if frozen > due else "at_risk" if frozen >= risk else "running"
        assert run["status"] == expected

    def test_incident_without_runs(self, client, auth, seed, frozen) -> None:
        incident = seed.incident("ciledug", frozen)
        body = client.get(url(incident), headers=auth("camat.ciledug")).json()
        assert body["runs"] == []
        assert body["totals"]["elapsed_seconds"] == 0
        assert body["totals"]["started_at"] is None


def test_times_carry_an_offset(client, auth, seed, frozen) -> None:  # type: ignore[no-untyped-def]
    incident = seed.incident("ciledug", frozen - H)
    seed.run(incident, 1, frozen - H, elapsed=60)
    run = client.get(url(incident), headers=auth("pimpinan")).json()["runs"][0]
    for name in ("started_at", "due_at", "completed_at"):
        assert parse(run[name]).utcoffset() == timedelta(0)
    assert parse(run["started_at"]).astimezone(UTC) == frozen - H
