"""Column types shared by every table, and the string types every request's text is held to."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator
from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend.

    SQLite has no time zone type and hands back naive values; this type stores UTC and
    always returns aware UTC datetimes, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")


def utc_field(nullable: bool = False, index: bool = False) -> Any:
    """A UTC timestamp column; non-null ones default to the service clock's now."""
    from sqlalchemy import Column
    from sqlmodel import Field

    from app.core import clock

    column = Column(UTCDateTime(), nullable=nullable, index=index)  # type: ignore[var-annotated]
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=clock.now, sa_column=column)


# Characters with no place in text: C0 controls, DEL, C1 controls, and lone surrogates (JSON
# can spell "\ud800", which no database encoding stores). PostgreSQL refuses NUL in text (a
# DataError, so a 500), SQLite stores it and every reader then gets a cut string.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# One-line values (names, parameters, paths) have no use for tabs and line breaks either.
_NOT_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    found = pattern.search(value)
    if found is not None:
        raise ValueError(f"must not contain the control character U+{ord(found.group()):04X}")
    return value


def check_text(value: str) -> str:
    """`value`, unless it holds a character that has no place in text (ValueError)."""
    return _refuse(_NOT_TEXT, value)


def check_line(value: str) -> str:
    """`value`, unless it holds a control character, tabs and line breaks included."""
    return _refuse(_NOT_IN_A_LINE, value)


# Names and identifiers, where a body's other strings (held to check_text by the body base
# class, app.core.schemas.RequestBody) may span lines.
Line = Annotated[str, AfterValidator(check_line)]
