"""leads: 县外投资比例 and tax paid (seed 004 二(四))

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outside_share", sa.Numeric(precision=7, scale=4), nullable=True)
        )
        batch_op.add_column(sa.Column("tax_wan", sa.Numeric(precision=18, scale=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("tax_wan")
        batch_op.drop_column("outside_share")
