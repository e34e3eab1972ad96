"""one-time codes that link another channel's account to a member

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 10:30:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", storage.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_link_codes")),
    )
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_codes_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_codes_expires_at"))

    op.drop_table("link_codes")
