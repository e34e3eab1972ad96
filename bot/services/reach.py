"""Where the bot's own messages reach a member who is on two channels.

A Telegram member who linked their DingTalk account (``/link``, bot/services/linking.py) has
one principal, their Telegram id, so every outbox row for them is addressed to it. Telegram
cannot be reached from mainland China: a member who links DingTalk usually does so because
that is where they work, so reminders and notices follow the channel they last wrote on —
DingTalk from the link on, Telegram again once they write there. One column
(``members.notify_via``) holds it; it is written only when it changes, so the hot path of an
ordinary member costs nothing (the flag rides on the :class:`~bot.services.access.Actor`).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.access import Actor
from bot.services.identities import External, external_of
from storage.models import ChannelIdentity, Member

__all__ = ["DINGTALK", "heard_on", "notify_on", "where_to_reach"]

DINGTALK = "dingtalk"


async def heard_on(session: AsyncSession, actor: Actor, channel: str | None) -> bool:
    """The member wrote on ``channel`` (None: their own, Telegram); True if that changed where
    the bot's own messages go. Called only for linked members on DingTalk, and on Telegram only
    when the flag is set, so nobody else pays a write."""
    if not actor.is_member or actor.notify_via == channel:
        return False
    await notify_on(session, actor.tg_user_id, channel)
    return True


async def notify_on(session: AsyncSession, principal_id: int, channel: str | None) -> None:
    """From now on the bot's own messages to this member go on ``channel`` (None: Telegram)."""
    await session.execute(
        update(Member).where(Member.tg_user_id == principal_id).values(notify_via=channel)
    )


async def where_to_reach(session: AsyncSession, principal_id: int) -> External | None:
    """The other channel to send a principal's message on, or None for Telegram: a DingTalk
    principal's own identity, or the DingTalk account of a linked member who last wrote there."""
    if principal_id < 0:  # a Telegram group, or a principal of another channel
        return await external_of(session, principal_id)
    row = await session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.kind, ChannelIdentity.external_id)
        .join(Member, Member.tg_user_id == ChannelIdentity.principal_id)
        .where(
            ChannelIdentity.principal_id == principal_id,
            ChannelIdentity.kind == "user",
            ChannelIdentity.channel == Member.notify_via,
        )
    )
    found = row.first()
    return External(found[0], found[1], found[2]) if found else None
