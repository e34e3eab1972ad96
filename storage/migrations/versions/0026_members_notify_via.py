"""members.notify_via: a linked member hears the bot on the channel they last wrote on

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 13:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("notify_via", sa.String(length=16), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite >= 3.35 drops a plain column in place; a batch copy of ``members`` would drop
        # the old table under the rows that reference it (foreign keys are on).
        op.execute(sa.text("ALTER TABLE members DROP COLUMN notify_via"))
    else:
        op.drop_column("members", "notify_via")
