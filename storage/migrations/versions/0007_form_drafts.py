"""form drafts: one form in progress per person (bot/forms)

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 21:40:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_drafts",
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("touched_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person", name=op.f("pk_form_drafts")),
    )
    with op.batch_alter_table("form_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_drafts_touched_at"), ["touched_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("form_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_drafts_touched_at"))
    op.drop_table("form_drafts")
