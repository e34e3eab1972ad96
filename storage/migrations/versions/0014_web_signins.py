"""web sign-in links

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-01 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_signins",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", storage.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_signins")),
    )
    op.create_index(op.f("ix_web_signins_expires_at"), "web_signins", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_signins_expires_at"), table_name="web_signins")
    op.drop_table("web_signins")
