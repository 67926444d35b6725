"""The one source of "now" for the service; tests move it with time-machine or `set_now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Timezone-aware UTC now."""
    return _now()


def set_now(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests, simulations); None restores the system clock."""
    global _now
    _now = source or (lambda: datetime.now(UTC))


def as_utc(value: datetime) -> datetime:
    """Aware datetime in UTC; a naive value (as SQLite returns it) is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
