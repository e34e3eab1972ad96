"""Queries for funds in place (到位资金) and tax paid (税收): two tables of the same shape, one
figure per lead and month (``model``: :class:`FundsRecord`, the default, or :class:`TaxRecord`).
Services call these; handlers never do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FundsRecord, Lead, TaxRecord

Model = type[FundsRecord] | type[TaxRecord]


async def live(
    session: AsyncSession, lead_id: int, month: str, model: Model = FundsRecord
) -> FundsRecord | TaxRecord | None:
    """The figure in force for the lead and month, if any."""
    stmt = select(model).where(
        model.lead_id == lead_id,
        model.month == month,
        model.superseded_at.is_(None),
    )
    return cast("FundsRecord | TaxRecord | None", (await session.scalars(stmt)).first())


async def history(
    session: AsyncSession, lead_id: int, model: Model = FundsRecord
) -> Sequence[FundsRecord | TaxRecord]:
    """Every figure ever recorded for the lead, corrections included, by month then time."""
    stmt = (
        select(model)
        .where(model.lead_id == lead_id)
        .order_by(model.month, model.recorded_at, model.id)
        .execution_options(
            populate_existing=True
        )  # a correction in this unit of work stamped a row by UPDATE
    )
    return cast("Sequence[FundsRecord | TaxRecord]", (await session.scalars(stmt)).all())


def add(
    session: AsyncSession, model: Model = FundsRecord, **values: Any
) -> FundsRecord | TaxRecord:
    record = model(**values)
    session.add(record)
    return record


async def supersede(
    session: AsyncSession, record_id: int, now: datetime, model: Model = FundsRecord
) -> None:
    """Retire the live figure before its replacement is inserted (the partial unique index)."""
    await session.execute(
        update(model)
        .where(model.id == record_id, model.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )


async def link(session: AsyncSession, old_id: int, new_id: int, model: Model = FundsRecord) -> None:
    await session.execute(
        update(model)
        .where(model.id == old_id)
        .values(superseded_by=new_id)
        .execution_options(synchronize_session=False)
    )


async def unit_live(
    session: AsyncSession, unit_id: int, model: Model = FundsRecord
) -> Sequence[Any]:
    """The unit's live figures as light rows (id, lead_id, month, amount_wan, counts_at): scoring's
    funds events (and, from :class:`TaxRecord`, the tax its leads paid)."""
    stmt = (
        select(
            model.id,
            model.lead_id,
            model.month,
            model.amount_wan,
            model.counts_at,
        )
        .join(Lead, Lead.id == model.lead_id)
        .where(Lead.unit_id == unit_id, model.superseded_at.is_(None))
        .order_by(model.lead_id, model.month)
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
