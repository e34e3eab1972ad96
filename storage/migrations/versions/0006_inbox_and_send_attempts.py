"""durable inbox; outbox send attempts

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", storage.models.base.UTCDateTime(), nullable=True),
        sa.Column("received_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("done_at", storage.models.base.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox_updates")),
    )
    with op.batch_alter_table("inbox_updates", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_updates_status_id", ["status", "update_id"], unique=False)
        batch_op.create_index("ix_inbox_updates_chat_status", ["chat_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inbox_updates_received_at"), ["received_at"], unique=False
        )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempted_at", storage.models.base.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_outbox_messages_chat_status", ["chat_id", "status"], unique=False)
    # a row in flight before the upgrade may have been sent: it counts as attempted
    op.execute("UPDATE outbox_messages SET attempted_at = claimed_at WHERE status = 'sending'")


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_chat_status")
        batch_op.drop_column("attempted_at")
    with op.batch_alter_table("inbox_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_updates_received_at"))
        batch_op.drop_index("ix_inbox_updates_chat_status")
        batch_op.drop_index("ix_inbox_updates_status_id")
    op.drop_table("inbox_updates")
