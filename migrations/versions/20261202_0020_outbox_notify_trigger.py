"""outbox NOTIFY by trigger: every insert into outbox_events wakes the listening processes

An action told the API processes listening on `trantib_outbox` that events wait with a
`SELECT pg_notify(...)` of its own after writing them: one more round trip in every step
action. A statement-level trigger sends the same NOTIFY inside the INSERT, and also for the
writers that did not send it (the SLA worker's at-risk and breach events). As before, the
NOTIFY is delivered when the transaction commits and never on a rollback, and it carries no
row: the table stays the source of truth. SQLite has no NOTIFY and polls: nothing to do.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 19:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel app.outbox.service.OUTBOX_CHANNEL names; a migration keeps its own copy.
CHANNEL = "trantib_outbox"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION trantib_outbox_written() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_events_written AFTER INSERT ON outbox_events"
        " FOR EACH STATEMENT EXECUTE FUNCTION trantib_outbox_written()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER outbox_events_written ON outbox_events")
    op.execute("DROP FUNCTION trantib_outbox_written()")
