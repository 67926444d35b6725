"""step_runs.started_at index: SLA summaries read a window of runs by start time

Without it a summary over the last weeks scans every run of the kecamatan (or the city),
so its cost grew with the whole history instead of with the window.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 14:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.create_index("ix_step_runs_started", ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_step_runs_started")
