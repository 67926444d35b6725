"""incidents.reported_at index: city-wide lists read a window of incidents by report time

The (unit_id, reported_at) index serves one kecamatan; for a city-wide window PostgreSQL
walked that whole index, so the pimpinan's list of the last week grew with the history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 16:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_reported", ["reported_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_reported")
