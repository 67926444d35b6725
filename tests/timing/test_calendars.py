"""Due times and elapsed time on the wall and working-day calendars."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.clock import WIB
from app.timing import calendars
from app.timing.calendars import (
    DayKind,
    DayOverride,
    WallCalendar,
    WorkingDayCalendar,
    calendar_for,
    decreed_days,
    library_days,
)
from app.timing.sla import parse_sla


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WIB)


# Starts, in WIB. November 2026 has no national holiday; 14 May 2026 (Thu) is Kenaikan Yesus
# Kristus and 15 May a cuti bersama; 23-24 March 2026 (Mon-Tue) are cuti bersama Idul Fitri.
WEEKDAY = wib(2026, 11, 25, 10)  # Wednesday
FRIDAY_16 = wib(2026, 11, 27, 16)
FRIDAY_EVENING = wib(2026, 11, 27, 19, 30)
SATURDAY = wib(2026, 11, 28, 10)
HOLIDAY_EVE = wib(2026, 5, 13, 15)  # Wednesday before Kenaikan + cuti bersama
CUTI_BERSAMA = wib(2026, 3, 23, 9)
BEFORE_MIDNIGHT = wib(2026, 11, 24, 23, 30)  # Tuesday
FRIDAY_BEFORE_MIDNIGHT = wib(2026, 11, 27, 23, 30)

SLAS = ("10 Menit", "30 Menit", "1 Jam", "2 Jam", "1 Hari", "2 Hari")

# (label, start, {sla: due on the working-day calendar})
# fmt: off
WORKING_DAY_DUE: list[tuple[str, datetime, dict[str, datetime]]] = [
    ("weekday", WEEKDAY, {
        "10 Menit": wib(2026, 11, 25, 10, 10), "30 Menit": wib(2026, 11, 25, 10, 30),
        "1 Jam": wib(2026, 11, 25, 11), "2 Jam": wib(2026, 11, 25, 12),
        "1 Hari": wib(2026, 11, 26, 10), "2 Hari": wib(2026, 11, 27, 10),
    }),
    ("friday 16:00", FRIDAY_16, {
        "10 Menit": wib(2026, 11, 27, 16, 10), "30 Menit": wib(2026, 11, 27, 16, 30),
        "1 Jam": wib(2026, 11, 27, 17), "2 Jam": wib(2026, 11, 27, 18),
        "1 Hari": wib(2026, 11, 30, 16), "2 Hari": wib(2026, 12, 1, 16),
    }),
    ("friday evening", FRIDAY_EVENING, {
        "10 Menit": wib(2026, 11, 27, 19, 40), "30 Menit": wib(2026, 11, 27, 20),
        "1 Jam": wib(2026, 11, 27, 20, 30), "2 Jam": wib(2026, 11, 27, 21, 30),
        "1 Hari": wib(2026, 11, 30, 19, 30), "2 Hari": wib(2026, 12, 1, 19, 30),
    }),
    ("saturday", SATURDAY, {
        "10 Menit": wib(2026, 11, 30, 0, 10), "30 Menit": wib(2026, 11, 30, 0, 30),
        "1 Jam": wib(2026, 11, 30, 1), "2 Jam": wib(2026, 11, 30, 2),
        "1 Hari": wib(2026, 12, 1), "2 Hari": wib(2026, 12, 2),
    }),
    ("eve of a national holiday", HOLIDAY_EVE, {
        "10 Menit": wib(2026, 5, 13, 15, 10), "30 Menit": wib(2026, 5, 13, 15, 30),
        "1 Jam": wib(2026, 5, 13, 16), "2 Jam": wib(2026, 5, 13, 17),
        "1 Hari": wib(2026, 5, 18, 15), "2 Hari": wib(2026, 5, 19, 15),
    }),
    ("cuti bersama day", CUTI_BERSAMA, {
        "10 Menit": wib(2026, 3, 25, 0, 10), "30 Menit": wib(2026, 3, 25, 0, 30),
        "1 Jam": wib(2026, 3, 25, 1), "2 Jam": wib(2026, 3, 25, 2),
        "1 Hari": wib(2026, 3, 26), "2 Hari": wib(2026, 3, 27),
    }),
    ("across midnight", BEFORE_MIDNIGHT, {
        "10 Menit": wib(2026, 11, 24, 23, 40), "30 Menit": wib(2026, 11, 25),
        "1 Jam": wib(2026, 11, 25, 0, 30), "2 Jam": wib(2026, 11, 25, 1, 30),
        "1 Hari": wib(2026, 11, 25, 23, 30), "2 Hari": wib(2026, 11, 26, 23, 30),
    }),
    ("across midnight into a weekend", FRIDAY_BEFORE_MIDNIGHT, {
        "10 Menit": wib(2026, 11, 27, 23, 40), "30 Menit": wib(2026, 11, 28),
        "1 Jam": wib(2026, 11, 30, 0, 30), "2 Jam": wib(2026, 11, 30, 1, 30),
        "1 Hari": wib(2026, 11, 30, 23, 30), "2 Hari": wib(2026, 12, 1, 23, 30),
    }),
]

WALL_DUE: list[tuple[str, datetime, dict[str, datetime]]] = [
    ("weekday", WEEKDAY, {
        "10 Menit": wib(2026, 11, 25, 10, 10), "30 Menit": wib(2026, 11, 25, 10, 30),
        "1 Jam": wib(2026, 11, 25, 11), "2 Jam": wib(2026, 11, 25, 12),
        "1 Hari": wib(2026, 11, 26, 10), "2 Hari": wib(2026, 11, 27, 10),
    }),
    ("friday 16:00", FRIDAY_16, {
        "10 Menit": wib(2026, 11, 27, 16, 10), "30 Menit": wib(2026, 11, 27, 16, 30),
        "1 Jam": wib(2026, 11, 27, 17), "2 Jam": wib(2026, 11, 27, 18),
        "1 Hari": wib(2026, 11, 28, 16), "2 Hari": wib(2026, 11, 29, 16),
    }),
    ("friday evening", FRIDAY_EVENING, {
        "10 Menit": wib(2026, 11, 27, 19, 40), "30 Menit": wib(2026, 11, 27, 20),
        "1 Jam": wib(2026, 11, 27, 20, 30), "2 Jam": wib(2026, 11, 27, 21, 30),
        "1 Hari": wib(2026, 11, 28, 19, 30), "2 Hari": wib(2026, 11, 29, 19, 30),
    }),
    ("saturday", SATURDAY, {
        "10 Menit": wib(2026, 11, 28, 10, 10), "30 Menit": wib(2026, 11, 28, 10, 30),
        "1 Jam": wib(2026, 11, 28, 11), "2 Jam": wib(2026, 11, 28, 12),
        "1 Hari": wib(2026, 11, 29, 10), "2 Hari": wib(2026, 11, 30, 10),
    }),
    ("eve of a national holiday", HOLIDAY_EVE, {
        "10 Menit": wib(2026, 5, 13, 15, 10), "30 Menit": wib(2026, 5, 13, 15, 30),
        "1 Jam": wib(2026, 5, 13, 16), "2 Jam": wib(2026, 5, 13, 17),
        "1 Hari": wib(2026, 5, 14, 15), "2 Hari": wib(2026, 5, 15, 15),
    }),
    ("cuti bersama day", CUTI_BERSAMA, {
        "10 Menit": wib(2026, 3, 23, 9, 10), "30 Menit": wib(2026, 3, 23, 9, 30),
        "1 Jam": wib(2026, 3, 23, 10), "2 Jam": wib(2026, 3, 23, 11),
        "1 Hari": wib(2026, 3, 24, 9), "2 Hari": wib(2026, 3, 25, 9),
    }),
    ("across midnight", BEFORE_MIDNIGHT, {
        "10 Menit": wib(2026, 11, 24, 23, 40), "30 Menit": wib(2026, 11, 25),
        "1 Jam": wib(2026, 11, 25, 0, 30), "2 Jam": wib(2026, 11, 25, 1, 30),
        "1 Hari": wib(2026, 11, 25, 23, 30), "2 Hari": wib(2026, 11, 26, 23, 30),
    }),
    ("across midnight into a weekend", FRIDAY_BEFORE_MIDNIGHT, {
        "10 Menit": wib(2026, 11, 27, 23, 40), "30 Menit": wib(2026, 11, 28),
        "1 Jam": wib(2026, 11, 28, 0, 30), "2 Jam": wib(2026, 11, 28, 1, 30),
        "1 Hari": wib(2026, 11, 28, 23, 30), "2 Hari": wib(2026, 11, 29, 23, 30),
    }),
]
# fmt: on


def _cases(calendar: str, table: list[tuple[str, datetime, dict[str, datetime]]]) -> list[object]:
    assert all(set(dues) == set(SLAS) for _, _, dues in table)
    return [
        pytest.param(calendar, start, sla, dues[sla], id=f"{calendar}-{label}-{sla}")
        for label, start, dues in table
        for sla in SLAS
    ]


DUE_CASES = _cases("working_days", WORKING_DAY_DUE) + _cases("wall", WALL_DUE)


@pytest.mark.parametrize(("calendar", "start", "sla", "expected"), DUE_CASES)
def test_due_at(calendar: str, start: datetime, sla: str, expected: datetime) -> None:
    cal = calendar_for(calendar)
    due = cal.due_at(start.astimezone(UTC), parse_sla(sla))
    assert due == expected
    assert due.tzinfo is UTC


@pytest.mark.parametrize(("calendar", "start", "sla", "expected"), DUE_CASES)
def test_elapsed_until_due_is_the_whole_sla(
    calendar: str, start: datetime, sla: str, expected: datetime
) -> None:
    cal = calendar_for(calendar)
    standard = parse_sla(sla)
    assert cal.elapsed_seconds(start, expected) == standard.seconds
    assert cal.elapsed_seconds(start, expected - timedelta(seconds=1)) == standard.seconds - 1


@pytest.mark.parametrize(
    ("calendar", "start", "end", "seconds"),
    [
        # Friday 16:00 to Tuesday 16:00: 8 h Friday, all Monday, 16 h Tuesday.
        ("working_days", FRIDAY_16, wib(2026, 12, 1, 16), 2 * 86_400),
        ("wall", FRIDAY_16, wib(2026, 12, 1, 16), 4 * 86_400),
        # A whole weekend counts nothing on working days.
        ("working_days", SATURDAY, wib(2026, 11, 29, 23, 59), 0),
        ("wall", SATURDAY, wib(2026, 11, 29, 23, 59), 37 * 3600 + 59 * 60),
        # Through Kenaikan (Thu) and the cuti bersama (Fri) and the weekend.
        ("working_days", HOLIDAY_EVE, wib(2026, 5, 18, 1), 9 * 3600 + 3600),
        ("wall", HOLIDAY_EVE, wib(2026, 5, 18, 1), 4 * 86_400 + 10 * 3600),
        # Started on a cuti bersama day, finished the next working morning.
        ("working_days", CUTI_BERSAMA, wib(2026, 3, 25, 8), 8 * 3600),
        ("working_days", BEFORE_MIDNIGHT, wib(2026, 11, 25, 0, 45), 75 * 60),
        ("wall", BEFORE_MIDNIGHT, wib(2026, 11, 25, 0, 45), 75 * 60),
        # An end before the start counts as nothing; sub-second parts are dropped.
        ("working_days", WEEKDAY, WEEKDAY - timedelta(hours=1), 0),
        ("wall", WEEKDAY, WEEKDAY - timedelta(hours=1), 0),
        ("wall", WEEKDAY, WEEKDAY + timedelta(seconds=59, microseconds=999_999), 59),
        ("working_days", WEEKDAY, WEEKDAY + timedelta(seconds=59, microseconds=999_999), 59),
    ],
)
def test_elapsed_seconds(calendar: str, start: datetime, end: datetime, seconds: int) -> None:
    assert calendar_for(calendar).elapsed_seconds(start, end) == seconds


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = datetime(2026, 11, 27, 9, 0)  # 16:00 WIB
    due = calendar_for("working_days").due_at(naive, parse_sla("2 Hari"))
    assert due == wib(2026, 12, 1, 16)


def test_unknown_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="'lunar'"):
        calendar_for("lunar")


def test_calendars_have_their_names() -> None:
    assert calendar_for("wall").name == "wall"
    assert calendar_for("working_days").name == "working_days"
    assert isinstance(calendar_for("wall"), WallCalendar)


def test_library_has_cuti_bersama_and_holidays_with_kinds() -> None:
    days = library_days(2026)
    assert days[date(2026, 3, 23)][1] is DayKind.cuti_bersama
    assert days[date(2026, 5, 14)][1] is DayKind.libur_nasional
    assert days[date(2026, 8, 17)][0] == "Hari Kemerdekaan Republik Indonesia"


@pytest.mark.parametrize("year", [2024, 2026, 2027, 2030])
def test_the_national_list_is_the_packages_own(year: int) -> None:
    import holidays

    expected = {}
    for category, kind in (
        ("public", DayKind.libur_nasional),
        ("government", DayKind.cuti_bersama),
    ):
        listed = holidays.country_holidays("ID", years=year, categories=(category,), language="id")
        expected.update({day: (name, kind) for day, name in listed.items()})
    assert dict(library_days(year)) == expected


def test_reading_the_national_list_loads_no_other_country() -> None:
    """The package's countries/__init__ imports every country it has (8 MB a process)."""
    probe = (
        "import sys; from app.timing.calendars import library_days;"
        " assert library_days(2026); print(sorted(m for m in sys.modules"
        " if m.startswith('holidays.countries')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_the_decree_file_documents_the_library_cuti_bersama() -> None:
    entries = decreed_days()
    years = {e.date.year for e in entries}
    assert years == {2026, 2027}
    for entry in entries:
        assert entry.source
        assert not entry.working
        assert library_days(entry.date.year).get(entry.date, ("", None))[1] is DayKind.cuti_bersama
    listed = {
        d
        for y in (2026, 2027)
        for d, (_, k) in library_days(y).items()
        if k is DayKind.cuti_bersama
    }
    assert listed == {e.date for e in entries}


def _fixed(*days: DayOverride) -> WorkingDayCalendar:
    return WorkingDayCalendar(overrides=lambda: list(days))


def test_override_adds_a_regional_non_working_day() -> None:
    regional = DayOverride(
        date(2026, 11, 30), "Hari Jadi Kota (contoh)", DayKind.lainnya, "Perwal contoh"
    )
    cal = _fixed(regional)
    assert cal.due_at(FRIDAY_16, parse_sla("2 Hari")) == wib(2026, 12, 2, 16)
    assert cal.elapsed_seconds(FRIDAY_16, wib(2026, 12, 1)) == 8 * 3600


def test_override_makes_a_listed_day_a_working_day() -> None:
    worked = DayOverride(
        date(2026, 3, 23),
        "Cuti bersama dibatalkan (contoh)",
        DayKind.cuti_bersama,
        "SKB contoh",
        working=True,
    )
    cal = _fixed(worked)
    assert cal.due_at(CUTI_BERSAMA, parse_sla("1 Jam")) == wib(2026, 3, 23, 10)
    saturday_worked = DayOverride(
        date(2026, 11, 28),
        "Hari kerja pengganti (contoh)",
        DayKind.lainnya,
        "SE contoh",
        working=True,
    )
    assert _fixed(saturday_worked).due_at(SATURDAY, parse_sla("1 Hari")) == wib(2026, 11, 30, 10)


def test_a_calendar_without_working_days_fails_loudly() -> None:
    never = WorkingDayCalendar(overrides=lambda: [])
    never.is_working_day = lambda day: False  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="no working day"):
        never.due_at(WEEKDAY, parse_sla("1 Jam"))


