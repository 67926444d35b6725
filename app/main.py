"""The application: routers, problem+json errors, middleware and start-up checks."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from app.api import API_ROUTERS
from app.core.config import Settings, SettingsInvalid, get_settings
from app.core.db import get_engine, make_engine
from app.core.errors import install_error_handlers
from app.core.gate import RequestGate, StartupRefused
from app.core.http import refuse_control_characters
from app.core.security import KeyConfigError, check_key_config
from app.docs import install_docs
from app.documents.public import router as verification_router
from app.health.router import router as health_router
from app.push import vapid
from app.sop.definition import DefinitionError, build_registry


def startup_problems(settings: Settings) -> list[str]:
    """Every reason to refuse to serve, one line each; empty when the service may start."""
    problems: list[str] = []
    try:
        check_key_config(settings)
    except KeyConfigError as exc:
        problems.append(str(exc))
    if settings.push_enabled and settings.push_vapid_private_key:
        try:
            vapid.load(settings.push_vapid_private_key)
        except vapid.VapidKeyInvalid as exc:
            problems.append(f"TRANTIB_PUSH_VAPID_PRIVATE_KEY: {exc}")
        else:
            try:
                vapid.check(settings.push_vapid_private_key, settings.push_vapid_subject)
            except vapid.VapidKeyInvalid as exc:
                problems.append(str(exc))
    try:
        known = build_registry(settings.sop_definitions_dir, settings.sop_version)
    except DefinitionError as exc:
        problems.append(str(exc))
    else:
        problems.extend(_version_problems(settings, set(known.definitions)))
    if not settings.is_production:
        return problems
    problems.extend(settings.production_problems())
    if not problems:
        problems.extend(_demo_user_problems(settings))
    return problems


def _query(settings: Settings, statement: Any) -> list[Any]:
    """Rows of a read in the database these settings name, even when they are not the
    process's own."""
    own = settings is get_settings()
    engine = get_engine() if own else make_engine(settings)
    try:
        with Session(engine) as session:
            return list(session.execute(statement))
    finally:
        if not own:
            engine.dispose()


def _reason(exc: SQLAlchemyError) -> str:
    return str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]


def _version_problems(settings: Settings, known: set[str]) -> list[str]:
    """Incidents run under the version they started with: its file must still be there."""
    from app.incidents.models import Incident

    try:
        rows = _query(settings, select(Incident.sop_version).distinct())  # type: ignore[call-overload]
    except SQLAlchemyError:
        # Not migrated yet, or unreachable: /readyz says so; nothing to check against.
        return []
    missing = sorted({row[0] for row in rows} - known)
    if missing:
        return [
            f"incidents run under SOP version(s) {', '.join(missing)}, which no definition "
            "file holds; restore the file(s) to app/sop/definitions/"
        ]
    return []


def _demo_user_problems(settings: Settings) -> list[str]:
    from app.users.models import User

    try:
        demo = _query(settings, select(User.id).where(User.is_demo).limit(1))  # type: ignore[call-overload]
    except SQLAlchemyError as exc:
        reason = _reason(exc)
        return [f"cannot look for demo users (database unreachable or not migrated): {reason}"]
    if demo:
        return ["demo users are present in the database; remove them before running in production"]
    return []


def check_startup(settings: Settings) -> None:
    """Raise StartupRefused, with every reason on one line, when the service must not serve."""
    problems = startup_problems(settings)
    if problems:
        where = " in production" if settings.is_production else ""
        raise StartupRefused(f"refusing to start{where}: " + "; ".join(problems))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        check_startup(settings)
        yield

    app = FastAPI(
        title="Trantib SOP service",
        version="1.0.0",
        summary="Kota Tangerang SOP Penanganan Unjuk Rasa dan Kerusuhan Warga, step by step.",
        lifespan=lifespan,
        # Served by install_docs from local files: FastAPI's own pages load from a CDN.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    install_error_handlers(app)
    install_docs(app, demo_users=not settings.is_production and settings.seed_demo)
    # Headers on every answer, then the rate, the body size, the turn to enter (refusals
    # never wait for one) and the Idempotency-Key, in one layer.
    app.add_middleware(RequestGate)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                # The live stream's resume (the fetch-based client of examples/live-stream).
                "Last-Event-ID",
            ],
            expose_headers=["ETag", "Location", "Retry-After", "Idempotent-Replayed"],
        )
    app.include_router(health_router)
    app.include_router(verification_router)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    return app


try:
    app = create_app()
except SettingsInvalid as exc:
    # uvicorn imports this module before any lifespan: without this it prints a traceback.
    sys.exit(f"refusing to start: {exc}")
