"""Step runs keep two clocks: claimed and recorded times, and whether a completion was backdated

A claimed `occurred_at` decided a run's measure alone, so a completion claimed early could
turn an announced breach into "on time". Runs now keep when they became actionable in the
service and when their completion was recorded, the three elapsed times (official, claimed,
recorded) and whether the completion was backdated, with its reason. Existing runs were
measured by one clock: both clocks take its values.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actionable_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("recorded_completed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_elapsed_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recorded_elapsed_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("backdated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("backdated_reason", sa.String(length=500), nullable=True))
    op.execute(
        "UPDATE step_runs SET actionable_at = started_at, "
        "recorded_completed_at = completed_at, "
        "claimed_elapsed_seconds = elapsed_seconds, "
        "recorded_elapsed_seconds = elapsed_seconds"
    )
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.alter_column(
            "actionable_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.alter_column("backdated", existing_type=sa.Boolean(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        for column in (
            "backdated_reason",
            "backdated",
            "recorded_elapsed_seconds",
            "claimed_elapsed_seconds",
            "recorded_completed_at",
            "actionable_at",
        ):
            batch_op.drop_column(column)
