"""forms in progress live in form_drafts only: drop python-telegram-bot's user data rows

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 01:30:00

Every form runs on the form engine now (bot/forms), whose drafts are in ``form_drafts``;
the PTB persistence that kept ``/activity``, ``/weekly`` and the lead prompts in
``persisted_data`` (kinds ``user`` and ``conv:*``) is gone, so its rows are stale. A
draft half-filled in the old shape is lost; its owner starts the form again (the
weekly content itself is in ``weekly_drafts`` and is kept).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM persisted_data WHERE kind = 'user' OR kind LIKE 'conv:%'"))


def downgrade() -> None:
    pass  # nothing to give back: the rows were drafts of forms that no longer exist
