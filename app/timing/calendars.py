"""Calendars that measure step runs: plain clock time, or whole working days in WIB.

A working day is a whole day, 00:00-24:00 WIB (Asia/Jakarta), Monday to Friday (Perpres
21/2023), that is neither an Indonesian national holiday (libur nasional) nor a cuti bersama.
The national list comes from the `holidays` package; a local override table
(`non_working_days`, seeded from `data/non_working_days.toml` and maintained by an admin)
adds days the package does not know and can turn a listed day back into a working day.

WIB has no daylight saving time, so every WIB day is exactly 86 400 seconds long.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time as monotonic_time
import tomllib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import holidays
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import NullPool

from app.core.clock import WIB, as_utc
from app.timing.sla import Sla

log = logging.getLogger("app.timing.calendars")

WALL = "wall"
WORKING_DAYS = "working_days"
CALENDAR_NAMES = (WALL, WORKING_DAYS)
# The name the package's Indonesian calendar module is loaded under (see _indonesia).
INDONESIA_MODULE = "app.timing._holidays_indonesia"

# The override table is read at most this often per process (and at once after a change
# made by this process), so measuring a run never costs a query.
OVERRIDE_TTL_SECONDS = 60.0
# A calendar without a single working day for ten years is a broken override table.
_MAX_DAYS_WITHOUT_WORK = 3660
_DAY = timedelta(days=1)


class DayKind(StrEnum):
    libur_nasional = "libur_nasional"
    cuti_bersama = "cuti_bersama"
    lainnya = "lainnya"


@dataclass(frozen=True)
class DayOverride:
    """A local decision about one date: `working=False` makes it a non-working day,
    `working=True` makes it a working day whatever the weekday or the national list says."""

    date: date
    name: str
    kind: DayKind
    source: str
    working: bool = False


@dataclass(frozen=True)
class CalendarDay:
    """One entry of the non-working-day list as the API shows it."""

    date: date
    name: str
    kind: DayKind
    source: str
    working: bool
    overridden: bool


class Calendar(Protocol):
    """Measures step runs. Every datetime in and out is aware UTC."""

    name: str

    def due_at(self, start: datetime, sla: Sla) -> datetime:
        """When a run started at `start` has used up `sla`."""
        ...

    def advance(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` of this calendar's time have passed since `start`."""
        ...

    def elapsed_seconds(self, start: datetime, end: datetime) -> int:
        """Whole seconds of this calendar's time between `start` and `end` (0 if end < start)."""
        ...


class WallCalendar:
    """Plain clock time: riots happen at night and on Sundays."""

    name = WALL

    def due_at(self, start: datetime, sla: Sla) -> datetime:
        return self.advance(start, sla.seconds)

    def advance(self, start: datetime, seconds: float) -> datetime:
        return as_utc(start) + timedelta(seconds=seconds)

    def elapsed_seconds(self, start: datetime, end: datetime) -> int:
        return max(0, int((as_utc(end) - as_utc(start)).total_seconds()))


# --- the national list -------------------------------------------------------------------


@cache
def _indonesia() -> Callable[..., Mapping[date, str]]:
    """The package's Indonesian calendar class, loaded on its own. Any import of
    `holidays.countries.<one>`, `country_holidays()` too, first runs that package's
    __init__, which imports all of its 250 countries: 8 MB more in every process for good and
    a peak 30 MB higher while they load, for the one calendar the service needs. The module
    file is the package's own; where it is not (another layout of a later release), the
    package's own way is taken."""
    path = Path(holidays.__file__).parent / "countries" / "indonesia.py"
    spec = importlib.util.spec_from_file_location(INDONESIA_MODULE, path)
    if not path.is_file() or spec is None or spec.loader is None:
        log.warning("holidays %s has no %s; loading every country", holidays.__version__, path)
        return partial(holidays.country_holidays, "ID")
    module = importlib.util.module_from_spec(spec)
    sys.modules[INDONESIA_MODULE] = module
    spec.loader.exec_module(module)
    indonesia: Callable[..., Mapping[date, str]] = module.Indonesia
    return indonesia


@lru_cache(maxsize=64)
def library_days(year: int) -> Mapping[date, tuple[str, DayKind]]:
    """National holidays and cuti bersama of one year from the `holidays` package."""
    found: dict[date, tuple[str, DayKind]] = {}
    # Asked separately so each date keeps its kind; the language is explicit because the
    # package otherwise follows the process locale.
    for category, kind in (
        ("government", DayKind.cuti_bersama),
        ("public", DayKind.libur_nasional),
    ):
        listed = _indonesia()(years=year, categories=(category,), language="id")
        for day, name in listed.items():
            found[day] = (str(name), kind)
    return found


