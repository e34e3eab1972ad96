"""weekly versions by submission time: a report reads the year's 项目进展 notes through it,
not a scan of every weekly submission of the history

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-02 19:20:00
"""

from alembic import op

revision = "0030"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("weekly_versions", schema=None) as batch_op:
        batch_op.create_index("ix_weekly_versions_submitted_at", ["submitted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("weekly_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_weekly_versions_submitted_at")
