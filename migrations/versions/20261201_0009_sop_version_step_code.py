"""Step runs, verifications and audit events name their SOP version and step code; step records

Step numbers of two SOP versions are different steps (a revision may insert one), so every
stored step carries the version it ran under and its code. Existing step runs and
verifications take their incident's version and the code of their step in it; the codes of
unjuk-rasa-v1 are written out here, so later edits of the definition file cannot change what
this revision does. Audit events keep both only from now on: an event's hash covers what it
was written with, and the audit rows never change.

Step records keep the work of a step that a version completes with a note (the action
`step_record`, e.g. a coordination with Polri that a revised SOP adds).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Spelled out rather than imported: a revision must not change when the application's types do.
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The step codes of the only version that existed before this revision.
V1_STEP_CODES = {
    1: "perintah_camat",
    2: "arahan_kasi",
    3: "draft_surat_perintah",
    4: "verifikasi_draft",
    5: "validasi_surat_perintah",
    6: "perintah_pelaksanaan",
    7: "persiapan_pengarahan",
    8: "pelaksanaan_lapangan",
    9: "draft_laporan",
    10: "verifikasi_laporan",
    11: "pengarsipan",
}


def _backfill(table: str) -> None:
    op.execute(
        f"UPDATE {table} SET sop_version = (SELECT incidents.sop_version FROM incidents "
        f"WHERE incidents.id = {table}.incident_id)"
    )
    cases = " ".join(f"WHEN {number} THEN '{code}'" for number, code in V1_STEP_CODES.items())
    op.execute(
        f"UPDATE {table} SET step_code = CASE step {cases} END "
        f"WHERE sop_version = 'unjuk-rasa-v1'"
    )
    # A version this revision does not know (none existed): keep the number as its code.
    op.execute(
        f"UPDATE {table} SET step_code = 'step_' || CAST(step AS VARCHAR(8)) "
        f"WHERE step_code IS NULL"
    )


def upgrade() -> None:
    for table in ("step_runs", "verifications"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("sop_version", sa.String(length=32), nullable=True))
            batch_op.add_column(sa.Column("step_code", sa.String(length=48), nullable=True))
        _backfill(table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("sop_version", existing_type=sa.String(32), nullable=False)
            batch_op.alter_column("step_code", existing_type=sa.String(48), nullable=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sop_version", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("step_code", sa.String(length=48), nullable=True))
    op.create_table(
        "step_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("sop_version", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_code", sa.String(length=48), nullable=False),
        sa.Column("note", sa.String(length=4000), nullable=False),
        sa.Column("contacts", JSON_DOC, nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("step_records", schema=None) as batch_op:
        batch_op.create_index("ix_step_records_incident_id", ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_table("step_records")
    for table in ("audit_events", "verifications", "step_runs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("step_code")
            batch_op.drop_column("sop_version")