def library_source() -> str:
    return f"holidays {holidays.__version__} (ID, public + government)"


# --- the packaged decree file ------------------------------------------------------------

DATA_FILE = "non_working_days.toml"


def decreed_days() -> list[DayOverride]:
    """The entries of the packaged data file (cuti bersama as decreed, with their sources)."""
    text = resources.files("app.timing").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_decree_file(text)


def parse_decree_file(text: str) -> list[DayOverride]:
    document = tomllib.loads(text)
    entries: list[DayOverride] = []
    for raw in document.get("day", []):
        value = raw["date"]
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError(f"{DATA_FILE}: date must be a TOML local date, got {value!r}")
        entries.append(
            DayOverride(
                date=value,
                name=str(raw["name"]),
                kind=DayKind(raw["kind"]),
                source=str(raw["source"]),
                working=bool(raw.get("working", False)),
            )
        )
    return entries


# --- the override table, cached per process ----------------------------------------------

OverrideSource = Callable[[], Iterable[DayOverride]]


@lru_cache(maxsize=4)
def _reader_engine(url: str) -> Engine:
    # A connection of its own, without the request engine's BEGIN IMMEDIATE on SQLite: the
    # calendar is called inside write transactions, and a second writer lock would wait on
    # the first. A plain read sees the last committed table, which is what it should see.
    if url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": 15})
    return create_engine(url, poolclass=NullPool)


def database_overrides() -> list[DayOverride]:
    """Every row of `non_working_days`, read on a short connection of its own."""
    from sqlmodel import SQLModel

    import app.timing.calendar_models  # noqa: F401  (registers the table)
    from app.core.config import get_settings

    table = SQLModel.metadata.tables["non_working_days"]
    with _reader_engine(get_settings().database_url).connect() as conn:
        rows = conn.execute(
            select(table.c.date, table.c.name, table.c.kind, table.c.source, table.c.working)
        ).all()
    return [
        DayOverride(
            date=r.date, name=r.name, kind=DayKind(r.kind), source=r.source, working=bool(r.working)
        )
        for r in rows
    ]


class _OverrideCache:
    def __init__(self, source: OverrideSource, ttl: float) -> None:
        self._source = source
        self._ttl = ttl
        self._lock = threading.Lock()
        self._days: dict[date, DayOverride] | None = None
        self._loaded_at = 0.0

    def get(self) -> dict[date, DayOverride]:
        days = self._days
        if days is not None and monotonic_time.monotonic() - self._loaded_at < self._ttl:
            return days
        with self._lock:
            if self._days is None or monotonic_time.monotonic() - self._loaded_at >= self._ttl:
                self._days = {d.date: d for d in self._source()}
                self._loaded_at = monotonic_time.monotonic()
            return self._days

    def invalidate(self) -> None:
        with self._lock:
            self._days = None


