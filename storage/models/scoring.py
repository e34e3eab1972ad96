"""Activities (工作记录), the points ledger (台账) and the per-period score table.

* ``activities``: what a liaison records with ``/activity`` (training, packaging,
  events, intents, trips, foreign capital); leaders verify or reject them.
* ``ledger``: append-only. A derived line is written by the scoring refresh from
  recorded events; when the events or the rules change, the line is *voided*
  (``voided_at`` + ``void_reason``) and a new one appended, never updated or
  deleted. Manual adjustments (``manual``) are written by leaders with a reason
  and never touched by a refresh or a rescore.
* ``unit_scores``: each unit's capped score per span (week / month / quarter /
  year, keyed as :mod:`bot.domain.periods` keys them), kept in step with the ledger by
  the refresh so that ``/rank`` reads one row per unit.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.enums import activity_code
from storage.models.access import Member, Unit
from storage.models.base import Base

POINTS = Numeric(14, 4)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_unit_date", "unit_id", "on_date"),
        Index("ix_activities_review", "review"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_by: Mapped[int] = mapped_column(BigInteger)  # Telegram id of who recorded it
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id")
    )  # optional: the project it concerns
    kind: Mapped[str] = mapped_column(String(32))
    on_date: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    amount_usd: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review: Mapped[str] = mapped_column(String(16), default="pending")
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Where it came from when not typed in: "trip:<planned trip id>" (one record per planned trip).
    origin_ref: Mapped[str | None] = mapped_column(String(64), unique=True)

    unit: Mapped[Unit] = relationship()
    reporter: Mapped[Member | None] = relationship()

    @property
    def code(self) -> str:
        return activity_code(self.id)


class LedgerEntry(Base):
    """One line of the points ledger; see the module docstring for the rules."""

    __tablename__ = "ledger"
    __table_args__ = (
        Index("ix_ledger_unit_at", "unit_id", "at"),
        Index("ix_ledger_unit_created", "unit_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    module: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[Decimal] = mapped_column(POINTS)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)


class UnitScore(Base):
    """A unit's score for one span after caps; missing row = 0 points."""

    __tablename__ = "unit_scores"
    __table_args__ = (Index("ix_unit_scores_kind_key", "kind", "key"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    points: Mapped[Decimal] = mapped_column(POINTS)
    updated_at: Mapped[datetime]
