"""channel identities (DingTalk people and groups) and seen channel messages

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("principal_id", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_identities")),
        sa.UniqueConstraint(
            "channel", "kind", "external_id", name="uq_channel_identities_external"
        ),
        sa.UniqueConstraint("principal_id", name=op.f("uq_channel_identities_principal_id")),
    )
    op.create_table(
        "channel_messages",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "message_id", name=op.f("pk_channel_messages")),
    )
    op.create_index(
        op.f("ix_channel_messages_received_at"), "channel_messages", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_messages_received_at"), table_name="channel_messages")
    op.drop_table("channel_messages")
    op.drop_table("channel_identities")
