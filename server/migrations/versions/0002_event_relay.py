"""events are relayed to their subscribers after commit (events.dispatched_at); fewer indexes on
the rows every call writes

Revision ID: 0002
Revises: 0001

Until this revision the subscribers ran inside the transaction that wrote the event, so every
existing event has had its deliveries and e-mails queued: they are marked dispatched.

The indexes dropped were never used by a query (events by type or owner) or are the prefix of a
composite index (tasks and audit entries by owner): each cost every create-task an index insert.
"""

import sqlalchemy as sa
from alembic import op

import tools.models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatched_at", tools.models.base.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE events SET dispatched_at = created_at")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_undispatched",
            ["id"],
            unique=False,
            sqlite_where=sa.text("dispatched_at IS NULL"),
            postgresql_where=sa.text("dispatched_at IS NULL"),
        )
        batch_op.drop_index("ix_events_type")
        batch_op.drop_index("ix_events_owner_id")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_owner_id")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_owner_id")


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_owner_id", ["owner_id"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_owner_id", ["owner_id"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_events_type", ["type"], unique=False)
        batch_op.drop_index("ix_events_undispatched")
        batch_op.drop_column("dispatched_at")
