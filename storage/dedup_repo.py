"""Queries for first report wins beyond the name key: credit codes, the names
the near-match index is built from, and pairs known to be different companies."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.elements import BindParameter

from storage.models import DistinctCompanies, Lead, Review, Unit

_ONE = (joinedload(Lead.unit, innerjoin=True), joinedload(Lead.reporter, innerjoin=True))


def _by_duplicate_credit(code: str | BindParameter[str]) -> Select[Any]:
    """Ids of the active first reports a counted duplicate carrying ``code`` points to: a
    code entered only on a duplicate is still that company's code."""
    dup = aliased(Lead)
    return select(Lead.id).where(
        Lead.id == dup.duplicate_of,
        Lead.first_key.is_not(None),
        dup.credit_code == code,
        dup.review != Review.REJECTED,
    )


async def first_by_credit(session: AsyncSession, code: str) -> Lead | None:
    """The active first report of the company with this credit code: the lead holding it
    (``first_credit``), else the first report a duplicate carrying it points to."""
    held = select(Lead).where(Lead.first_credit == code).options(*_ONE)
    found = (await session.scalars(held)).first()
    if found is not None:
        return found
    via = select(Lead).where(Lead.id.in_(_by_duplicate_credit(code))).order_by(Lead.id)
    return (await session.scalars(via.options(*_ONE))).first()


@dataclass(frozen=True)
class FirstRow:
    """An active first report as the company check shows it (columns, no ORM entity)."""

    lead_id: int
    first_key: str
    company: str
    project: str
    reported_at: datetime
    unit_name: str


NewRow = tuple[int, str | None, str]  # (id, first_key or None, company name) of any lead


@dataclass
class FirstLookup:
    """One statement's answer for the company check: the first report holding the credit
    code (directly or through a duplicate), the one holding the key, and every lead with
    an id above the caller's ``after`` or among its ``gaps`` (the near-match index's sync;
    a duplicate comes with no key, so the caller knows that id is not missing)."""

    by_credit: FirstRow | None = None
    by_key: FirstRow | None = None
    new: list[NewRow] = field(default_factory=list)
    near: list[FirstRow] = field(default_factory=list)  # of ``near_ids``, as near_firsts


def _first_rows(tag: str) -> Select[str, int, str | None, str, str, datetime, str]:
    return select(
        literal_column(f"'{tag}'", String).label("via"),
        Lead.id,
        Lead.first_key,
        Lead.company,
        Lead.project,
        Lead.reported_at,
        Unit.name,
    ).join(Unit, Unit.id == Lead.unit_id)


def _not_different(key: BindParameter[str]) -> Any:
    """The lead's key was not said to be a different company from ``key``."""
    return ~exists().where(
        or_(
            and_(DistinctCompanies.key_a == key, DistinctCompanies.key_b == Lead.first_key),
            and_(DistinctCompanies.key_a == Lead.first_key, DistinctCompanies.key_b == key),
        )
    )


@functools.cache
def _lookup_statement(credit: bool, new: bool, gaps: bool, near: bool) -> CompoundSelect[Any]:
    """Built once per shape: building and cache-keying a statement costs more CPU than
    SQLite takes to run it (bind parameters ``key``, ``credit``, ``after``, ``gaps``,
    ``near``)."""
    parts = []
    key = bindparam("key", type_=String)
    if credit:
        code = bindparam("credit", type_=String)
        parts.append(_first_rows("c").where(Lead.first_credit == code))
        parts.append(_first_rows("d").where(Lead.id.in_(_by_duplicate_credit(code))))
    parts.append(_first_rows("k").where(Lead.first_key == key))
    if near:
        ids = bindparam("near", expanding=True, type_=Integer)
        parts.append(
            _first_rows("m").where(
                Lead.id.in_(ids), Lead.first_key.is_not(None), _not_different(key)
            )
        )
    if new:
        parts.append(_first_rows("n").where(Lead.id > bindparam("after", type_=Integer)))
    if gaps:
        ids = bindparam("gaps", expanding=True, type_=Integer)
        parts.append(_first_rows("n").where(Lead.id.in_(ids)))
    return union_all(*parts)


