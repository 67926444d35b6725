"""notification fan-out: what each person was told of each incident's task, the actor of an event

task_notices keeps, per incident and person, the task they were last told of, so the fan-out
tells only what changed. outbox_events gains actor_id (the user whose action wrote the event;
they are not told of it). A notification is unique per person, event and kind: one event may
tell one person two things (a cancelled incident also withdraws their task).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_notices",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("updated_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("incident_id", "user_id"),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_recipient_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notifications_recipient_event", ["user_id", "source_event_id", "kind"]
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_recipient_event", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notifications_recipient_event", ["user_id", "source_event_id"]
        )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_column("actor_id")
    op.drop_table("task_notices")
