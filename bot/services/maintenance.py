"""Housekeeping that keeps the tables small."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repo

# Telegram redelivers within hours at most; a week of ids is ample.
UPDATE_IDS_KEPT = timedelta(days=7)


async def prune_processed_updates(session: AsyncSession, now: datetime) -> int:
    return await repo.forget_updates_before(session, now - UPDATE_IDS_KEPT)
