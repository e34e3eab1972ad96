"""Funds in place (到位资金 / 实际完成投资): one figure per lead and month.

``/funds L0007 3000万 2026-11`` records that 3000万元 of the project's investment
arrived in November 2026 (the month defaults to the current one; ``11月``,
``2026年11月``, ``本月``, ``上月`` work too). Typing the same lead and month again
corrects the figure: the old row is kept, stamped superseded (see
:mod:`storage.models.funds`). ``0`` withdraws a figure recorded by mistake.

Who: the lead's unit (liaisons and head) and leaders/admins. Refused: amounts
that :func:`bot.domain.amounts.parse_wan` refuses (negative, absurd, another currency),
more than ``PLAN_FACTOR`` times the lead's planned investment (almost always a
unit typed wrong: 元 for 万), months in the future, months older than
``LOOKBACK_MONTHS``, ``2026-13``; duplicates (the first report's unit records the
project's funds) and rejected leads (不予认定).

Scoring sees each live figure as one ``funds`` event (:mod:`bot.services.scoring`),
so rules such as kaihua's ``perf_funds`` score it; the reports sum it
(:mod:`bot.services.digests`).

The tax paid (税收, seed 004 二(四)1② / 二(五)4) is kept the same way in its own table:
``/tax L0007 8万 2026-11`` (:data:`TAX`, every function here takes the ``book``). Scoring reads
a lead's tax records as the ``tax_wan`` fact: what it paid up to the event (within the
assessment window where the condition has one), for kaihua's 服务业 ≥ 15万.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.amounts import AmountError, format_wan_human, parse_wan
from bot.domain.enums import Review, Role, lead_code
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.leads import parse_code
from bot.services.scoring import ScoringSetup, activity_instant, refresh_unit
from storage import funds_repo, lead_repo, repo
from storage.models import FundsRecord, TaxRecord

LOOKBACK_MONTHS = 24  # how far back a month may be recorded or corrected
PLAN_FACTOR = 10  # a month's funds above 10 × the planned investment is a typing error
ZERO = Decimal(0)
_ZEROS = frozenset({"0", "0万", "0万元", "0元", "零", "〇"})
_MONTH_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月份?"),
    re.compile(r"(?P<m>\d{1,2})\s*月份?"),
)
_RELATIVE = {"本月": 0, "这个月": 0, "当月": 0, "上月": -1, "上个月": -1}


@dataclass(frozen=True)
class Book:
    """Which monthly figure: its table, its words in the catalog (``funds.*`` / ``tax.*``
    for the messages that name the figure) and whether it is checked against the plan."""

    model: type[FundsRecord] | type[TaxRecord]
    words: str
    plan_check: bool


FUNDS = Book(FundsRecord, "funds", True)
TAX = Book(TaxRecord, "tax", False)  # tax is not a share of the investment: no plan check


@dataclass(frozen=True)
class FundsRequest:
    lead_id: int
    amount_text: str | None  # None: show the lead's figures
    month_text: str | None  # None: the current month


@dataclass(frozen=True)
class FundsResult:
    code: str
    project: str
    unit_name: str
    month: str  # "2026-11"
    amount_wan: Decimal
    previous_wan: Decimal | None  # the figure it replaced
    unchanged: bool
    year_total_wan: Decimal  # the lead's live figures of the month's year


@dataclass(frozen=True)
class FundsLine:
    month: str
    amount_wan: Decimal
    recorded_at: datetime
    recorded_by: int
    superseded: bool


@dataclass(frozen=True)
class FundsHistory:
    code: str
    project: str
    unit_name: str
    lines: tuple[FundsLine, ...]  # by month, oldest record first
    total_wan: Decimal  # the live figures, all months


# --------------------------------------------------------------------------- #
# Parsing
# --------------------------------------------------------------------------- #


def parse_request(text: str, book: Book = FUNDS) -> FundsRequest:
    """``L0007 [金额 [月份]]``; the month may come before the amount too."""
    words = (text or "").split()
    if not words:
        raise ServiceError(f"{book.words}.usage")
    lead_id = parse_code(words[0])
    if lead_id is None:
        raise ServiceError("funds.bad_ref", ref=words[0][:20])
    rest = words[1:]
    if not rest:
        return FundsRequest(lead_id, None, None)
    month_text = None
    if len(rest) > 1:
        months = [w for w in rest if is_month_text(w)]
        if len(months) == 1:
            month_text = months[0]
            rest.remove(month_text)
    return FundsRequest(lead_id, " ".join(rest), month_text)


def is_month_text(text: str) -> bool:
    t = text.strip()
    return t in _RELATIVE or any(p.fullmatch(t) for p in _MONTH_PATTERNS)


def month_key(text: str | None, today: date) -> str:
    """``2026-11`` / ``2026年11月`` / ``11月`` / ``本月`` / ``上月`` → ``2026-11``.

    ``11月`` without a year is the latest November not in the future (typed in
    January, ``12月`` is last December). A bad month (``2026-13``) raises
    ``funds.bad_month``; the caller checks future and too-old months.
    """
    if text is None:
        return f"{today.year:04d}-{today.month:02d}"
    t = text.strip()
    if t in _RELATIVE:
        index = today.year * 12 + today.month - 1 + _RELATIVE[t]
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    for pattern in _MONTH_PATTERNS:
        match = pattern.fullmatch(t)
        if match is None:
            continue
        month = int(match["m"])
        if not 1 <= month <= 12:
            break
        year = (
            int(match["y"])
            if "y" in match.groupdict() and match["y"]
            else (today.year if month <= today.month else today.year - 1)
        )
        if not 2000 <= year <= 2999:
            break
        return f"{year:04d}-{month:02d}"
    raise ServiceError("funds.bad_month", month=t[:20])


def parse_amount(text: str, book: Book = FUNDS) -> Decimal:
    """万元 as everywhere (:func:`bot.domain.amounts.parse_wan`); ``0`` withdraws a figure."""
    if text.strip().replace(" ", "") in _ZEROS:
        return ZERO
    try:
        return parse_wan(text)
    except AmountError as err:
        words = book.words if err.code == "wrong_currency" else "funds"  # names the figure
        raise ServiceError(f"{words}.amount.{err.code}", text=text[:30]) from None


# --------------------------------------------------------------------------- #
# Use cases
# --------------------------------------------------------------------------- #


def _check_actor(actor: Actor, unit_id: int, code: str, unit_name: str, book: Book) -> None:
    if not actor.is_member:
        raise ServiceError("access.stranger")
    if actor.is_leader:
        return
    if actor.unit_id != unit_id or actor.role not in (Role.LIAISON, Role.HEAD):
        raise ServiceError(f"{book.words}.not_yours", lead=code, unit=unit_name)


def _months_back(key: str, today: date) -> int:
    year, month = int(key[:4]), int(key[5:7])
    return (today.year - year) * 12 + today.month - month


def counts_at(setup: ScoringSetup, month: str, now: datetime) -> datetime:
    """When scoring dates a figure: now, if now is in that month; else the month's last day (local noon)."""
    span = setup.periods.span_by_key("month", month)
    if span.contains(now):
        return now
    last_day = (span.end.astimezone(setup.zone) - timedelta(days=1)).date()
    return activity_instant(last_day, setup.zone)


