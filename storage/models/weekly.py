"""The weekly cycle: submissions and their versions, drafts, skipped weeks, leave,
the outbox of scheduled messages and the scheduler's durable marks.

A unit has at most one :class:`WeeklySubmission` per period (``period_key`` such
as ``2026-W47``); every submit adds a :class:`WeeklyVersion`, so history is kept
and the newest confirmed version is the one that counts. A liaison's form in
progress is a :class:`WeeklyDraft`, written on every answer.

:class:`OutboxMessage` rows are planned messages (reminders, summaries, admin
notices). ``(kind, period_key, chat_id)`` is unique, so planning the same
reminder twice -- after a restart, or on two instances -- inserts nothing the
second time; see ``scheduler/outbox/sender.py`` for the claim → send → mark protocol.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.domain.enums import OutboxStatus
from storage.models.access import Member, Unit
from storage.models.base import Base


class WeeklySubmission(Base):
    __tablename__ = "weekly_submissions"
    __table_args__ = (
        UniqueConstraint("unit_id", "period_key", name="uq_weekly_submissions_unit_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period_key: Mapped[str] = mapped_column(String(10), index=True)
    latest_number: Mapped[int] = mapped_column(Integer, default=0)
    latest_status: Mapped[str | None] = mapped_column(String(12))
    accepted_version_id: Mapped[int | None] = mapped_column(Integer)  # the version that counts
    outcome: Mapped[str | None] = mapped_column(String(10))
    done_at: Mapped[datetime | None]  # when the period first became done (on time or late)
    missing_marked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    unit: Mapped[Unit] = relationship()
    versions: Mapped[list[WeeklyVersion]] = relationship(
        back_populates="submission", order_by="WeeklyVersion.number"
    )


class WeeklyVersion(Base):
    __tablename__ = "weekly_versions"
    __table_args__ = (
        UniqueConstraint("submission_id", "number", name="uq_weekly_versions_submission_number"),
        # a report's year of weekly progress notes, not every submission of the history
        Index("ix_weekly_versions_submitted_at", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("weekly_submissions.id"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by_tg: Mapped[int] = mapped_column(BigInteger)
    submitted_by_name: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_at: Mapped[datetime | None]
    decided_by_tg: Mapped[int | None] = mapped_column(BigInteger)
    return_reason: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[WeeklySubmission] = relationship(back_populates="versions")


class WeeklyDraft(Base):
    """One form in progress per person, saved on every answer."""

    __tablename__ = "weekly_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_tg: Mapped[int] = mapped_column(BigInteger, unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period_key: Mapped[str] = mapped_column(String(10))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    awaiting: Mapped[str | None] = mapped_column(String(24))  # which typed answer comes next
    scratch: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # a progress entry being built
    rev: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class WeeklySkip(Base):
    """A period skipped for everyone (Spring Festival): no reminders, no missing marks."""

    __tablename__ = "weekly_skips"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(String(10), unique=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    by_tg: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


class MemberLeave(Base):
    """A member away until ``until`` (inclusive, local date): reminders go to others."""

    __tablename__ = "member_leaves"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    until: Mapped[date] = mapped_column(Date)
    set_at: Mapped[datetime]

    member: Mapped[Member] = relationship()


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("kind", "period_key", "chat_id", name="uq_outbox_messages_key"),
        Index("ix_outbox_messages_status_due", "status", "due_at"),
        Index("ix_outbox_messages_chat_status", "chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # remind:1440, leaders:missing, leaders:summary, admin:…
    period_key: Mapped[str] = mapped_column(
        String(32)
    )  # a week key, a year, a batch: the key's scope
    chat_id: Mapped[int] = mapped_column(BigInteger)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    recipient: Mapped[str | None] = mapped_column(
        String(160)
    )  # who, for /health and failure reports
    template: Mapped[str] = mapped_column(String(64))  # catalog key, rendered at send time
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(8))
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime]
    not_after: Mapped[datetime]  # later than this it is skipped, never sent
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(40), index=True)
    claimed_at: Mapped[datetime | None]
    # set in the claim's transaction, just before the HTTP call; cleared when Telegram's
    # answer says "not delivered" (429, 5xx, no connection): a crash leaves it set only
    # on a row whose send was under way
    attempted_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    reported: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class JobMark(Base):
    """Durable "done once" flags of the scheduler: ``plan:2026-W47:1440``, ``close:2026-W47``."""

    __tablename__ = "job_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]
