"""Every timing test starts and ends with a cold override cache: the table is emptied
between tests, and a cached override from an earlier test must not leak into the next."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.core import clock
from app.timing.calendars import invalidate_overrides


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    invalidate_overrides()
    yield
    invalidate_overrides()
    clock.set_now(None)


@pytest.fixture
def seed(db):  # type: ignore[no-untyped-def]
    from tests.timing.factory import Seeder

    return Seeder(db)


@pytest.fixture
def frozen() -> Iterator[datetime]:
    """The service clock stopped at the current second.

    Tokens are checked against the system clock too, so tests stay near real time and place
    their runs relative to this instant.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set_now(lambda: now)
    yield now
    clock.set_now(None)
