"""indexes for the leaders' reports: leads by (review, reviewed_at, unit_id, duplicate_of), a
period's verifications counted from the index alone; leads by stage, the projects under way;
the stage moves (a partial index of lead events), read from the index alone

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-02 16:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_review_reviewed",
            ["review", "reviewed_at", "unit_id", "duplicate_of"],
            unique=False,
        )
        batch_op.create_index("ix_leads_stage", ["stage"], unique=False)
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_events_stage_moves",
            ["lead_id", "at", "id", "from_value", "to_value"],
            unique=False,
            sqlite_where=sa.text("kind = 'stage'"),
            postgresql_where=sa.text("kind = 'stage'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("lead_events", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_events_stage_moves")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_stage")
        batch_op.drop_index("ix_leads_review_reviewed")
