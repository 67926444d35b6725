"""The migrations build exactly the models' schema, undo cleanly, and seed the 13 kecamatan."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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
