"""letterheads.logo: the kecamatan's own emblem in its kop surat

The emblem's bytes are kept by content beside the attachments; the kop names them by SHA-256
and media type. Existing kop rows keep the placeholder (both null).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("letterheads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("logo_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "logo_content_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("letterheads", schema=None) as batch_op:
        batch_op.drop_column("logo_content_type")
        batch_op.drop_column("logo_sha256")
