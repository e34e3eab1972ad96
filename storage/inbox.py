"""The durable inbox's table: store on arrival, lease to one handler, mark done or park.

``bot/assembly/inbox.py`` drives it; docs/durability.md tells the whole story. The first
transaction of a handler that writes anything also marks its update done
(:func:`handling` and ``storage.db.Database.session``), so an update's first
effects and its "done" commit together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import InboxStatus, InboxUpdate
from storage.repo import _insert, rowcount


@dataclass
class Handling:
    """The update the current task is handling (set by the inbox's processor)."""

    update_id: int
    now: datetime
    done: bool = False


CURRENT: ContextVar[Handling | None] = ContextVar("leadbot_inbox_update", default=None)


@contextmanager
def handling(update_id: int, now: datetime) -> Iterator[Handling]:
    state = Handling(update_id, now)
    token = CURRENT.set(state)
    try:
        yield state
    finally:
        CURRENT.reset(token)


def done_statement(state: Handling) -> Any:
    return (
        update(InboxUpdate)
        .where(InboxUpdate.update_id == state.update_id, InboxUpdate.status == InboxStatus.PENDING)
        .values(status=InboxStatus.DONE, done_at=state.now, lease_until=None, error=None)
        .execution_options(synchronize_session=False)
    )


def chat_of(payload: dict[str, Any]) -> int | None:
    for key in ("message", "edited_message", "my_chat_member", "chat_member"):
        chat = (payload.get(key) or {}).get("chat")
        if chat and isinstance(chat.get("id"), int):
            return int(chat["id"])
    query = payload.get("callback_query") or {}
    chat = (query.get("message") or {}).get("chat")
    if chat and isinstance(chat.get("id"), int):
        return int(chat["id"])
    sender = query.get("from") or {}
    return int(sender["id"]) if isinstance(sender.get("id"), int) else None


async def accept(session: AsyncSession, payloads: Sequence[dict[str, Any]], now: datetime) -> int:
    """Store updates; one already stored (a redelivery) is left alone. Returns how many were new."""
    if not payloads:
        return 0
    rows = [
        {
            "update_id": int(p["update_id"]),
            "chat_id": chat_of(p),
            "payload": p,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for p in payloads
    ]
    stmt = (
        _insert(session)(InboxUpdate.__table__)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(InboxUpdate.__table__.c.update_id)
    )
    return len((await session.execute(stmt, rows)).fetchall())


async def lease_next(
    session: AsyncSession, now: datetime, until: datetime, limit: int
) -> list[InboxUpdate]:
    """Lease the oldest pending updates no one holds, each the first pending of its chat.

    On PostgreSQL rows another instance is leasing right now are skipped (``SKIP LOCKED``)
    and the update re-checks the lease, so two instances never hold one update."""
    earlier = aliased(InboxUpdate)
    first_of_chat = ~exists().where(
        earlier.chat_id == InboxUpdate.chat_id,
        earlier.update_id < InboxUpdate.update_id,
        earlier.status == InboxStatus.PENDING,
    )
    free = (InboxUpdate.lease_until.is_(None)) | (InboxUpdate.lease_until < now)
    stmt = (
        select(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.PENDING, free, first_of_chat)
        .order_by(InboxUpdate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=InboxUpdate)
    )
    taken: list[InboxUpdate] = []
    for row in (await session.scalars(stmt)).all():
        result = await session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id == row.update_id,
                InboxUpdate.status == InboxStatus.PENDING,
                InboxUpdate.attempts == row.attempts,  # not taken, failed and freed since
                free,
            )
            .values(lease_until=until, attempts=InboxUpdate.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            row.attempts = (row.attempts or 0) + 1
            taken.append(row)
    return taken


async def renew(session: AsyncSession, update_id: int, until: datetime) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == InboxStatus.PENDING)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )


async def mark_done(session: AsyncSession, update_id: int, now: datetime) -> None:
    await session.execute(done_statement(Handling(update_id, now)))


async def mark_failed(session: AsyncSession, update_id: int, error: str, *, park: bool) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == InboxStatus.PENDING)
        .values(
            status=InboxStatus.PARKED if park else InboxStatus.PENDING,
            lease_until=None,
            error=error[:2000],
        )
        .execution_options(synchronize_session=False)
    )


async def release_all(session: AsyncSession) -> int:
    """Leases held by a process that is gone (SQLite: one process at a time, so on start all)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.PENDING, InboxUpdate.lease_until.is_not(None))
        .values(lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


async def counts(session: AsyncSession) -> dict[str, int]:
    stmt = select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status)
    return {row[0]: row[1] for row in (await session.execute(stmt)).all()}


async def parked(session: AsyncSession, limit: int = 10) -> Sequence[InboxUpdate]:
    stmt = (
        select(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.PARKED)
        .order_by(InboxUpdate.update_id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def oldest_pending(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(InboxUpdate.received_at)).where(InboxUpdate.status == InboxStatus.PENDING)
    )


async def recent_ids(session: AsyncSession, limit: int) -> list[int]:
    stmt = select(InboxUpdate.update_id).order_by(InboxUpdate.update_id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def status_of(session: AsyncSession, update_id: int) -> str | None:
    return await session.scalar(
        select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
    )


async def prune(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(
        delete(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.DONE, InboxUpdate.done_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0
