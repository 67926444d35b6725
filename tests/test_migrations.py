"""The migrations build exactly the models' schema, undo cleanly, and seed the 13 kecamatan."""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table in the metadata)
from tests.conftest import PG_URL, ROOT, _create_pg_database, alembic_config

KECAMATAN_IN_CODE_ORDER = [
    "Tangerang",
    "Jatiuwung",
    "Batuceper",
    "Benda",
    "Cipondoh",
    "Ciledug",
    "Karawaci",
    "Periuk",
    "Cibodas",
    "Neglasari",
    "Pinang",
    "Karang Tengah",
    "Larangan",
]


@pytest.fixture(scope="module")
def fresh_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the backend under test, separate from the suite's own and empty when
    first used. One for the module: on a busy server, dropping a database can take minutes."""
    if PG_URL:
        url, drop = _create_pg_database(PG_URL)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('migrations') / 'fresh.db'}"


@pytest.fixture(scope="module")
def fresh_engine(fresh_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_url)
    yield engine
    engine.dispose()


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations branch into several heads: {heads}; merge them"


def test_the_readiness_probe_knows_the_head() -> None:
    from app.health.router import MIGRATION_HEAD

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head == MIGRATION_HEAD, f"set MIGRATION_HEAD in app/health/router.py to {head!r}"


def test_file_names_follow_the_convention() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    pattern = re.compile(r"^\d{8}_(?P<rev>[0-9a-z]+)_[0-9a-z_]+\.py$")
    on_disk = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    named = set()
    for script in scripts.walk_revisions():
        name = Path(script.path).name
        named.add(name)
        match = pattern.match(name)
        assert match, f"{name}: expected YYYYMMDD_<rev>_<slug>.py"
        assert match["rev"] == script.revision, f"{name}: declares revision {script.revision}"
    assert on_disk == named, f"not migrations: {sorted(on_disk - named)}"


def test_head_matches_the_models(fresh_url: str, fresh_engine: Engine) -> None:
    # Built by the migrations alone, whichever test of this module ran first.
    command.upgrade(alembic_config(fresh_url), "head")

    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, SQLModel.metadata)

    assert diff == [], "the migrations and the models differ:\n" + "\n".join(map(repr, diff))


# The cuti bersama decreed for 2026 (SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025)
# and 2027, as revision 0003 was written with them.
DECREED_IN_0003 = [
    "2026-02-16", "2026-03-18", "2026-03-20", "2026-03-23", "2026-03-24", "2026-05-15",
    "2026-05-28", "2026-12-24", "2027-02-05", "2027-03-09", "2027-03-12", "2027-03-15",
    "2027-03-25", "2027-05-18", "2027-05-19", "2027-12-24",
]  # fmt: skip


def test_a_revision_inserts_its_own_data_whatever_the_data_file_says(
    fresh_url: str, fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A calendar file edited since: one day dropped, one added. Revision 0003 read the live
    # file, so what it inserted depended on when a database was migrated.
    edited = tmp_path / "data"
    edited.mkdir()
    (edited / "non_working_days.toml").write_text(
        '[[day]]\ndate = 2030-01-02\nname = "Later"\nkind = "lainnya"\nsource = "Perwal"\n'
    )
    real_files = importlib.resources.files

    def files(anchor: Any) -> Any:
        return tmp_path if anchor == "app.timing" else real_files(anchor)

    monkeypatch.setattr(importlib.resources, "files", files)
    config = alembic_config(fresh_url)
    command.downgrade(config, "base")
    command.upgrade(config, "0003")
    with fresh_engine.connect() as conn:
        rows = conn.execute(text("SELECT date, kind, working FROM non_working_days")).all()
    command.upgrade(config, "head")

    assert sorted(str(row.date) for row in rows) == DECREED_IN_0003
    assert {(row.kind, bool(row.working)) for row in rows} == {("cuti_bersama", False)}


def test_downgrade_to_base_and_up_again(fresh_url: str, fresh_engine: Engine) -> None:
    config = alembic_config(fresh_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")

    left = set(inspect(fresh_engine).get_table_names()) - {"alembic_version"}
    assert left == set(), f"downgrade to base left tables behind: {sorted(left)}"

    command.upgrade(config, "head")
    with fresh_engine.connect() as conn:
        units = conn.execute(text("SELECT id, code, name, slug FROM units ORDER BY code")).all()

    assert [u.name for u in units] == KECAMATAN_IN_CODE_ORDER
    assert [u.code for u in units] == [f"36.71.{n:02d}" for n in range(1, 14)]
    assert [u.id for u in units] == list(range(1, 14))
    for unit in units:
        assert unit.slug == unit.name.lower().replace(" ", "")
        assert re.fullmatch(r"[a-z]+", unit.slug), unit.slug
    assert units[11].slug == "karangtengah"


def test_sqlite_notification_ids_stay_past_every_id_seen_and_keep_their_deliveries(
    fresh_url: str, fresh_engine: Engine
) -> None:
    # Before 0019 SQLite gave a deleted highest id again. The rebuild that fixes it must keep
    # the push deliveries (dropping the old table would cascade to them) and start past the
    # push cursor, which saw ids deleted since.
    if PG_URL:
        pytest.skip("PostgreSQL's sequence never gives an id twice")
    config = alembic_config(fresh_url)
    command.downgrade(config, "base")
    command.upgrade(config, "0018")
    now = "2026-12-02 09:00:00.000000"
    user, event, subscription, delivery = (f"{n:032x}" for n in (1, 2, 3, 4))
    rows = {
        "users": {
            "id": user, "username": "camat.uji", "full_name": "Camat Uji", "role": "camat",
            "active": 1, "is_demo": 0, "password_hash": "x", "token_version": 0,
            "created_at": now, "updated_at": now,
        },
        "outbox_events": {
            "id": event, "event_type": "incident.created", "payload": "{}", "created_at": now,
        },
        "notifications": {
            "id": 7, "user_id": user, "source_event_id": event, "kind": "task.assigned",
            "data": "{}", "created_at": now,
        },
        "push_subscriptions": {
            "id": subscription, "user_id": user, "endpoint": "https://push.example/1",
            "p256dh": "k", "auth": "a", "created_at": now, "updated_at": now,
        },
        "push_deliveries": {
            "id": delivery, "subscription_id": subscription, "notification_id": 7,
            "payload": "{}", "urgency": "high", "expires_at": now, "status": "pending",
            "attempts": 0, "recorded_attempts": 0, "next_attempt_at": now, "created_at": now,
        },
    }  # fmt: skip
    with fresh_engine.begin() as conn:
        for table, row in rows.items():
            names = ", ".join(row)
            conn.execute(
                text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})"),
                row,
            )
        # The push cursor saw id 9, deleted since.
        conn.execute(text("UPDATE push_cursor SET last_notification_id = 9"))

    command.upgrade(config, "head")
    with fresh_engine.begin() as conn:
        schema = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'notifications'")
        ).scalar_one()
        kept = conn.execute(text("SELECT notification_id FROM push_deliveries")).scalars().all()
        conn.execute(
            text(
                "INSERT INTO notifications (user_id, source_event_id, kind, data, created_at) "
                "VALUES (:user, :event, 'task.withdrawn', '{}', :now)"
            ),
            {"user": user, "event": event, "now": now},
        )
        new_id = conn.execute(text("SELECT max(id) FROM notifications")).scalar_one()
        for table in reversed(rows):
            conn.execute(text(f"DELETE FROM {table}"))
    assert "AUTOINCREMENT" in schema
    assert kept == [7]
    assert new_id == 10