async def record(
    session: AsyncSession,
    setup: ScoringSetup,
    now: datetime,
    actor: Actor,
    lead_id: int,
    amount_text: str,
    month_text: str | None,
    book: Book = FUNDS,
) -> FundsResult:
    """Record (or correct) the lead's funds in place (or tax paid, ``book=TAX``) for a month,
    then bring the unit's points along."""
    w = book.words
    if not actor.is_member:
        raise ServiceError("access.stranger")
    lead = await lead_repo.lead_for_update(session, lead_id)
    if lead is None:
        raise ServiceError("leads.not_found", lead=lead_code(lead_id))
    _check_actor(actor, lead.unit_id, lead.code, lead.unit.name, book)
    if lead.review == Review.REJECTED:
        raise ServiceError(f"{w}.rejected", lead=lead.code)
    if lead.duplicate_of is not None:
        raise ServiceError(f"{w}.duplicate", lead=lead.code, first=lead_code(lead.duplicate_of))
    today = now.astimezone(setup.zone).date()
    month = month_key(month_text, today)
    back = _months_back(month, today)
    if back < 0:
        raise ServiceError(f"{w}.future_month", month=month)
    if back >= LOOKBACK_MONTHS:
        raise ServiceError("funds.too_old", month=month, months=LOOKBACK_MONTHS)
    amount = parse_amount(amount_text, book)
    planned = Decimal(lead.amount_wan)
    if book.plan_check and amount > planned * PLAN_FACTOR:
        raise ServiceError(
            "funds.exceeds_plan",
            lead=lead.code,
            amount=format_wan_human(amount, actor.locale),
            planned=format_wan_human(planned, actor.locale),
            factor=PLAN_FACTOR,
        )
    existing = await funds_repo.live(session, lead.id, month, book.model)
    if existing is None and amount == ZERO:
        raise ServiceError(f"{w}.nothing_to_withdraw", lead=lead.code, month=month)
    if existing is not None and Decimal(existing.amount_wan) == amount:
        total = await _year_total(session, lead.id, month, book)
        return FundsResult(
            lead.code, lead.project, lead.unit.name, month, amount, amount, True, total
        )
    dated = existing.counts_at if existing is not None else counts_at(setup, month, now)
    if existing is not None:
        await funds_repo.supersede(session, existing.id, now, book.model)
        await session.flush()
    added = funds_repo.add(
        session,
        book.model,
        lead_id=lead.id,
        month=month,
        amount_wan=amount,
        counts_at=dated,
        note=None,
        recorded_at=now,
        recorded_by=actor.tg_user_id,
        superseded_at=None,
        superseded_by=None,
    )
    await session.flush()
    if existing is not None:
        await funds_repo.link(session, existing.id, added.id, book.model)
    previous = Decimal(existing.amount_wan) if existing is not None else None
    repo.audit(
        session,
        now,
        actor.tg_user_id,
        f"{w}.record",
        lead=lead.id,
        month=month,
        amount=str(amount),
        previous=str(previous) if previous is not None else None,
    )
    await refresh_unit(session, lead.unit_id, setup, None, now, since=dated)
    total = await _year_total(session, lead.id, month, book)
    return FundsResult(
        lead.code, lead.project, lead.unit.name, month, amount, previous, False, total
    )


