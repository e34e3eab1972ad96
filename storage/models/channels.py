"""Who someone is on a channel other than Telegram, and which channel messages were seen.

The core still keys people and chats by ``members.tg_user_id`` / ``chats.tg_chat_id`` (the
*principal id* every service takes as ``actor``).  A DingTalk person or group gets a
principal id of its own from a reserved negative range that Telegram never uses (Telegram
users are positive; its groups are above -10^13), so every existing service works for them
unchanged.  A person on both channels has one member row and one principal: the Telegram id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base

__all__ = ["PRINCIPAL_BASE", "ChannelIdentity", "ChannelMessage", "LinkCode"]

# Principals handed out for other channels: -(PRINCIPAL_BASE + identity id).
PRINCIPAL_BASE = 8_000_000_000_000_000


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "external_id", name="uq_channel_identities_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # "dingtalk"
    kind: Mapped[str] = mapped_column(String(8))  # "user" (staff id) or "group" (conversation)
    external_id: Mapped[str] = mapped_column(String(128))
    principal_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class ChannelMessage(Base):
    """An incoming message id, stored before the platform is acknowledged (dedup)."""

    __tablename__ = "channel_messages"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class LinkCode(Base):
    """A one-time code that makes an account on another channel the same member (``/link``).

    Typed by hand into the other app, so it is short; only its SHA-256 is kept, it lasts
    ten minutes and is used once (see :mod:`bot.services.linking`).
    """

    __tablename__ = "link_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
