"""The application: routers, problem+json errors, middleware and start-up checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import select

from app.api import API_ROUTERS
from app.core.config import Settings, get_settings
from app.core.db import get_engine
from app.core.errors import install_error_handlers
from app.core.security import check_key_config
from app.health.router import router as health_router


class StartupRefused(RuntimeError):
    pass


def check_startup(settings: Settings) -> None:
    """Refuse to serve with unsafe settings; one line per reason."""
    check_key_config(settings)
    if not settings.is_production:
        return
    problems = settings.production_problems()
    if not problems:
        from sqlmodel import Session

        from app.users.models import User

        with Session(get_engine()) as session:
            demo = session.execute(select(User.id).where(User.is_demo).limit(1)).first()  # type: ignore[arg-type]
        if demo is not None:
            problems.append("demo users are present; remove them before running in production")
    if problems:
        raise StartupRefused("refusing to start in production: " + "; ".join(problems))


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
    )
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
            expose_headers=["ETag", "Location", "Retry-After"],
        )
    app.include_router(health_router)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    return app


app = create_app()
