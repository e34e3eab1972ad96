"""What ``/health`` reads about the outbox: counts by status, the oldest due row, the last
failures. The schedule's last run is the job runner's, which the adapter is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import weekly_repo

FAILURE_LINES = 10


@dataclass(frozen=True)
class OutboxHealth:
    counts: dict[str, int]
    oldest_due: datetime | None
    failures: Sequence[Any]  # outbox rows: recipient, chat_id, kind, period_key, status, error


async def outbox_health(
    session: AsyncSession, now: datetime, lines: int = FAILURE_LINES
) -> OutboxHealth:
    return OutboxHealth(
        dict(await weekly_repo.outbox_counts(session)),
        await weekly_repo.oldest_pending_due(session, now),
        await weekly_repo.recent_failures(session, lines),
    )
