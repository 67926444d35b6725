"""delegations: a Plh or Plt takes a post for a period; records say who acted for whom

delegations holds each appointment (post, kecamatan, deputy, period, the appointment letter)
and its revocation; delegation_events chains their recording per kecamatan by hash. The
audit events, verifications and orders taken by a deputy carry acting_as (post, kind,
delegation, capacity). Nothing existing changes: rows before this revision acted in their
own role.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:47:44
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import app.core.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("delegate_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("basis_number", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("basis_date", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("revoke_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["delegate_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.create_index("ix_delegations_delegate", ["delegate_id", "starts_at"], unique=False)
        batch_op.create_index(
            "ix_delegations_post", ["unit_id", "position", "starts_at"], unique=False
        )

    op.create_table(
        "delegation_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("delegation_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("actor_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["delegation_id"],
            ["delegations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("unit_id", "prev_hash", name="uq_delegation_events_prev"),
        sa.UniqueConstraint("unit_id", "seq", name="uq_delegation_events_seq"),
    )
    with op.batch_alter_table("delegation_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delegation_events_delegation_id"), ["delegation_id"], unique=False
        )

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acting_as",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acting_as",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "acting_as",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_column("acting_as")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("acting_as")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("acting_as")

    with op.batch_alter_table("delegation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_events_delegation_id"))

    op.drop_table("delegation_events")
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_index("ix_delegations_post")
        batch_op.drop_index("ix_delegations_delegate")

    op.drop_table("delegations")