async def first_lookup(
    session: AsyncSession,
    key: str,
    credit: str | None,
    after: int | None,
    gaps: Sequence[int] = (),
    near_ids: Sequence[int] = (),
) -> FirstLookup:
    """The company check's reads in one ``UNION ALL`` (each branch served by its own index):
    the exact first report by credit code (``c``: held, ``d``: via a duplicate), by key
    (``k``), the details of the candidates ``near_ids`` as :func:`near_firsts` gives them
    (``m``), and, unless ``after`` is None, every lead with an id above it or in ``gaps``
    (``n``)."""
    stmt = _lookup_statement(credit is not None, after is not None, bool(gaps), bool(near_ids))
    params: dict[str, Any] = {
        "key": key,
        "credit": credit,
        "after": after,
        "gaps": list(gaps),
        "near": list(near_ids),
    }
    found = FirstLookup()
    credit_rows: dict[str, list[FirstRow]] = {"c": [], "d": []}
    for via, lead_id, first_key, company, project, at, unit in (
        await session.execute(stmt, {k: v for k, v in params.items() if v not in (None, [])})
    ).all():
        if via == "n":
            found.new.append((lead_id, first_key, company))
            continue
        row = FirstRow(lead_id, first_key or "", company, project, at, unit)
        if via == "k":
            found.by_key = row
        elif via == "m":
            found.near.append(row)
        else:
            credit_rows[via].append(row)
    held = credit_rows["c"] or sorted(credit_rows["d"], key=lambda r: r.lead_id)
    found.by_credit = held[0] if held else None
    found.new.sort()
    return found


@functools.cache
def _near_statement() -> Select[int, str | None, str, str, datetime, str]:
    """Bind parameters ``key`` and ``ids`` (a list)."""
    key = bindparam("key", type_=String)
    stmt = select(
        Lead.id, Lead.first_key, Lead.company, Lead.project, Lead.reported_at, Unit.name
    ).join(Unit, Unit.id == Lead.unit_id)
    ids = bindparam("ids", expanding=True, type_=Integer)
    return stmt.where(Lead.id.in_(ids), Lead.first_key.is_not(None), _not_different(key))


async def near_firsts(session: AsyncSession, key: str, ids: Sequence[int]) -> list[FirstRow]:
    """The active first reports among ``ids`` not already said to be a different company
    from ``key``: the candidates' details and the "different" memory in one select."""
    if not ids:
        return []
    rows = (await session.execute(_near_statement(), {"key": key, "ids": list(ids)})).all()
    return [FirstRow(i, k or "", c, p, at, u) for i, k, c, p, at, u in rows]


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


async def leads_after(
    session: AsyncSession, last_id: int, gaps: Sequence[int] = ()
) -> list[NewRow]:
    """(id, first_key or None, company name) of every lead with an id above ``last_id`` or
    in ``gaps``: the near-match index's build and sync (a lead without a key is a
    duplicate or rejected: it only tells that its id is not missing)."""
    cond = Lead.id > last_id
    if gaps:
        cond = or_(cond, Lead.id.in_(list(gaps)))
    stmt = select(Lead.id, Lead.first_key, Lead.company).where(cond).order_by(Lead.id)
    return [(i, k, c) for i, k, c in (await session.execute(stmt)).all()]


async def leads_in_parts(session: AsyncSession, size: int) -> AsyncIterator[list[NewRow]]:
    """Every lead as :func:`leads_after` reads them, by id, ``size`` rows at a time from
    one streamed result: the index's build holds one part at a time, never all of them."""
    stmt = select(Lead.id, Lead.first_key, Lead.company).order_by(Lead.id)
    result = await session.stream(stmt.execution_options(yield_per=size))
    async for part in result.partitions(size):
        yield [(i, k, c) for i, k, c in part]


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