async def _year_total(session: AsyncSession, lead_id: int, month: str, book: Book) -> Decimal:
    rows = await funds_repo.history(session, lead_id, book.model)
    return sum(
        (
            Decimal(r.amount_wan)
            for r in rows
            if r.superseded_at is None and r.month[:4] == month[:4]
        ),
        ZERO,
    )


async def history(
    session: AsyncSession, actor: Actor, lead_id: int, book: Book = FUNDS
) -> FundsHistory:
    """The lead's figures, corrections included: for its unit and leaders."""
    if not actor.is_member:
        raise ServiceError("access.stranger")
    lead = await lead_repo.lead_by_id(session, lead_id)
    if lead is None:
        raise ServiceError("leads.not_found", lead=lead_code(lead_id))
    if not actor.is_leader and actor.unit_id != lead.unit_id:
        raise ServiceError(f"{book.words}.not_yours", lead=lead.code, unit=lead.unit.name)
    rows = await funds_repo.history(session, lead.id, book.model)
    lines = tuple(
        FundsLine(
            r.month,
            Decimal(r.amount_wan),
            r.recorded_at,
            r.recorded_by,
            r.superseded_at is not None,
        )
        for r in rows
    )
    total = sum((line.amount_wan for line in lines if not line.superseded), ZERO)
    return FundsHistory(lead.code, lead.project, lead.unit.name, lines, total)
