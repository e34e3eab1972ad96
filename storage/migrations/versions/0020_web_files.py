"""files uploaded on the web report page

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-02 09:40:00
"""

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("uploader", sa.String(length=80), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_web_files_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_files")),
        sa.UniqueConstraint("token", name=op.f("uq_web_files_token")),
    )
    with op.batch_alter_table("web_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_files_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_files_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_files_lead_id"))
        batch_op.drop_index(batch_op.f("ix_web_files_created_at"))

    op.drop_table("web_files")
