"""Queries for first report wins beyond the name key: credit codes, the names
the near-match index is built from, and pairs known to be different companies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import DistinctCompanies, Lead, Review

_ONE = (joinedload(Lead.unit, innerjoin=True), joinedload(Lead.reporter, innerjoin=True))


async def first_by_credit(session: AsyncSession, code: str) -> Lead | None:
    stmt = select(Lead).where(Lead.first_credit == code).options(*_ONE)
    return (await session.scalars(stmt)).first()


async def credit_carriers(session: AsyncSession, code: str, besides: int) -> list[Lead]:
    """The leads other than ``besides`` that carry ``code`` and count (not rejected), the
    holder of the first report on it first."""
    stmt = (
        select(Lead)
        .where(Lead.credit_code == code, Lead.id != besides, Lead.review != Review.REJECTED)
        .order_by(Lead.first_credit.is_(None), Lead.id)
        .options(*_ONE)
    )
    return list((await session.scalars(stmt)).all())


def _like(fragment: str) -> str:
    """A LIKE pattern: ``_`` in ``fragment`` stays the one-character wildcard, ``%`` and a
    backslash are literal."""
    return "%" + fragment.replace("\\", "\\\\").replace("%", "\\%") + "%"


async def first_names_like(
    session: AsyncSession, fragments: Iterable[str], limit: int
) -> list[tuple[int, str, str]]:
    """(id, key, company name) of at most ``limit`` active first reports whose key contains
    one of ``fragments`` (``_``: any one character), newest first: the near-match check's
    candidates while the in-memory index is still being built after a restart."""
    patterns = [_like(f) for f in dict.fromkeys(fragments) if f]
    if not patterns:
        return []
    stmt = (
        select(Lead.id, Lead.first_key, Lead.company)
        .where(
            Lead.first_key.is_not(None),
            or_(*(Lead.first_key.like(p, escape="\\") for p in patterns)),
        )
        .order_by(Lead.id.desc())
        .limit(limit)
    )
    return [(i, k or "", c) for i, k, c in (await session.execute(stmt)).all()]


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
