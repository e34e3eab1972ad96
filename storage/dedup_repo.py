"""Queries for first report wins beyond the name key: credit codes, the names
the near-match index is built from, and pairs known to be different companies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import DistinctCompanies, Lead

_ONE = (joinedload(Lead.unit, innerjoin=True), joinedload(Lead.reporter, innerjoin=True))


async def first_by_credit(session: AsyncSession, code: str) -> Lead | None:
    stmt = select(Lead).where(Lead.first_credit == code).options(*_ONE)
    return (await session.scalars(stmt)).first()


async def first_names_after(
    session: AsyncSession, last_id: int, limit: int | None = None
) -> list[tuple[int, str, str]]:
    """(id, key, company name) of active first reports with an id above ``last_id``."""
    stmt = (
        select(Lead.id, Lead.first_key, Lead.company)
        .where(Lead.id > last_id, Lead.first_key.is_not(None))
        .order_by(Lead.id)
        .limit(limit)
    )
    return [(i, k or "", c) for i, k, c in (await session.execute(stmt)).all()]


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


async def known_different(session: AsyncSession, key: str, others: Iterable[str]) -> set[str]:
    """Those of ``others`` already said to be a different company from ``key``."""
    pairs = {_pair(key, other) for other in others if other != key}
    if not pairs:
        return set()
    stmt = select(DistinctCompanies.key_a, DistinctCompanies.key_b).where(
        tuple_(DistinctCompanies.key_a, DistinctCompanies.key_b).in_(sorted(pairs))
    )
    found = (await session.execute(stmt)).all()
    return {b if a == key else a for a, b in found}


async def add_different(
    session: AsyncSession, key: str, others: Iterable[str], at: datetime, by: int | None
) -> None:
    """Remember each pair once; a pair remembered meanwhile by someone else is fine."""
    others = list(others)
    for other in sorted(set(others) - {key} - await known_different(session, key, others)):
        a, b = _pair(key, other)
        try:
            async with session.begin_nested():
                session.add(DistinctCompanies(key_a=a, key_b=b, decided_at=at, decided_by=by))
                await session.flush()
        except IntegrityError:
            pass
