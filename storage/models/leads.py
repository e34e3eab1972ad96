"""Investment leads (项目线索) and their history.

First report wins (首报认定): ``first_key`` holds the normalised company key only
while a lead is the active first report of that company, and a unique index on
it lets the database, not a Python check, decide who was first when two units
report the same company in the same second. Duplicates are stored with
``duplicate_of`` set and ``first_key`` empty. ``first_credit`` does the same for
the unified social credit code, the strongest key: one code, one company.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.enums import Review, lead_code
from storage.models.access import Member, Unit
from storage.models.base import Base

MONEY = Numeric(18, 4)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_unit_reported", "unit_id", "reported_at"),
        Index("ix_leads_company_key", "company_key"),
        # A credit code carried by a duplicate is its first report's code (the check's lookup).
        Index("ix_leads_credit_code", "credit_code"),
        # A report counts the leads verified in its period, from the index alone (digest_repo).
        Index("ix_leads_review_reviewed", "review", "reviewed_at", "unit_id", "duplicate_of"),
        Index("ix_leads_stage", "stage"),  # the projects under way a report reads
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reported_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    project: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    company_key: Mapped[str] = mapped_column(String(200))
    first_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # 统一社会信用代码 (optional); ``first_credit`` holds it only while this lead is
    # the active first report, and its unique index lets the database decide.
    credit_code: Mapped[str | None] = mapped_column(String(18))
    first_credit: Mapped[str | None] = mapped_column(String(18), unique=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    industry: Mapped[str] = mapped_column(String(40))
    amount_wan: Mapped[Decimal] = mapped_column(MONEY)
    origin: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    foreign_usd: Mapped[Decimal | None] = mapped_column(MONEY)
    # Seed 004 二(四): 县外投资比例 (percent, 0–100). The tax paid is monthly records
    # (storage.models.funds.TaxRecord, migration 0016), not a field.
    outside_share: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review: Mapped[str] = mapped_column(String(16), default=Review.PENDING)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None]
    near_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit] = relationship()
    reporter: Mapped[Member] = relationship()
    first: Mapped[Lead | None] = relationship(remote_side="Lead.id")

    @property
    def code(self) -> str:
        return lead_code(self.id)

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None


class LeadEvent(Base):
    """Every change to a lead: report, stage move, edit, review. Scoring reads this."""

    __tablename__ = "lead_events"
    __table_args__ = (
        Index("ix_lead_events_lead_at", "lead_id", "at"),
        # A report reads the projects' stage moves from this index alone (storage/scoring_repo):
        # a stage move's values are stage names, short (an edit's may be a 2000-character note,
        # too long for a PostgreSQL index entry: edits are not in it).
        Index(
            "ix_lead_events_stage_moves",
            "lead_id",
            "at",
            "id",
            "from_value",
            "to_value",
            sqlite_where=text("kind = 'stage'"),
            postgresql_where=text("kind = 'stage'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    actor_tg_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # report, stage, edit, verify, reject
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
