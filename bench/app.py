"""The service as the benchmark serves it: the product app plus one bare endpoint.

`POST /bench/insert` is the yardstick of the overhead figures: a FastAPI endpoint on the same
process, middleware stack, routing, session dependency, pool and driver as the step actions,
doing one INSERT and the request's commit. `GET /bench/statements` counts the SQL statements the
process sent and the CPU time it has used (all its threads), so that a client on one
keep-alive connection, served by one worker, reads what a request cost between two of them.
Both exist only in this wrapper, never in the product.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import event, text

from app.core.db import SessionDep, get_engine
from app.core.routing import OneHopRoute
from app.main import create_app

# Created by the benchmark before uvicorn starts (two workers must not race to create it).
PROBE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_probe (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL,
    payload text NOT NULL
)
"""

app = create_app()

# SQL statements this process has sent, read between two sequential requests to know how many
# round trips to the database each action takes.
_statements = [0]


@event.listens_for(get_engine(), "before_cursor_execute")
def _count(*_args: Any) -> None:
    _statements[0] += 1


@app.get("/bench/statements", include_in_schema=False)
async def bench_statements() -> dict[str, float]:
    return {"count": _statements[0], "cpu_s": time.process_time()}


# Routed as the product's endpoints are (one thread hop for the endpoint and its commit).
_bare = APIRouter(route_class=OneHopRoute)


@_bare.post("/bench/insert", status_code=201, include_in_schema=False)
def bench_insert(session: SessionDep) -> dict[str, str]:
    probe_id = uuid.uuid4()
    session.execute(
        text("INSERT INTO bench_probe (id, created_at, payload) VALUES (:id, :at, :payload)"),
        {"id": probe_id, "at": datetime.now(UTC), "payload": "probe"},
    )
    return {"id": str(probe_id)}


app.include_router(_bare)
