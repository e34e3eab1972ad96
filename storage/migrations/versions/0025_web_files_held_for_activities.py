"""web files held for activities: a trip report sent to the DingTalk robot keeps its bytes

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-02 12:46:18
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_web_files_activity_id"), ["activity_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_web_files_activity_id_activities"), "activities", ["activity_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("web_files", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_web_files_activity_id_activities"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_web_files_activity_id"))
        batch_op.drop_column("activity_id")
