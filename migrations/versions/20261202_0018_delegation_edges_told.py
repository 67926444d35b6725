"""delegation edges told: when a deputy's start and end were written to the outbox

A deputy gains the post's waiting work when the delegation starts and loses it when it ends or
is revoked; the fan-out tells them (task.assigned, task.withdrawn) from outbox events written
once per edge. delegations gains start_told_at and end_told_at, set when each edge's events
are written. Delegations before this revision start untold: the first pass tells what their
edges changed against what each person was already told, which is nothing for most.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("start_told_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("end_told_at", app.core.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_column("end_told_at")
        batch_op.drop_column("start_told_at")
