"""Revision 0006 on a database that already holds incidents: on SQLite the incidents table is
rebuilt while other tables reference its rows, and nothing may be lost or left dangling."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.clients.models import ServiceClient
from app.core.config import Settings
from app.core.db import make_engine
from app.incidents.models import Incident, IncidentAssignment
from app.users.demo import seed_demo
from app.users.models import User
from tests.conftest import PG_URL, _create_pg_database, alembic_config

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        url, drop = _create_pg_database(PG_URL)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture
def app_engine(fresh_url: str) -> Iterator[Engine]:
    # The service's own engine: on SQLite it enforces foreign keys, as the migration sees them.
    engine = make_engine(Settings(database_url=fresh_url))
    yield engine
    engine.dispose()


def incident_row(unit_id: int, sequence: int, **creator: object) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "unit_id": unit_id,
        "register_year": 2026,
        "register_sequence": sequence,
        "register_number": f"36.71.06/UR/2026/{sequence:04d}",
        "kind": "unjuk_rasa",
        "title": "Unjuk rasa buruh",
        "location": {"address": "Jl. HOS Cokroaminoto", "kelurahan": "Sudimara Timur"},
        "reported_at": NOW,
        "demands": [],
        "police": {},
        "escalation_level": "hijau",
        "sop_version": "unjuk-rasa-v1",
        "status": "active",
        "current_step": 1,
        "audit_seq": 0,
        "audit_head": "0" * 64,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        **creator,
    }


def dangling_references(engine: Engine) -> list[object]:
    if engine.dialect.name != "sqlite":
        return []  # PostgreSQL never lets one exist
    with engine.connect() as conn:
        return list(conn.execute(text("PRAGMA foreign_key_check")).all())


def test_upgrade_and_downgrade_keep_referenced_incidents(fresh_url: str, app_engine: Engine):
    config = alembic_config(fresh_url)
    command.upgrade(config, "0005")
    with Session(app_engine) as session:
        seed_demo(session, "a-long-enough-password")
        kasi, danru = (
            session.execute(select(User.id).where(User.username == name)).scalar_one()
            for name in ("kasi.ciledug", "danru.ciledug")
        )
        row = incident_row(6, 1, created_by=kasi)
        # Written column by column: at 0005 the table has no created_by_client yet.
        session.execute(insert(Incident.__table__).values(**row))  # type: ignore[attr-defined]
        session.execute(
            insert(IncidentAssignment.__table__).values(  # type: ignore[attr-defined]
                id=uuid.uuid4(),
                incident_id=row["id"],
                user_id=danru,
                kind="instructed_danru",
                created_at=NOW,
            )
        )
        session.commit()

    command.upgrade(config, "0006")
    with Session(app_engine) as session:
        kept = session.get(Incident, row["id"])
        assert kept is not None
        assert (kept.created_by, kept.created_by_client) == (kasi, None)
        assert kept.location["kelurahan"] == "Sudimara Timur"
        count = select(func.count()).select_from(IncidentAssignment)
        assert session.execute(count).scalar_one() == 1
    assert dangling_references(app_engine) == []

    with Session(app_engine) as session:
        session.add(
            ServiceClient(
                client_id="cli_test", name="Sistem", scopes=["incidents:write"], secret_hash="0"
            )
        )
        session.flush()
        by_client = incident_row(6, 2, created_by_client="cli_test")
        session.execute(insert(Incident.__table__).values(**by_client))  # type: ignore[attr-defined]
        session.commit()
    with pytest.raises(RuntimeError, match="registered by service clients"):
        command.downgrade(config, "0005")

    with Session(app_engine) as session:
        session.execute(delete(Incident).where(Incident.id == by_client["id"]))  # type: ignore[arg-type]
        session.commit()
    command.downgrade(config, "0005")
    with app_engine.connect() as conn:
        rows = conn.execute(text("SELECT register_number FROM incidents")).scalars().all()
        assert rows == ["36.71.06/UR/2026/0001"]
        assert conn.execute(text("SELECT count(*) FROM incident_assignments")).scalar_one() == 1
    assert dangling_references(app_engine) == []


def test_the_creator_is_exactly_one_of_user_and_client(fresh_url: str, app_engine: Engine):
    command.upgrade(alembic_config(fresh_url), "head")
    with Session(app_engine) as session:
        seed_demo(session, "a-long-enough-password")
        session.add(
            ServiceClient(
                client_id="cli_test", name="Sistem", scopes=["incidents:write"], secret_hash="0"
            )
        )
        session.commit()
        kasi = session.execute(select(User.id).where(User.username == "kasi.ciledug")).scalar()
    for sequence, creator in enumerate(
        [{}, {"created_by": kasi, "created_by_client": "cli_test"}], start=1
    ):
        with (
            Session(app_engine) as session,
            pytest.raises(Exception, match="ck_incidents_creator|CHECK"),
        ):
            session.execute(
                insert(Incident.__table__).values(**incident_row(6, sequence, **creator))
            )  # type: ignore[attr-defined]
            session.commit()
