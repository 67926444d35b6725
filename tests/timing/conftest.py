"""Every timing test starts and ends with a cold override cache: the table is emptied
between tests, and a cached override from an earlier test must not leak into the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core import clock
from app.timing.calendars import invalidate_overrides


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    invalidate_overrides()
    yield
    invalidate_overrides()
    clock.set_now(None)
