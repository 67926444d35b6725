"""The non-working-day calendar: listing, admin overrides, and their effect on due times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from app.timing.calendars import calendar_for, decreed_days
from app.timing.sla import parse_sla
from tests.conftest import PG_URL, _create_pg_database, alembic_config
from tests.timing.factory import wib

URL = "/api/v1/calendar/non-working-days"
PROBLEM = "https://trantib.tangerangkota.go.id/problems/"
REGIONAL = {
    "name": "Hari Jadi Kota Tangerang (contoh)",
    "kind": "lainnya",
    "source": "Perwal Kota Tangerang (contoh)",
    "working": False,
}


class TestRefusals:
    def test_anonymous_is_401(self, client) -> None:
        assert client.get(URL).status_code == 401
        response = client.put(f"{URL}/2026-11-30", json=REGIONAL)
        assert response.status_code == 401
        assert response.json()["type"] == PROBLEM + "unauthorized"
        response = client.delete(f"{URL}/2026-11-30")
        assert response.status_code == 401

    @pytest.mark.parametrize("user", ["pimpinan", "camat.ciledug", "kasi.ciledug"])
    def test_only_calendar_admins_change_it(self, client, auth, user) -> None:
        response = client.put(f"{URL}/2026-11-30", json=REGIONAL, headers=auth(user))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "insufficient-scope"
        response = client.delete(f"{URL}/2026-11-30", headers=auth(user))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "insufficient-scope"

    def test_reading_needs_sla_read(self, client, auth) -> None:
        response = client.get(URL, headers=auth("anggota1.ciledug"))
        assert response.status_code == 403
        assert response.json()["type"] == PROBLEM + "insufficient-scope"

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("2026-11-31", REGIONAL),
            ("30-11-2026", REGIONAL),
            ("2026-11-30", {**REGIONAL, "kind": "libur_daerah"}),
            ("2026-11-30", {**REGIONAL, "name": ""}),
            ("2026-11-30", {**REGIONAL, "source": " "}),
            ("2026-11-30", {**REGIONAL, "unit": "ciledug"}),
            ("2026-11-30", {k: v for k, v in REGIONAL.items() if k != "source"}),
            ("2026-11-30", {**REGIONAL, "working": "sometimes"}),
        ],
    )
    def test_bad_requests_are_422(self, client, auth, path, body) -> None:
        response = client.put(f"{URL}/{path}", json=body, headers=auth("admin"))
        assert response.status_code == 422
        assert response.json()["type"] == PROBLEM + "validation-error"

    def test_year_out_of_range_is_422(self, client, auth) -> None:
        response = client.get(URL, params={"year": 1999}, headers=auth("admin"))
        assert response.status_code == 422
        assert response.json()["type"] == PROBLEM + "validation-error"

    def test_deleting_a_missing_override_is_404(self, client, auth) -> None:
        response = client.delete(f"{URL}/2026-11-30", headers=auth("admin"))
        assert response.status_code == 404
        assert response.json()["type"] == PROBLEM + "not-found"


class TestCalendar:
    def test_year_lists_national_holidays_and_cuti_bersama(self, client, auth) -> None:
        response = client.get(URL, params={"year": 2026}, headers=auth("camat.ciledug"))
        assert response.status_code == 200
        body = response.json()
        assert body["year"] == 2026
        days = {d["date"]: d for d in body["days"]}
        assert days["2026-08-17"]["kind"] == "libur_nasional"
        assert days["2026-03-23"]["kind"] == "cuti_bersama"
        assert days["2026-03-23"]["source"].startswith("holidays ")
        assert not days["2026-03-23"]["overridden"]
        assert len([d for d in body["days"] if d["kind"] == "cuti_bersama"]) == 8
        assert list(days) == sorted(days)

    def test_override_lifecycle_moves_due_times_at_once(self, client, auth) -> None:
        two_days = parse_sla("2 Hari")
        friday = wib(2026, 11, 27, 16)
        working = calendar_for("working_days")
        assert working.due_at(friday, two_days) == wib(2026, 12, 1, 16)

        created = client.put(f"{URL}/2026-11-30", json=REGIONAL, headers=auth("admin"))
        assert created.status_code == 201, created.text
        assert created.json() == {"date": "2026-11-30", **REGIONAL, "overridden": True}
        assert working.due_at(friday, two_days) == wib(2026, 12, 2, 16)

        listed = client.get(URL, params={"year": 2026}, headers=auth("pimpinan")).json()
        entry = next(d for d in listed["days"] if d["date"] == "2026-11-30")
        assert entry["source"] == REGIONAL["source"] and entry["overridden"]

        replaced = client.put(
            f"{URL}/2026-11-30", json={**REGIONAL, "working": True}, headers=auth("admin")
        )
        assert replaced.status_code == 200
        assert replaced.json()["working"] is True
        assert working.due_at(friday, two_days) == wib(2026, 12, 1, 16)

        deleted = client.delete(f"{URL}/2026-11-30", headers=auth("admin"))
        assert deleted.status_code == 204
        assert working.due_at(friday, two_days) == wib(2026, 12, 1, 16)
        listed = client.get(URL, params={"year": 2026}, headers=auth("pimpinan")).json()
        assert "2026-11-30" not in {d["date"] for d in listed["days"]}

    def test_a_listed_cuti_bersama_can_be_worked(self, client, auth) -> None:
        body = {
            "name": "Cuti bersama ditiadakan (contoh)",
            "kind": "cuti_bersama",
            "source": "SKB perubahan (contoh)",
            "working": True,
        }
        response = client.put(f"{URL}/2026-03-23", json=body, headers=auth("admin"))
        assert response.status_code == 201
        start = wib(2026, 3, 23, 9)
        assert calendar_for("working_days").due_at(start, parse_sla("1 Jam")) == wib(
            2026, 3, 23, 10
        )
        listed = client.get(URL, params={"year": 2026}, headers=auth("admin")).json()
        entry = next(d for d in listed["days"] if d["date"] == "2026-03-23")
        assert entry["working"] is True and entry["overridden"] is True

    def test_a_failed_request_leaves_the_calendar_alone(self, client, auth) -> None:
        bad = {**REGIONAL, "kind": "bogus"}
        client.put(f"{URL}/2026-11-30", json=bad, headers=auth("admin"))
        start = wib(2026, 11, 27, 16)
        assert calendar_for("working_days").due_at(start, parse_sla("2 Hari")) == wib(
            2026, 12, 1, 16
        )


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        url, drop = _create_pg_database(PG_URL)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"


def test_migration_seeds_the_decreed_days(fresh_url: str) -> None:
    command.upgrade(alembic_config(fresh_url), "head")
    engine = create_engine(fresh_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT date, kind, source, working FROM non_working_days ORDER BY date")
            ).all()
    finally:
        engine.dispose()
    expected = decreed_days()
    assert len(rows) == len(expected) == 16
    first = rows[0]
    assert str(first.date) == "2026-02-16"
    assert first.kind == "cuti_bersama"
    assert "1497" in first.source
    assert not first.working
    assert {str(r.date) for r in rows} == {d.date.isoformat() for d in expected}
    assert date(2027, 12, 24) in {d.date for d in expected}
