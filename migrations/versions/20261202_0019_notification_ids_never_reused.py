"""notification ids never reused: AUTOINCREMENT for notifications on SQLite

A notification id is the live stream's event id and the push cursor's position. SQLite gave a
new row max(id) + 1, so a deleted highest id came back, and a client that had seen it (or the
push cursor past it) skipped the new row. With AUTOINCREMENT an id is never given twice.
PostgreSQL's sequence never goes back: nothing to do there.

On SQLite the table is rebuilt. Dropping the old one would delete the push deliveries that
reference it (ON DELETE CASCADE), so they are set aside and put back after, with the foreign
key checks deferred to the end of the transaction. The sequence starts past both the highest
id and the push cursor, which may have seen an id deleted since.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLDING = "_push_deliveries_0019"


@contextmanager
def _deliveries_set_aside() -> Iterator[None]:
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f'CREATE TEMP TABLE "{HOLDING}" AS SELECT * FROM push_deliveries')
    op.execute("DELETE FROM push_deliveries")
    yield
    op.execute(f'INSERT INTO push_deliveries SELECT * FROM "{HOLDING}"')
    op.execute(f'DROP TABLE "{HOLDING}"')


def _rebuild(autoincrement: bool) -> None:
    with (
        _deliveries_set_aside(),
        op.batch_alter_table(
            "notifications",
            recreate="always",
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ),
    ):
        pass


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(True)
    op.execute("DELETE FROM sqlite_sequence WHERE name = 'notifications'")
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'notifications', max("
        "(SELECT coalesce(max(id), 0) FROM notifications), "
        "(SELECT coalesce(max(last_notification_id), 0) FROM push_cursor))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(False)
