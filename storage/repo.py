"""Queries for the foundation tables. Services call these; handlers never do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.models import AuditEntry, Chat, Invite, Member, PersistedData, ProcessedUpdate, Unit


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, for ON CONFLICT clauses."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE/INSERT touched (execute() is typed as Result; DML gives a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


# --- units -----------------------------------------------------------------


async def units(session: AsyncSession, include_inactive: bool = False) -> Sequence[Unit]:
    stmt = select(Unit).order_by(Unit.category.nulls_last(), Unit.id)
    if not include_inactive:
        stmt = stmt.where(Unit.active.is_(True))
    return (await session.scalars(stmt)).all()


async def unit_by_id(session: AsyncSession, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def unit_by_name(session: AsyncSession, name: str) -> Unit | None:
    """Exact name or short name."""
    stmt = select(Unit).where(or_(Unit.name == name, Unit.short_name == name))
    return (await session.scalars(stmt.order_by(Unit.id))).first()


async def unit_names(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Unit.name))).all())


async def add_units(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: a 10 000-row sheet must not be 10 000 round trips."""
    if rows:
        await session.execute(_insert(session)(Unit), rows)


# --- members ---------------------------------------------------------------


async def member_by_tg(session: AsyncSession, tg_user_id: int) -> Member | None:
    """One query (a join), since this runs for every update."""
    stmt = select(Member).where(Member.tg_user_id == tg_user_id).options(joinedload(Member.unit))
    return (await session.scalars(stmt)).first()


async def members(session: AsyncSession, unit_id: int | None = None) -> Sequence[Member]:
    stmt = select(Member).where(Member.active.is_(True)).options(selectinload(Member.unit))
    if unit_id is not None:
        stmt = stmt.where(Member.unit_id == unit_id)
    return (await session.scalars(stmt.order_by(Member.unit_id, Member.role, Member.id))).all()


async def member_counts(session: AsyncSession) -> dict[int, int]:
    stmt = (
        select(Member.unit_id, func.count())
        .where(Member.active.is_(True), Member.unit_id.is_not(None))
        .group_by(Member.unit_id)
    )
    return {u: n for u, n in (await session.execute(stmt)).all() if u is not None}


# --- invites ---------------------------------------------------------------


async def invite_by_token(session: AsyncSession, token: str) -> Invite | None:
    stmt = select(Invite).where(Invite.token == token).options(selectinload(Invite.unit))
    return (await session.scalars(stmt)).first()


async def active_invites(session: AsyncSession, now: datetime) -> Sequence[Invite]:
    stmt = (
        select(Invite)
        .where(
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
            or_(Invite.single_use.is_(False), Invite.uses == 0),
        )
        .options(selectinload(Invite.unit))
        .order_by(Invite.id)
    )
    return (await session.scalars(stmt)).all()


async def take_invite(session: AsyncSession, invite_id: int, now: datetime) -> bool:
    """Count one use, atomically: two people racing for a single-use link, one wins."""
    stmt = (
        update(Invite)
        .where(
            Invite.id == invite_id,
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
            or_(Invite.single_use.is_(False), Invite.uses == 0),
        )
        .values(uses=Invite.uses + 1)
    )
    result = await session.execute(stmt)
    return rowcount(result) == 1


# --- chats -----------------------------------------------------------------


async def chat_by_tg(session: AsyncSession, tg_chat_id: int) -> Chat | None:
    return (await session.scalars(select(Chat).where(Chat.tg_chat_id == tg_chat_id))).first()


async def chats_of_kind(
    session: AsyncSession, kind: str, unit_id: int | None = None
) -> Sequence[Chat]:
    stmt = select(Chat).where(Chat.kind == kind)
    if unit_id is not None:
        stmt = stmt.where(Chat.unit_id == unit_id)
    return (await session.scalars(stmt)).all()


async def delete_chat_bindings(
    session: AsyncSession,
    tg_chat_id: int | None = None,
    kind: str | None = None,
    unit_id: int | None = None,
) -> None:
    conds = []
    if tg_chat_id is not None:
        conds.append(Chat.tg_chat_id == tg_chat_id)
    if kind is not None:
        conds.append(
            and_(Chat.kind == kind, Chat.unit_id == unit_id) if unit_id else Chat.kind == kind
        )
    if conds:
        await session.execute(delete(Chat).where(or_(*conds)))


# --- updates, persistence, audit ---------------------------------------------


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """True the first time an update id is seen, False on a redelivery."""
    stmt = (
        _insert(session)(ProcessedUpdate)
        .values(update_id=update_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(stmt)
    return rowcount(result) == 1


async def claim_update_now(engine: AsyncEngine, update_id: int, now: datetime) -> bool:
    """:func:`claim_update` in its own short transaction, without an ORM session:
    it runs for every update, so it is the cheapest write the database allows."""
    insert_ = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert_(ProcessedUpdate).values(update_id=update_id, received_at=now)
    async with engine.begin() as conn:
        result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["update_id"]))
    return rowcount(result) == 1


async def recent_update_ids(session: AsyncSession, limit: int) -> list[int]:
    stmt = (
        select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.received_at.desc()).limit(limit)
    )
    return list(reversed((await session.scalars(stmt)).all()))


async def record_updates(session: AsyncSession, rows: list[tuple[int, datetime]]) -> None:
    """Claims written behind (SQLite); an id already there is fine."""
    stmt = _insert(session)(ProcessedUpdate).on_conflict_do_nothing(index_elements=["update_id"])
    await session.execute(stmt, [{"update_id": i, "received_at": at} for i, at in rows])


async def forget_updates_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.received_at < cutoff)
    )
    return rowcount(result) or 0


async def persist(
    session: AsyncSession, kind: str, key: str, data: dict[str, Any], now: datetime
) -> None:
    stmt = _insert(session)(PersistedData).values(kind=kind, key=key, data=data, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "key"], set_={"data": stmt.excluded.data, "updated_at": now}
    )
    await session.execute(stmt)


def audit(
    session: AsyncSession,
    now: datetime,
    actor: int | None,
    action: str,
    note: str | None = None,
    **detail: Any,
) -> None:
    session.add(AuditEntry(at=now, actor_tg_id=actor, action=action, detail=detail, note=note))


async def persisted_one(session: AsyncSession, kind: str, key: str) -> dict[str, Any] | None:
    stmt = select(PersistedData.data).where(PersistedData.kind == kind, PersistedData.key == key)
    return (await session.scalars(stmt)).first()