def test_override_table_is_read_once_per_ttl_and_after_invalidation() -> None:
    reads: list[int] = []

    def source() -> list[DayOverride]:
        reads.append(1)
        return []

    cal = WorkingDayCalendar(overrides=source, ttl_seconds=3600)
    for _ in range(5):
        cal.due_at(FRIDAY_16, parse_sla("2 Hari"))
        cal.elapsed_seconds(FRIDAY_16, wib(2026, 12, 10))
    assert len(reads) == 1
    cal.invalidate()
    cal.due_at(FRIDAY_16, parse_sla("2 Hari"))
    assert len(reads) == 2
    expired = WorkingDayCalendar(overrides=source, ttl_seconds=0)
    expired.due_at(WEEKDAY, parse_sla("1 Jam"))
    expired.due_at(WEEKDAY, parse_sla("1 Jam"))
    assert len(reads) == 4


def test_database_overrides_are_read_from_the_table(db) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from app.timing.calendar_models import NonWorkingDay

    assert calendars.database_overrides() == []
    with Session(db) as session:
        session.add(
            NonWorkingDay(
                date=date(2026, 11, 30),
                name="Libur daerah (contoh)",
                kind="lainnya",
                source="Perwal contoh",
            )
        )
        session.commit()
    cal = calendar_for("working_days")
    # Cached before the insert: still the old answer until invalidated.
    calendars.invalidate_overrides()
    assert cal.due_at(FRIDAY_16, parse_sla("2 Hari")) == wib(2026, 12, 2, 16)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 1)),
    seconds=st.integers(min_value=1, max_value=5 * 86_400),
)
def test_due_at_is_the_first_instant_with_the_whole_sla(start: datetime, seconds: int) -> None:
    cal = _fixed()
    start = start.replace(microsecond=0, tzinfo=UTC)
    due = cal.advance(start, seconds)
    assert cal.elapsed_seconds(start, due) == seconds
    assert cal.elapsed_seconds(start, due - timedelta(seconds=1)) == seconds - 1
    assert due >= start + timedelta(seconds=seconds)
