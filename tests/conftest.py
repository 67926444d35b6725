"""Test harness: a fresh migrated database per run, emptied between tests; HTTP clients.

SQLite by default; set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the same suite on PostgreSQL. Each run creates its own database and drops it after,
so parallel runs never share state.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import uvicorn
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Table, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, select

from app.push.vapid import new_private_key_pem
from bench.servers import create_database

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DEMO_PASSWORD = "trantib-demo-test"
KEEP_TABLES = {"units", "alembic_version"}
# The suite meets only the settings it sets, before any test module imports the app (which
# builds its settings at import): a developer's TRANTIB_* variables and .env file (the compose
# section's, with its signing key) are not read. The harness's own switches stay.
HARNESS_VARIABLES = {
    "TRANTIB_REQUIRE_BROWSER",
    "TRANTIB_SCHEMATHESIS_EXAMPLES",
    "TRANTIB_BROWSER_SHOTS",
}
for _name in [n for n in os.environ if n.startswith("TRANTIB_") and n not in HARNESS_VARIABLES]:
    del os.environ[_name]
# Empty: no .env file, in this process and in the service processes tests start.
os.environ["TRANTIB_ENV_FILE"] = ""
# A key of the run's own, so the suite never writes the checkout's development key file.
os.environ["TRANTIB_JWT_SIGNING_KEY"] = secrets.token_urlsafe(48)
# Web Push on, with a VAPID key of the run's own (the checkout's development key is never
# written); the tests of push point it at a local push service (tests/push).
os.environ["TRANTIB_PUSH_ENABLED"] = "true"
os.environ["TRANTIB_PUSH_VAPID_PRIVATE_KEY"] = new_private_key_pem()


def service_environment(**variables: str) -> dict[str, str]:
    """The environment of a service process a test starts: the defaults and `variables`, none
    of the suite's settings, and still no .env file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRANTIB_")}
    env["TRANTIB_ENV_FILE"] = ""
    env.update(variables)
    return env


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


def _create_pg_database(base_url: str) -> tuple[str, Callable[[], None]]:
    return create_database(base_url, "trantib_t")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL:
        url, drop = _create_pg_database(PG_URL)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'trantib.db'}"
        drop = None
    yield url
    if drop is not None:
        from app.core.db import get_engine

        get_engine().dispose()
        drop()


@pytest.fixture(scope="session", autouse=True)
def _configured(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    os.environ["TRANTIB_DATABASE_URL"] = database_url
    os.environ["TRANTIB_DEMO_PASSWORD"] = DEMO_PASSWORD
    os.environ["TRANTIB_ATTACHMENTS_DIR"] = str(tmp_path_factory.mktemp("attachments"))
    os.environ.setdefault("TRANTIB_ENVIRONMENT", "development")
    # The server knows the shipped SOP and a revision kept for the tests; new incidents start
    # under the shipped one unless a test activates the revision (tests/lifecycle/sop.py).
    os.environ["TRANTIB_SOP_DEFINITIONS_DIR"] = str(ROOT / "tests" / "fixtures" / "sop")
    os.environ["TRANTIB_SOP_VERSION"] = "unjuk-rasa-v1"
    # Tests act as a few demo users far faster than people do; the rate limit has its own
    # tests (tests/security/test_api4_resource_consumption.py), which set it.
    os.environ.setdefault("TRANTIB_RATE_LIMIT_PER_MINUTE", "0")
    from app.core.config import get_settings
    from app.core.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    command.upgrade(alembic_config(database_url), "head")
    yield


@pytest.fixture(scope="session")
def engine(_configured: None) -> Engine:
    from app.core.db import get_engine

    return get_engine()


# Sequences of the emptied tables, restarted as TRUNCATE ... RESTART IDENTITY does.
_RESTART_PG_SEQUENCES = text(
    "SELECT setval(s.oid::regclass, 1, false) FROM pg_class s"
    " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE s.relkind = 'S' AND NOT t.relname = ANY(:keep)"
)


def _with_referencing(names: set[str], tables: list[Table]) -> set[str]:
    """The tables named and every table whose foreign keys reach them, directly or not."""
    closure = set(names)
    while True:
        more = {
            t.name
            for t in tables
            if t.name not in closure
            and any(fk.column.table.name in closure for fk in t.foreign_keys)
        }
        if not more:
            return closure
        closure |= more


def _empty_pg_tables(conn: Connection, tables: list[Table]) -> None:
    # TRUNCATE costs new files for each table (it was most of a test's time when it covered
    # every table), so only tables holding rows are truncated, with the tables referencing
    # them as TRUNCATE requires. The demo users, referenced by nearly every table, are
    # deleted instead.
    probe = " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables
    )
    filled = {name for (name,) in conn.execute(text(probe))} - {"users"}
    if filled:
        doomed = ", ".join(f'"{name}"' for name in sorted(_with_referencing(filled, tables)))
        conn.execute(text(f"TRUNCATE {doomed} RESTART IDENTITY"))
    conn.execute(text("DELETE FROM users"))
    conn.execute(_RESTART_PG_SEQUENCES, {"keep": sorted(KEEP_TABLES)})


