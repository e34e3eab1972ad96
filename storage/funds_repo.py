"""Queries for funds in place (到位资金). Services call these; handlers never do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FundsRecord, Lead


async def live(session: AsyncSession, lead_id: int, month: str) -> FundsRecord | None:
    """The figure in force for the lead and month, if any."""
    stmt = select(FundsRecord).where(
        FundsRecord.lead_id == lead_id,
        FundsRecord.month == month,
        FundsRecord.superseded_at.is_(None),
    )
    return (await session.scalars(stmt)).first()


async def history(session: AsyncSession, lead_id: int) -> Sequence[FundsRecord]:
    """Every figure ever recorded for the lead, corrections included, by month then time."""
    stmt = (
        select(FundsRecord)
        .where(FundsRecord.lead_id == lead_id)
        .order_by(FundsRecord.month, FundsRecord.recorded_at, FundsRecord.id)
        .execution_options(
            populate_existing=True
        )  # a correction in this unit of work stamped a row by UPDATE
    )
    return (await session.scalars(stmt)).all()


def add(session: AsyncSession, **values: Any) -> FundsRecord:
    record = FundsRecord(**values)
    session.add(record)
    return record


async def supersede(session: AsyncSession, record_id: int, now: datetime) -> None:
    """Retire the live figure before its replacement is inserted (the partial unique index)."""
    await session.execute(
        update(FundsRecord)
        .where(FundsRecord.id == record_id, FundsRecord.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )


async def link(session: AsyncSession, old_id: int, new_id: int) -> None:
    await session.execute(
        update(FundsRecord)
        .where(FundsRecord.id == old_id)
        .values(superseded_by=new_id)
        .execution_options(synchronize_session=False)
    )


async def unit_live(session: AsyncSession, unit_id: int) -> Sequence[Any]:
    """The unit's live figures as light rows (id, lead_id, month, amount_wan, counts_at): scoring's funds events."""
    stmt = (
        select(
            FundsRecord.id,
            FundsRecord.lead_id,
            FundsRecord.month,
            FundsRecord.amount_wan,
            FundsRecord.counts_at,
        )
        .join(Lead, Lead.id == FundsRecord.lead_id)
        .where(Lead.unit_id == unit_id, FundsRecord.superseded_at.is_(None))
        .order_by(FundsRecord.lead_id, FundsRecord.month)
    )
    return (await session.execute(stmt)).all()


async def live_between(session: AsyncSession, first_month: str, last_month: str) -> Sequence[Any]:
    """Live figures of months ``first_month``..``last_month`` (keys compare as text), with the lead's
    unit, duplicate mark and review: lead_id, unit_id, month, amount_wan, duplicate_of, review."""
    stmt = (
        select(
            FundsRecord.lead_id,
            Lead.unit_id,
            FundsRecord.month,
            FundsRecord.amount_wan,
            Lead.duplicate_of,
            Lead.review,
        )
        .join(Lead, Lead.id == FundsRecord.lead_id)
        .where(
            FundsRecord.superseded_at.is_(None),
            FundsRecord.month >= first_month,
            FundsRecord.month <= last_month,
        )
        .order_by(FundsRecord.lead_id, FundsRecord.month)
    )
    return (await session.execute(stmt)).all()
