"""events are relayed to their subscribers after commit: events.dispatched_at

Revision ID: 0002
Revises: 0001

Until this revision the subscribers ran inside the transaction that wrote the event, so every
existing event has had its deliveries and e-mails queued: they are marked dispatched.
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


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_undispatched")
        batch_op.drop_column("dispatched_at")
