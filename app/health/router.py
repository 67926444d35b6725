"""Liveness and readiness.

Both answer anyone, so they say no more than a load balancer needs: the readiness probe
names no migration revision (`python -m app.cli migrate` and Alembic tell an operator).
It reads through its own connection outside the pool, in a read-only transaction, and
never waits for a turn (app.core.limits): a busy service is still a ready one.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.core.db import get_probe_engine
from app.core.errors import ServiceUnavailable
from app.core.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, tags=["health"])

# The newest migration (migrations/versions), the schema this code is written for. Written
# here rather than read through Alembic, which would cost every API process 13 MB to know
# one string; tests/test_migrations.py checks it is Alembic's head.
MIGRATION_HEAD = "0020"


@router.get("/healthz", summary="The process is up", operation_id="health_live")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable and migrated to head",
    operation_id="health_ready",
    responses={503: {"description": "Not ready"}},
)
def readyz() -> dict[str, str]:
    try:
        with Session(get_probe_engine()) as session:
            current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise ServiceUnavailable("The database is not reachable or not migrated") from exc
    if current != MIGRATION_HEAD:
        raise ServiceUnavailable("The database is not at the latest migration")
    return {"status": "ready"}
