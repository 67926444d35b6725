"""Liveness and readiness."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from sqlalchemy import text
from sqlmodel import Session

from app.core.db import get_engine
from app.core.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


def _head_revision() -> str | None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


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
        with Session(get_engine()) as session:
            current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable or not migrated") from exc
    head = _head_revision()
    if current != head:
        raise ServiceUnavailable(f"Database at revision {current}, code expects {head}")
    return {"status": "ready", "revision": str(current)}
