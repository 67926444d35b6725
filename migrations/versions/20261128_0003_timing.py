"""timing: non-working-day overrides seeded with the decreed cuti bersama; step_runs.at_risk_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:00:00.000000
"""
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decreed_days() -> list[dict[str, object]]:
    # Read with tomllib here rather than through app code, so later changes to the calendar
    # module cannot change what this revision inserts; the data file is the decree record.
    text = resources.files("app.timing").joinpath("data", "non_working_days.toml").read_text("utf-8")
    now = datetime.now(UTC)
    return [
        {"date": day["date"], "name": day["name"], "kind": day["kind"], "source": day["source"],
         "working": bool(day.get("working", False)), "updated_by": None, "updated_at": now}
        for day in tomllib.loads(text).get("day", [])
    ]


def upgrade() -> None:
    non_working_days = op.create_table('non_working_days',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.Column('updated_at', app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('libur_nasional', 'cuti_bersama', 'lainnya')", name='ck_non_working_days_kind'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('date')
    )
    op.bulk_insert(non_working_days, _decreed_days())

    with op.batch_alter_table('step_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_risk_at', app.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_step_runs_status_at_risk', ['status', 'at_risk_at'], unique=False)
    _backfill_at_risk_at()


def _backfill_at_risk_at() -> None:
    # Runs recorded before this revision: on the wall calendar the 75% point lies 3/4 of the
    # way to due_at. Working-day runs are measured in Python on every read and keep NULL.
    step_runs = sa.table(
        'step_runs', sa.column('id', sa.Uuid()), sa.column('calendar', sa.String()),
        sa.column('started_at', app.core.types.UTCDateTime()),
        sa.column('due_at', app.core.types.UTCDateTime()),
        sa.column('at_risk_at', app.core.types.UTCDateTime()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(step_runs.c.id, step_runs.c.started_at, step_runs.c.due_at)
        .where(step_runs.c.calendar == 'wall', step_runs.c.at_risk_at.is_(None))
    ).all()
    for row in rows:
        point = row.started_at + (row.due_at - row.started_at) * 3 / 4
        bind.execute(
            step_runs.update().where(step_runs.c.id == row.id).values(at_risk_at=point)
        )


def downgrade() -> None:
    with op.batch_alter_table('step_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_step_runs_status_at_risk')
        batch_op.drop_column('at_risk_at')

    op.drop_table('non_working_days')
