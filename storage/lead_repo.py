"""Queries for leads. Services call these; handlers never do."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.models import Lead, LeadEvent

_WITH = (selectinload(Lead.unit), selectinload(Lead.reporter))
# Single-row lookups on the reporting hot path: one joined query instead of three.
_ONE = (joinedload(Lead.unit, innerjoin=True), joinedload(Lead.reporter, innerjoin=True))


async def lead_by_id(session: AsyncSession, lead_id: int | None) -> Lead | None:
    if lead_id is None:
        return None
    stmt = select(Lead).where(Lead.id == lead_id).options(*_ONE)
    return (await session.scalars(stmt)).first()


async def first_by_key(session: AsyncSession, key: str) -> Lead | None:
    stmt = select(Lead).where(Lead.first_key == key).options(*_ONE)
    return (await session.scalars(stmt)).first()


async def active_firsts(session: AsyncSession, ids: Sequence[int]) -> Sequence[Lead]:
    if not ids:
        return []
    stmt = select(Lead).where(Lead.id.in_(ids), Lead.first_key.is_not(None)).options(*_ONE)
    return (await session.scalars(stmt)).all()


async def first_keys_after(session: AsyncSession, last_id: int) -> list[tuple[int, str]]:
    stmt = (
        select(Lead.id, Lead.first_key)
        .where(Lead.id > last_id, Lead.first_key.is_not(None))
        .order_by(Lead.id)
    )
    return [(i, k) for i, k in (await session.execute(stmt)).all()]


async def unit_leads(
    session: AsyncSession, unit_id: int | None, stage: str | None, offset: int, limit: int
) -> tuple[Sequence[Lead], int]:
    """Newest first; ``unit_id`` None means every unit (leaders)."""
    conds = []
    if unit_id is not None:
        conds.append(Lead.unit_id == unit_id)
    if stage:
        conds.append(Lead.stage == stage)
    total = await session.scalar(select(func.count()).select_from(Lead).where(*conds)) or 0
    stmt = (
        select(Lead).where(*conds).options(*_WITH).order_by(Lead.reported_at.desc(), Lead.id.desc())
    )
    rows = (await session.scalars(stmt.offset(offset).limit(limit))).all()
    return rows, total


async def lead_history(session: AsyncSession, lead_id: int) -> Sequence[LeadEvent]:
    stmt = (
        select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.at, LeadEvent.id)
    )
    return (await session.scalars(stmt)).all()


async def lead_for_update(session: AsyncSession, lead_id: int) -> Lead | None:
    """One lead, row-locked until the unit of work ends (PostgreSQL; SQLite serialises writers)."""
    stmt = (
        select(Lead)
        .where(Lead.id == lead_id)
        .options(*_WITH)
        .with_for_update(of=Lead)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).first()
