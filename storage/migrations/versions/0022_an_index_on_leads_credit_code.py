"""an index on leads.credit_code: the company check follows a credit code carried by a
duplicate to its first report

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 13:07:55
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_credit_code", ["credit_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_credit_code")
