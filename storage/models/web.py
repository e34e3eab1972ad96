"""The web app's one-time sign-in links (``/web`` in the bot)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class WebSignin(Base):
    """A sign-in link: only the token's SHA-256 is kept, so a leaked database opens nothing."""

    __tablename__ = "web_signins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class WebFile(Base):
    """A file uploaded on the web report page (a 项目投资计划书, a photo).

    The chat keeps a file as the platform's file id; a browser has no such store, so the
    bytes live here, bounded by :data:`bot.services.attachments.MAX_BYTES`. A row is
    uploaded on pick (``lead_id`` empty), then claimed by the save that stores its lead,
    in the same transaction; rows never claimed are pruned after a day. A file sent to the
    DingTalk robot into an activity (a trip's 外出报告单) is kept the same way, claimed by the
    activity's save (``activity_id``): a downloadCode lapses, the bytes must not.
    """

    __tablename__ = "web_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    uploader: Mapped[str] = mapped_column(String(80))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
