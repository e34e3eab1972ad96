"""税收 paid per lead and month (seed 004), like funds in place: the lead field becomes records

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:52:32

``leads.tax_wan`` (one figure, "tax paid to date", set by /edit) becomes ``tax_paid`` rows, one
per lead and month, so the 服务业 ≥ 15万 threshold can read the sum of what was paid within the
assessment window (二(四)1②, 二(五)4 "以企业会计年内实缴数据为准"). Each lead with a figure gets one
record: of the month (in ``LEADBOT_TZ``, default Asia/Shanghai) of the last /edit that set it,
else of the month it was reported in, dated then, recorded by that editor (0 when unknown).
Downgrade puts each lead's live records' sum back in the field.
"""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def upgrade() -> None:
    op.create_table(
        "tax_paid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("amount_wan", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("counts_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", storage.models.base.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.BigInteger(), nullable=False),
        sa.Column("superseded_at", storage.models.base.UTCDateTime(), nullable=True),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_tax_paid_lead_id_leads")),
        sa.ForeignKeyConstraint(
            ["superseded_by"], ["tax_paid.id"], name=op.f("fk_tax_paid_superseded_by_tax_paid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_paid")),
    )
    with op.batch_alter_table("tax_paid", schema=None) as batch_op:
        batch_op.create_index("ix_tax_paid_lead_month", ["lead_id", "month"], unique=False)
        batch_op.create_index(
            "uq_tax_paid_live",
            ["lead_id", "month"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
    _move_figures_into_records()
    if op.get_bind().dialect.name == "sqlite":
        # SQLite ≥ 3.35 drops a plain column in place; a batch copy of ``leads`` would drop the
        # old table under the rows that reference it (foreign keys are on).
        op.execute(sa.text("ALTER TABLE leads DROP COLUMN tax_wan"))
    else:
        op.drop_column("leads", "tax_wan")


def _move_figures_into_records() -> None:
    bind = op.get_bind()
    zone = ZoneInfo(os.environ.get("LEADBOT_TZ") or "Asia/Shanghai")
    dt = storage.models.base.UTCDateTime()
    leads = sa.table(
        "leads",
        sa.column("id", sa.Integer),
        sa.column("tax_wan", sa.Numeric(18, 4)),
        sa.column("reported_at", dt),
    )
    events = sa.table(
        "lead_events",
        sa.column("lead_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("field", sa.String),
        sa.column("at", dt),
        sa.column("actor_tg_id", sa.BigInteger),
    )
    tax = sa.table(
        "tax_paid",
        sa.column("lead_id", sa.Integer),
        sa.column("month", sa.String),
        sa.column("amount_wan", sa.Numeric(18, 4)),
        sa.column("counts_at", dt),
        sa.column("note", sa.Text),
        sa.column("recorded_at", dt),
        sa.column("recorded_by", sa.BigInteger),
    )
    figures = bind.execute(
        sa.select(leads.c.id, leads.c.tax_wan, leads.c.reported_at).where(
            leads.c.tax_wan.is_not(None)
        )
    ).all()
    for lead_id, amount, reported_at in figures:
        last = bind.execute(
            sa.select(events.c.at, events.c.actor_tg_id)
            .where(
                events.c.lead_id == lead_id,
                events.c.kind == "edit",
                events.c.field == "tax_wan",
            )
            .order_by(events.c.at.desc())
            .limit(1)
        ).first()
        at = _aware(last[0] if last is not None else reported_at)
        local = at.astimezone(zone)
        bind.execute(
            tax.insert().values(
                lead_id=lead_id,
                month=f"{local.year:04d}-{local.month:02d}",
                amount_wan=amount,
                counts_at=at,
                note="从线索的“已缴税收”字段迁移",
                recorded_at=at,
                recorded_by=(last[1] or 0) if last is not None else 0,
            )
        )


def downgrade() -> None:
    op.add_column("leads", sa.Column("tax_wan", sa.NUMERIC(precision=18, scale=4), nullable=True))
    op.execute(
        sa.text(
            "UPDATE leads SET tax_wan = (SELECT SUM(t.amount_wan) FROM tax_paid t "
            "WHERE t.lead_id = leads.id AND t.superseded_at IS NULL)"
        )
    )
    with op.batch_alter_table("tax_paid", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tax_paid_live",
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.drop_index("ix_tax_paid_lead_month")
    op.drop_table("tax_paid")
