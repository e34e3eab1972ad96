"""One-time sign-in links: created by ``/web``, consumed once by the browser."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebSignin


async def create(
    session: AsyncSession,
    token_hash: str,
    channel: str,
    user_id: str,
    name: str,
    now: datetime,
    ttl: timedelta,
) -> None:
    await session.execute(delete(WebSignin).where(WebSignin.expires_at < now - timedelta(days=1)))
    session.add(
        WebSignin(
            token_hash=token_hash,
            channel=channel,
            user_id=user_id,
            name=name[:128],
            created_at=now,
            expires_at=now + ttl,
            used_at=None,
        )
    )


async def consume(session: AsyncSession, token_hash: str, now: datetime) -> WebSignin | None:
    """The link's owner if it is unused and in time; marks it used in the same statement,
    so two browsers racing with one link cannot both get in."""
    result = await session.execute(
        update(WebSignin)
        .where(
            WebSignin.token_hash == token_hash,
            WebSignin.used_at.is_(None),
            WebSignin.expires_at > now,
        )
        .values(used_at=now)
        .returning(WebSignin.channel, WebSignin.user_id, WebSignin.name)
    )
    row = result.first()
    if row is None:
        return None
    return WebSignin(token_hash=token_hash, channel=row[0], user_id=row[1], name=row[2])
