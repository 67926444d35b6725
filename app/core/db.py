"""Engine and the request session: one transaction per request, committed once.

On SQLite a transaction that may write begins with BEGIN IMMEDIATE, taking the database's
one write lock at once, so that writers queue on the busy timeout instead of failing when a
read lock cannot be upgraded. A read-only transaction (a GET, the readiness probe) begins
with a plain BEGIN and `query_only`: in WAL mode it reads its snapshot while a writer holds
the lock, and never waits behind one. PostgreSQL's readers never wait for writers anyway.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings, get_settings

# Execution option of the engines whose transactions only read (see read_only()).
READ_ONLY = "trantib_read_only"
# Methods whose request sessions only read.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def make_engine(settings: Settings, *, poolclass: Any = None) -> Engine:
    url = settings.database_url
    pool = {"poolclass": poolclass} if poolclass is not None else {}
    if settings.is_sqlite:
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            **pool,
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    if poolclass is not None:
        # A connection of its own for each use (the readiness probe): nothing to check.
        return create_engine(url, **pool)
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )
    _ping_when_idle(engine, settings.db_ping_idle_seconds)
    return engine


# A pooled connection this old is replaced at its next checkout, whatever its use.
POOL_RECYCLE_SECONDS = 1800
# Key of the pool record's info holding the monotonic time the connection was returned.
_IDLE_SINCE = "trantib_idle_since"


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with a round trip before use only when it has been idle
    longer than `idle_seconds`: the server may have closed it meanwhile (a restart, a
    failover, an idle timeout on the way). SQLAlchemy's pool_pre_ping checks every checkout,
    one round trip per request on a busy service whose connections were in use a moment ago.

    A dead connection found here is replaced before the request sees it (DisconnectionError
    makes the pool retry with a new one). One that dies while in use fails its statement;
    SQLAlchemy then discards every connection of the pool made before, so only the requests
    in flight at that moment fail.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError(str(exc)) from exc
            raise


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling defers locks; we issue BEGIN IMMEDIATE ourselves so
        # that a writer waits for the lock (busy_timeout) instead of failing on upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = bool(connection.get_execution_options().get(READ_ONLY))
        # query_only makes a write slipped into a read-only transaction fail at once rather
        # than upgrade its lock (and refuses BEGIN IMMEDIATE, so it goes first); the pooled
        # connection remembers its state.
        info = connection.connection.info
        if info.get(READ_ONLY, False) != read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            info[READ_ONLY] = read_only
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings())


@lru_cache(maxsize=8)
def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for transactions that only read."""
    return engine.execution_options(**{READ_ONLY: True})


@lru_cache
def get_probe_engine() -> Engine:
    """Read-only and outside the pool: the readiness probe answers while every pooled
    connection is taken by requests waiting their turn."""
    return read_only(make_engine(get_settings(), poolclass=NullPool))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: commits once when the endpoint returns, rolls back on error.
    GET and HEAD requests only read; their transactions never take SQLite's write lock.

    Async, because opening a session touches no connection (the first statement checks one
    out, in the endpoint's thread). A synchronous endpoint commits and closes it in its own
    thread (app.core.routing); otherwise the commit or rollback and the return of the
    connection to the pool take one thread hop here, shielded so that a client going away
    cannot leave a connection checked out.
    """
    engine = get_engine()
    if request.method in READ_METHODS:
        engine = read_only(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        if not session.info.get(SETTLED):
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_end, session, commit=False)
        raise
    if not session.info.get(SETTLED):
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_end, session, commit=True)


# Key of Session.info set once the request's session has committed and closed.
SETTLED = "trantib_settled"


def settle(session: Session) -> None:
    """Commit the request's session and close it, in the thread that did its work (see
    app.core.routing); the dependency then has nothing left to do."""
    _end(session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        session.info[SETTLED] = True


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
