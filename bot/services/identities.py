"""People and groups of other channels, mapped onto the core's principal ids.

Services take ``actor`` / ``tg_user_id`` / ``tg_chat_id`` integers; for a DingTalk person or
group :func:`principal_of` returns a stable principal id (see storage/models/channels.py), so
invites, bindings, reports and scores work for them through the same services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PRINCIPAL_BASE, ChannelIdentity, ChannelMessage

__all__ = ["External", "external_of", "first_sight", "link_identity", "principal_of"]


@dataclass(frozen=True)
class External:
    channel: str
    kind: str  # "user" or "group"
    external_id: str


async def principal_of(
    session: AsyncSession,
    now: datetime,
    channel: str,
    kind: str,
    external_id: str,
    display_name: str | None = None,
) -> int:
    """The principal id of ``external_id`` on ``channel``, created on first sight."""
    stmt = select(ChannelIdentity.principal_id).where(
        ChannelIdentity.channel == channel,
        ChannelIdentity.kind == kind,
        ChannelIdentity.external_id == external_id,
    )
    found = await session.scalar(stmt)
    if found is not None:
        return int(found)
    try:
        async with session.begin_nested():
            row = ChannelIdentity(
                channel=channel,
                kind=kind,
                external_id=external_id[:128],
                principal_id=0,
                display_name=(display_name or None) and display_name[:128],
                created_at=now,
            )
            session.add(row)
            await session.flush()
            row.principal_id = -(PRINCIPAL_BASE + row.id)
            await session.flush()
            return row.principal_id
    except IntegrityError:  # another instance created it meanwhile
        return int(await session.scalar(stmt) or 0)


async def principal_lookup(
    session: AsyncSession, channel: str, kind: str, external_id: str
) -> int | None:
    """The principal id of ``external_id`` if the bot has seen it (never creates one)."""
    found = await session.scalar(
        select(ChannelIdentity.principal_id).where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.kind == kind,
            ChannelIdentity.external_id == external_id,
        )
    )
    return int(found) if found is not None else None


async def external_of(session: AsyncSession, principal_id: int) -> External | None:
    """Where to reach a principal that is not a Telegram id (None: it is Telegram's)."""
    if principal_id > -PRINCIPAL_BASE:
        return None
    row = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.principal_id == principal_id)
    )
    return External(row.channel, row.kind, row.external_id) if row else None


async def first_sight(session: AsyncSession, now: datetime, channel: str, message_id: str) -> bool:
    """Record an incoming message id; False if it was seen before (a redelivery)."""
    try:
        async with session.begin_nested():
            session.add(
                ChannelMessage(channel=channel, message_id=message_id[:128], received_at=now)
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def link_identity(
    session: AsyncSession,
    now: datetime,
    channel: str,
    kind: str,
    external_id: str,
    principal_id: int,
    display_name: str | None = None,
) -> None:
    """Make ``external_id`` on ``channel`` the same person (or chat) as ``principal_id`` —
    e.g. a Telegram member's DingTalk account.  An existing link is moved."""
    row = await session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.kind == kind,
            ChannelIdentity.external_id == external_id,
        )
    )
    if row is None:
        row = ChannelIdentity(
            channel=channel, kind=kind, external_id=external_id[:128], created_at=now
        )
        session.add(row)
    row.principal_id = principal_id
    row.display_name = (display_name or None) and display_name[:128]
    await session.flush()
