"""A protection whose own code fails answers 500 and logs it; it never steps aside.

The rate limiter and the Idempotency-Key middleware verify the bearer token themselves. An
invalid token is the endpoint's business (401). Anything else going wrong there is a bug:
were it taken for "no token", the rate limit would be off and a retried POST would run
twice. The failure is injected into the middleware's own token check only, so that the
endpoint behind it would still accept the token.
"""

from __future__ import annotations

import logging
from typing import NoReturn

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app.core import limits
from app.idempotency import middleware
from app.incidents.models import Incident
from tests.lifecycle.flow import INCIDENT
from tests.security.conftest import API, problem

INCIDENTS = f"{API}/incidents"


def _broken(*_args: object) -> NoReturn:
    raise RuntimeError("a bug in the token check")


def _incidents(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Incident)).scalar_one()


def test_the_rate_limiter_failing_is_a_logged_500(
    client, auth, settings_env, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    settings_env(rate_limit_per_minute=1)
    camat = auth("camat.ciledug")
    # An invalid token is not counted, and is refused by the endpoint.
    problem(client.get(INCIDENTS, headers={"Authorization": "Bearer a.b.c"}), 401, "invalid-token")
    monkeypatch.setattr(limits, "decode_access_token", _broken)
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        for _ in range(3):
            problem(client.get(INCIDENTS, headers=camat), 500, "internal-error")
    assert "a bug in the token check" in caplog.text


def test_the_idempotency_check_failing_is_a_logged_500_and_nothing_runs(
    client, auth, engine, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    # An invalid token reaches the endpoint, which refuses it.
    refused = client.post(
        INCIDENTS, json=INCIDENT, headers={"Authorization": "Bearer a.b.c", "Idempotency-Key": "k"}
    )
    problem(refused, 401, "invalid-token")
    headers = {**auth("kasi.ciledug"), "Idempotency-Key": "broken-check"}
    monkeypatch.setattr(middleware, "decode_access_token", _broken)
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        for _ in range(2):
            problem(client.post(INCIDENTS, json=INCIDENT, headers=headers), 500, "internal-error")
    assert "a bug in the token check" in caplog.text
    assert _incidents(engine) == 0
