"""One member on two channels: a Telegram member links their DingTalk account (``/link``).

The core keys a person by one principal id — the Telegram id for someone who joined on
Telegram. ``/link`` in the Telegram chat gives a short one-time code; sent to the DingTalk
robot in 1:1 (``/link <code>`` or ``关联 <code>``), it points that DingTalk account at the
same principal (:func:`bot.services.identities.link_identity`), so the member's unit, role,
leads and scores are theirs on DingTalk and on the web app's DingTalk sign-in too.

The code is typed by hand, so it is 8 characters from an alphabet without look-alikes
(40 bits); it lasts ten minutes and is consumed in the same UPDATE that checks it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import ServiceError, reach
from bot.services.access import Actor
from bot.services.identities import link_identity
from storage.models import ChannelIdentity, LinkCode

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
LENGTH = 8
TTL = timedelta(minutes=10)
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\- ]{6,14}[A-Za-z0-9]")


def normalize(code: str) -> str:
    """``abcd-efgh``, ``ABCD EFGH`` and ``abcdefgh`` are the same code."""
    return re.sub(r"[\s\-]", "", code).upper()


def _hash(code: str) -> str:
    return hashlib.sha256(normalize(code).encode()).hexdigest()


async def new_code(session: AsyncSession, now: datetime, actor: Actor) -> str:
    """A fresh code for this member (older unused ones stay valid until they lapse)."""
    if not actor.is_member:
        raise ServiceError("access.stranger")
    await session.execute(delete(LinkCode).where(LinkCode.expires_at < now - timedelta(days=1)))
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    session.add(
        LinkCode(
            code_hash=_hash(code),
            principal_id=actor.tg_user_id,
            created_at=now,
            expires_at=now + TTL,
            used_at=None,
        )
    )
    return f"{code[:4]}-{code[4:]}"


async def redeem(
    session: AsyncSession,
    now: datetime,
    code: str,
    channel: str,
    external_id: str,
    display_name: str,
    current: Actor,
) -> int:
    """Link ``external_id`` on ``channel`` to the code's member; their principal id.

    An account that is already a member on that channel is refused: moving it would leave
    that member's unit and history behind under a principal nobody reaches any more.
    """
    if current.is_member:
        raise ServiceError("link.already_member")
    if len(normalize(code)) != LENGTH:
        raise ServiceError("link.invalid")
    result = await session.execute(
        update(LinkCode)
        .where(
            LinkCode.code_hash == _hash(code),
            LinkCode.used_at.is_(None),
            LinkCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(LinkCode.principal_id)
    )
    principal = result.scalar_one_or_none()
    if principal is None:
        raise ServiceError("link.invalid")
    await session.execute(  # a member re-linking a new account: the old one lets go
        delete(ChannelIdentity).where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.principal_id == principal,
            ChannelIdentity.external_id != external_id,
        )
    )
    await link_identity(session, now, channel, "user", external_id, principal, display_name)
    # They linked the channel they work on: the bot's own messages go there from now on
    # (bot/services/reach.py), until they write on Telegram again.
    await reach.notify_on(session, int(principal), channel)
    return int(principal)
