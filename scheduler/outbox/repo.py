"""The outbox's claim and attempt queries: rows claimed one at a time
(scheduler/outbox/sender.py says why and how)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.enums import OutboxStatus
from storage.models import OutboxMessage
from storage.repo import rowcount

CANDIDATES = 20  # rows looked at per claim: the gate may defer or skip some


def _claimable(now: datetime) -> Any:
    """Due, pending, and the first of its chat: no earlier row of that chat is being
    sent or waiting to be sent, so one chat's messages leave in planning order."""
    earlier = aliased(OutboxMessage)
    blocker = exists().where(
        earlier.chat_id == OutboxMessage.chat_id,
        earlier.id < OutboxMessage.id,
        earlier.status == OutboxStatus.PENDING,
        earlier.due_at <= now,
    )
    return and_(
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.due_at <= now,
        OutboxMessage.not_after >= now,
        ~blocker,
        ~exists().where(
            earlier.chat_id == OutboxMessage.chat_id, earlier.status == OutboxStatus.SENDING
        ),
    )


async def candidates(session: AsyncSession, now: datetime) -> list[OutboxMessage]:
    """The next claimable rows, locked; on PostgreSQL rows another sender holds are skipped."""
    stmt = (
        select(OutboxMessage)
        .where(_claimable(now))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(CANDIDATES)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    return list((await session.scalars(stmt)).all())


async def claim_one(session: AsyncSession, row_id: int, token: str, now: datetime) -> bool:
    """Claim and record the attempt in one statement; the caller commits, then sends."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempted_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def set_pending(session: AsyncSession, row_id: int, **values: Any) -> None:
    """A row the gate deferred or skipped, without a claim (still under the candidates' lock)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def expire_stale_attempts(session: AsyncSession, cutoff: datetime) -> int:
    """Attempted before the cutoff and never answered (a crash mid-send): delivery unknown,
    reported, not resent."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.claimed_at < cutoff,
            OutboxMessage.attempted_at.is_not(None),
        )
        .values(
            status=OutboxStatus.UNKNOWN,
            error="interrupted while sending: delivery unknown, not resent",
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0
