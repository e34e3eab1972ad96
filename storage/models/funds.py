"""Funds in place (到位资金 / 实际完成投资): one figure per lead and month, history kept.

Seed 004 二(五) scores 项目绩效 by the funds actually in place, seed 003 judges
units by 实际完成投资量. A unit records, per project (lead) and month, how much
arrived that month, in 万元 (``/funds L0007 3000万 2026-11``).

The table is append-only: a correction for the same lead and month inserts a new
row and stamps the old one ``superseded_at`` / ``superseded_by``; nothing is
updated in place otherwise, nothing is deleted. The partial unique index allows
one *live* row (``superseded_at IS NULL``) per lead and month, so two corrections
racing each other cannot both stay live.

``counts_at`` is the instant scoring dates the figure at (inside its month: when it
was first recorded, or the month's last day when recorded afterwards); a
correction keeps it, so only the points change, never the period they fall in.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class FundsRecord(Base):
    __tablename__ = "funds_in_place"
    __table_args__ = (
        Index("ix_funds_in_place_lead_month", "lead_id", "month"),
        Index("ix_funds_in_place_month", "month"),
        Index(
            "uq_funds_in_place_live",
            "lead_id",
            "month",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-11", as bot.domain.periods keys months
    amount_wan: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    counts_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int] = mapped_column(BigInteger)  # Telegram id; 0 for the CLI
    superseded_at: Mapped[datetime | None]
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("funds_in_place.id"))


class TaxRecord(Base):
    """税收 paid (seed 004 二(四)1② "服务业项目税收15万元(含)以上", 二(五)4 "以企业会计年内实缴数据为准"):
    one figure per lead and month, in 万元, kept exactly like :class:`FundsRecord` (append-only,
    one live row per lead and month, ``counts_at`` inside the month). ``/tax L0007 8万 2026-11``."""

    __tablename__ = "tax_paid"
    __table_args__ = (
        Index("ix_tax_paid_lead_month", "lead_id", "month"),
        Index(
            "uq_tax_paid_live",
            "lead_id",
            "month",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    month: Mapped[str] = mapped_column(String(7))
    amount_wan: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    counts_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int] = mapped_column(BigInteger)  # Telegram id; 0 for the CLI / migration
    superseded_at: Mapped[datetime | None]
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("tax_paid.id"))


MonthlyRecord = FundsRecord | TaxRecord