def _empty_tables(engine: Engine) -> None:
    import app.models  # noqa: F401

    tables = [t for t in reversed(SQLModel.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            _empty_pg_tables(conn, tables)
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def _hash_demo_password_once() -> Iterator[None]:
    """Seeding before every test hashed the same password with argon2 every time."""
    from functools import lru_cache

    from app.users import demo

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "hash_password", lru_cache(maxsize=8)(demo.hash_password))
        yield


@pytest.fixture(autouse=True)
def db(engine: Engine, _hash_demo_password_once: None) -> Iterator[Engine]:
    """Every test starts with only the units and the demo users."""
    from app.users.demo import seed_demo

    _empty_tables(engine)
    with Session(engine) as session:
        seed_demo(session, DEMO_PASSWORD)
        session.commit()
    yield engine


@pytest.fixture(scope="session")
def app(_configured: None):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@contextmanager
def serving(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`app` served by a real uvicorn on a free port, in a thread of this process; its URL.
    `server_header=False` as the service is started (Makefile, Dockerfile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="error",
            lifespan="off",
            server_header=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The application served by a real uvicorn (see serving)."""
    with serving(app) as url:
        yield url


@pytest.fixture
def write_lock(engine: Engine) -> Callable[[], AbstractContextManager[None]]:
    """Hold a writer's lock from another connection, as a concurrent write transaction does:
    SQLite's one write lock (BEGIN IMMEDIATE), or on PostgreSQL a lock on the incidents table
    that every insert into it waits for and no read does."""

    @contextmanager
    def hold() -> Iterator[None]:
        with engine.connect() as conn, conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE incidents IN EXCLUSIVE MODE"))
            yield

    return hold


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def token_for(engine: Engine) -> Callable[[str], str]:
    """A real signed access token for a user, as the login endpoint would issue it."""
    from app.auth.roles import Role, scopes_for
    from app.core.config import get_settings
    from app.core.security import create_access_token
    from app.units.models import Unit
    from app.users.models import User

    def issue(username: str) -> str:
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            unit = session.get(Unit, user.unit_id) if user.unit_id else None
            token, _ = create_access_token(
                get_settings(),
                subject=str(user.id),
                role=str(user.role),
                unit=unit.code if unit else None,
                scopes=scopes_for(Role(user.role)),
                token_version=user.token_version,
            )
        return token

    return issue


@pytest.fixture
def auth(token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a demo user: auth("camat.ciledug")."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = {"Authorization": f"Bearer {token_for(username)}"}
        return cache[username]

    return headers


@pytest.fixture
def user_id(engine: Engine) -> Callable[[str], str]:
    from app.users.models import User

    def lookup(username: str) -> str:
        with Session(engine) as session:
            return str(session.exec(select(User.id).where(User.username == username)).one())

    return lookup


@pytest.fixture
def flow(client, auth, user_id):  # type: ignore[no-untyped-def]
    """An incident in Kecamatan Ciledug driven over HTTP by its demo users."""
    from tests.lifecycle.flow import Flow

    return Flow(client, auth, user_id)


@pytest.fixture
def flow_for(client, auth, user_id):  # type: ignore[no-untyped-def]
    """A Flow factory for any kecamatan slug."""
    from tests.lifecycle.flow import Flow

    def make(slug: str) -> Flow:
        return Flow(client, auth, user_id, slug=slug)

    return make
