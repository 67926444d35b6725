"""Version-guarded UPDATE of one loaded row: optimistic concurrency for incidents and drafts.

`UPDATE <table> SET … WHERE id = :row_id AND version = :seen_version` is built once per table
and column set and then only executed with parameters: building the statement and its cache
key on every request cost more than the round trip itself. The loaded object takes the new
values as its committed state, so the session does not write them a second time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

_STATEMENTS: dict[tuple[str, tuple[str, ...]], Update] = {}


def _statement(table: Table, columns: tuple[str, ...]) -> Update:
    key = (table.name, columns)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("row_id"),
                table.c.version == bindparam("seen_version"),
            )
            .values({name: bindparam(f"set_{name}") for name in columns})
        )
        _STATEMENTS[key] = statement
    return statement


def guarded_update(session: Session, row: SQLModel, values: dict[str, Any]) -> bool:
    """Write `values` (which include the next version) if the row is still at the version it
    was loaded at; False, with nothing written, when another transaction moved it first."""
    # Pending changes of the session go first, as an ORM-level execute would flush them.
    session.flush()
    table: Table = type(row).__table__  # type: ignore[attr-defined]
    columns = tuple(sorted(values))
    moved = session.connection().execute(
        _statement(table, columns),
        {
            "row_id": row.id,  # type: ignore[attr-defined]
            "seen_version": row.version,  # type: ignore[attr-defined]
            **{f"set_{name}": values[name] for name in columns},
        },
    )
    if moved.rowcount != 1:
        return False
    for name, value in values.items():
        set_committed_value(row, name, value)
    return True