class WorkingDayCalendar:
    """Counts only time inside whole working days (00:00-24:00 WIB)."""

    name = WORKING_DAYS

    def __init__(
        self,
        overrides: OverrideSource = database_overrides,
        ttl_seconds: float = OVERRIDE_TTL_SECONDS,
    ) -> None:
        self._cache = _OverrideCache(overrides, ttl_seconds)
        # Per year: the override table the exceptions were computed with, and them.
        self._years: dict[int, tuple[dict[date, DayOverride], list[date], list[int]]] = {}

    def invalidate(self) -> None:
        """Forget the cached override table; the next call reads it again."""
        self._cache.invalidate()

    def is_working_day(self, day: date) -> bool:
        override = self._cache.get().get(day)
        if override is not None:
            return override.working
        if day.weekday() >= 5:
            return False
        return day not in library_days(day.year)

    def due_at(self, start: datetime, sla: Sla) -> datetime:
        return self.advance(start, sla.seconds)

    def advance(self, start: datetime, seconds: float) -> datetime:
        remaining = timedelta(seconds=seconds)
        position = as_utc(start).astimezone(WIB)
        if remaining <= timedelta(0):
            return as_utc(position)
        day = position.date()
        idle_days = 0
        while True:
            day_start = datetime.combine(day, time(0), WIB)
            if self.is_working_day(day):
                idle_days = 0
                begin = max(position, day_start)
                available = day_start + _DAY - begin
                # An SLA used up exactly at midnight is due at that midnight, even when the
                # next day is a holiday.
                if remaining <= available:
                    return as_utc(begin + remaining)
                remaining -= available
            else:
                idle_days += 1
                if idle_days > _MAX_DAYS_WITHOUT_WORK:
                    raise RuntimeError("no working day in ten years: check the override table")
            day += _DAY

    def elapsed_seconds(self, start: datetime, end: datetime) -> int:
        """Working seconds between two instants: the two partial days, and whole working
        days between them counted arithmetically (weekdays by the week, then the year's
        exceptions), so the cost does not grow with the span."""
        begin = as_utc(start).astimezone(WIB)
        finish = as_utc(end).astimezone(WIB)
        if finish <= begin:
            return 0
        first, last = begin.date(), finish.date()
        if first == last:
            return int((finish - begin).total_seconds()) if self.is_working_day(first) else 0
        total = timedelta(0)
        if self.is_working_day(first):
            total += datetime.combine(first + _DAY, time(0), WIB) - begin
        if self.is_working_day(last):
            total += finish - datetime.combine(last, time(0), WIB)
        total += _DAY * self.working_days_between(first + _DAY, last)
        return int(total.total_seconds())

    def working_days_between(self, first: date, end: date) -> int:
        """How many working days lie in [first, end)."""
        if end <= first:
            return 0
        weeks, rest = divmod((end - first).days, 7)
        count = weeks * 5 + sum(1 for i in range(rest) if (first.weekday() + i) % 7 < 5)
        for year in range(first.year, end.year + 1):
            days, changes = self._exceptions(year)
            low, high = bisect_left(days, first), bisect_left(days, end)
            count += sum(changes[low:high])
        return count

    def _exceptions(self, year: int) -> tuple[list[date], list[int]]:
        """The dates of `year` that break the Monday-to-Friday rule, sorted, each with +1 (a
        working day on a weekend) or -1 (a weekday off), for the current override table."""
        overrides = self._cache.get()
        cached = self._years.get(year)
        if cached is not None and cached[0] is overrides:
            return cached[1], cached[2]
        found: dict[date, int] = {}
        candidates = set(library_days(year)) | {d for d in overrides if d.year == year}
        for day in sorted(candidates):
            weekday = day.weekday() < 5
            working = self.is_working_day(day)
            if working != weekday:
                found[day] = 1 if working else -1
        days = sorted(found)
        self._years[year] = (overrides, days, [found[d] for d in days])
        return days, [found[d] for d in days]

    def days_of_year(self, year: int) -> list[CalendarDay]:
        """The national list of `year` merged with the overrides, in date order."""
        overrides = self._cache.get()
        merged: dict[date, CalendarDay] = {}
        source = library_source()
        for day, (name, kind) in library_days(year).items():
            merged[day] = CalendarDay(day, name, kind, source, working=False, overridden=False)
        for day, o in overrides.items():
            if day.year == year:
                merged[day] = CalendarDay(day, o.name, o.kind, o.source, o.working, overridden=True)
        return [merged[d] for d in sorted(merged)]


_WALL = WallCalendar()
_WORKING_DAYS = WorkingDayCalendar()


def calendar_for(name: str) -> Calendar:
    """The calendar called `name` ("wall" or "working_days"); ValueError for anything else."""
    if name == WALL:
        return _WALL
    if name == WORKING_DAYS:
        return _WORKING_DAYS
    raise ValueError(f"unknown calendar: {name!r} (expected one of {', '.join(CALENDAR_NAMES)})")


def working_day_calendar() -> WorkingDayCalendar:
    return _WORKING_DAYS


def invalidate_overrides() -> None:
    """Re-read the override table on the next call (after a change or in tests)."""
    _WORKING_DAYS.invalidate()


CHANGED_FLAG = "timing.non_working_days_changed"


def mark_overrides_changed(session: OrmSession) -> None:
    """Note in `session` that the override table changed: the cache is dropped at once and
    again after the commit, so a read between flush and commit cannot keep stale data."""
    session.info[CHANGED_FLAG] = True
    invalidate_overrides()


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    if session.info.pop(CHANGED_FLAG, False):
        invalidate_overrides()


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(CHANGED_FLAG, None)


AT_RISK_FRACTION = 0.75


def at_risk_instant(calendar: str, started_at: datetime, sla_seconds: int) -> datetime:
    """When a run started at `started_at` has used 75% of its SLA on `calendar`."""
    return calendar_for(calendar).advance(started_at, sla_seconds * AT_RISK_FRACTION)


def at_risk_default(context: Any) -> datetime | None:
    """Column default of `step_runs.at_risk_at`, computed from the row being inserted."""
    values = context.get_current_parameters()
    started, seconds, calendar = (
        values.get("actionable_at") or values.get("started_at"),
        values.get("sla_seconds"),
        values.get("calendar"),
    )
    if started is None or seconds is None or calendar not in CALENDAR_NAMES:
        return None
    return at_risk_instant(calendar, started, int(seconds))
