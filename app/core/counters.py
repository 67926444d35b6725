"""Gap-free sequence numbers per kind, unit and year (register and Surat Perintah numbers).

The counter row is bumped inside the caller's transaction: a rolled-back action gives its number
back, and concurrent callers queue on the row lock, so numbers are never reused nor skipped.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel


class Counter(SQLModel, table=True):
    __tablename__ = "counters"

    kind: str = Field(primary_key=True, max_length=16)
    unit_id: int = Field(
        primary_key=True, foreign_key="units.id", sa_column_kwargs={"autoincrement": False}
    )
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_value: int = 0


def next_value(session: Session, kind: str, unit_id: int, year: int) -> int:
    where = (Counter.kind == kind, Counter.unit_id == unit_id, Counter.year == year)
    bump = (
        update(Counter)  # type: ignore[call-overload]
        .where(*where)  # type: ignore[arg-type]
        .values(last_value=Counter.last_value + 1)
        .returning(Counter.last_value)
    )
    value = session.execute(bump).scalar()
    if value is not None:
        return int(value)
    dialect = session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert_(Counter)
        .values(kind=kind, unit_id=unit_id, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    return int(session.execute(bump).scalar_one())
