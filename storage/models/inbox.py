"""The durable inbox: every Telegram update, stored before Telegram is told it arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class InboxStatus:
    PENDING = "pending"  # stored, not yet handled (or handled by a process that died)
    DONE = "done"  # handled: its effects are committed
    PARKED = "parked"  # failed MAX_TRIES times: shown in /health, not retried


class InboxUpdate(Base):
    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index("ix_inbox_updates_status_id", "status", "update_id"),
        Index("ix_inbox_updates_chat_status", "chat_id", "status"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # one chat's updates in order
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]  # an instance is handling it until then
    received_at: Mapped[datetime] = mapped_column(index=True)
    done_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
