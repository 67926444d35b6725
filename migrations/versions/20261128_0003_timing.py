"""timing: non-working-day overrides seeded with the decreed cuti bersama; step_runs.at_risk_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:00:00.000000
"""
from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The days decreed when this revision was written, copied here: a revision inserts the same
# rows on every database, whatever app/timing/data/non_working_days.toml says later (new
# decrees reach the table through the API, or through a revision of their own).
# (date, name, kind, source); none of them is a working day.
DECREED_DAYS = (
    (date(2026, 2, 16), "Cuti Bersama Tahun Baru Imlek 2577 Kongzili", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 3, 18), "Cuti Bersama Hari Suci Nyepi Tahun Baru Saka 1948", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 3, 20), "Cuti Bersama Hari Raya Idul Fitri 1447 H", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 3, 23), "Cuti Bersama Hari Raya Idul Fitri 1447 H", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 3, 24), "Cuti Bersama Hari Raya Idul Fitri 1447 H", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 5, 15), "Cuti Bersama Kenaikan Yesus Kristus", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 5, 28), "Cuti Bersama Hari Raya Idul Adha 1447 H", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2026, 12, 24), "Cuti Bersama Hari Raya Natal", "cuti_bersama",
     "SKB 3 Menteri No. 1497/2025, No. 2/2025, No. 5/2025"),
    (date(2027, 2, 5), "Cuti Bersama Tahun Baru Imlek 2578 Kongzili", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 3, 9), "Cuti Bersama Hari Raya Idul Fitri 1448 H", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 3, 12), "Cuti Bersama Hari Raya Idul Fitri 1448 H", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 3, 15), "Cuti Bersama Hari Raya Idul Fitri 1448 H", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 3, 25), "Cuti Bersama Wafat Yesus Kristus", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 5, 18), "Cuti Bersama Hari Raya Idul Adha 1448 H", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 5, 19), "Cuti Bersama Hari Raya Waisak 2571 BE", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
    (date(2027, 12, 24), "Cuti Bersama Hari Raya Natal", "cuti_bersama",
     "SKB 3 Menteri Hari Libur Nasional dan Cuti Bersama 2027"),
)


def _decreed_days() -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {"date": day, "name": name, "kind": kind, "source": source, "working": False,
         "updated_by": None, "updated_at": now}
        for day, name, kind, source in DECREED_DAYS
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
