"""service clients: city systems with client credentials; incidents registered by a client

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:00:00

On SQLite, changing `incidents.created_by` means rebuilding the table, and dropping a table
that other tables reference fails while foreign keys are enforced and those tables have rows.
The rows are set aside first, the table is rebuilt empty and they are put back, with the
foreign key checks deferred to the end of the transaction: every reference is then whole again.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import app.core.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
CREATOR_CHECK = "(created_by IS NULL) <> (created_by_client IS NULL)"
HOLDING = "_incidents_0006"


@contextmanager
def _rows_set_aside(table: str) -> Iterator[None]:
    """On SQLite, empty `table` for the rebuild inside the block and restore its rows after."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    before = [c["name"] for c in sa.inspect(bind).get_columns(table)]
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f'CREATE TEMP TABLE "{HOLDING}" AS SELECT * FROM "{table}"')
    op.execute(f'DELETE FROM "{table}"')
    yield
    after = {c["name"] for c in sa.inspect(bind).get_columns(table)}
    # Columns added by the block take their defaults; dropped ones are left behind.
    columns = ", ".join(f'"{name}"' for name in before if name in after)
    op.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{HOLDING}"')
    op.execute(f'DROP TABLE "{HOLDING}"')


def upgrade() -> None:
    op.create_table(
        "service_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("scopes", JSON_DOC, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("secret_rotated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_token_at", app.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with _rows_set_aside("incidents"), op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(
            sa.Column(
                "created_by_client", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True
            )
        )
        batch_op.alter_column("created_by", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_foreign_key(
            "fk_incidents_created_by_client",
            "service_clients",
            ["created_by_client"],
            ["client_id"],
        )
        batch_op.create_check_constraint("ck_incidents_creator", CREATOR_CHECK)


def downgrade() -> None:
    bind = op.get_bind()
    by_clients = bind.execute(
        sa.text("SELECT count(*) FROM incidents WHERE created_by_client IS NOT NULL")
    ).scalar_one()
    if by_clients:
        # Before this revision every incident names the user who registered it.
        raise RuntimeError(
            f"{by_clients} incidents were registered by service clients; revision 0005 cannot "
            "hold them. Keep this revision, or delete those incidents first."
        )
    with _rows_set_aside("incidents"), op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_constraint("ck_incidents_creator", type_="check")
        batch_op.drop_constraint("fk_incidents_created_by_client", type_="foreignkey")
        batch_op.alter_column("created_by", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("created_by_client")
    op.drop_table("service_clients")
