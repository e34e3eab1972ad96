"""``/rank``: one ``unit_scores`` row per unit for the span and one for the span before
it (movement), so a ranking costs O(units) whatever the size of the ledger.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.domain.periods import Span
from bot.services import ServiceError
from bot.services.scoring import RANK_KINDS, ScoringSetup
from storage import score_reads, scoring_repo

ZERO = Decimal(0)


PERIOD_WORDS: dict[str, str] = {
    "week": "week",
    "w": "week",
    "本周": "week",
    "周": "week",
    "这周": "week",
    "month": "month",
    "m": "month",
    "本月": "month",
    "月": "month",
    "这个月": "month",
    "quarter": "quarter",
    "q": "quarter",
    "本季": "quarter",
    "本季度": "quarter",
    "季": "quarter",
    "季度": "quarter",
    "year": "year",
    "y": "year",
    "本年": "year",
    "今年": "year",
    "年": "year",
    "年度": "year",
    "本年度": "year",
}
_UTC = UTC


@dataclass(frozen=True)
class RankRow:
    rank: int
    unit_id: int
    unit_name: str
    category: str | None
    points: Decimal
    previous_rank: int
    move: int  # previous rank − rank: > 0 moved up
    # "move": ranked in both periods; "new": the unit did not exist in the previous period;
    # "none": nobody scored in the previous period, so there is nothing to compare with.
    compare: str = "move"


@dataclass(frozen=True)
class RankTable:
    kind: str
    key: str
    span: Span
    previous: Span
    category: str | None
    rows: tuple[RankRow, ...]


@dataclass(frozen=True)
class RankQuery:
    kind: str
    key: str | None
    category: str | None


def parse_rank_args(text: str, default_kind: str, categories: list[str]) -> RankQuery:
    """``[week|month|quarter|year|本周|本月|本季|本年|2026-10|2026-Q3|2026] [序列]``; anything else: usage."""
    kind, key, category = default_kind, None, None
    for token in (text or "").split():
        low = token.lower()
        if low in PERIOD_WORDS and key is None:
            kind = PERIOD_WORDS[low]
        elif token in categories and category is None:
            category = token
        elif (parsed := _period_key(token)) is not None and key is None:
            kind, key = parsed
        else:
            raise ServiceError("rank.usage", categories="、".join(categories) or "—")
    return RankQuery(kind, key, category)


def _period_key(token: str) -> tuple[str, str] | None:
    import re

    t = token.strip().upper()
    for kind, pattern in (
        ("week", r"\d{4}-W\d{2}"),
        ("quarter", r"\d{4}-Q[1-4]"),
        ("month", r"\d{4}-\d{2}"),
        ("year", r"\d{4}"),
    ):
        if re.fullmatch(pattern, t):
            return kind, t
    return None


async def categories(session: Any) -> list[str]:
    """The categories (序列) units are filed under, for ``/rank month 一序列``."""
    return await scoring_repo.categories(session)


def _existed(unit: Any, span: Span) -> bool:
    """The unit was created before the span ended (rows without a creation time always existed)."""
    created = getattr(unit, "created_at", None)
    if created is None:
        return True
    if created.tzinfo is None:  # SQLite gives naive UTC back
        created = created.replace(tzinfo=_UTC)
    return bool(created < span.end)


def ranked(points: dict[int, Decimal]) -> dict[int, int]:
    """Competition ranking: equal points share a rank, the next rank skips (1, 2, 2, 4)."""
    descending = sorted(-p for p in points.values())
    return {unit: bisect.bisect_left(descending, -p) + 1 for unit, p in points.items()}


async def rank(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    kind: str,
    category: str | None = None,
    key: str | None = None,
) -> RankTable:
    if kind not in RANK_KINDS:
        raise ServiceError("rank.usage", categories="—")
    try:
        span = setup.periods.span_by_key(kind, key) if key else setup.periods.span(kind, now)
    except ValueError:
        raise ServiceError("rank.bad_period", key=key or "") from None
    previous = setup.periods.previous_span(span)
    units = await scoring_repo.units(session, category)
    if category is not None and not units:
        raise ServiceError("rank.no_category", category=category)
    stored = await scoring_repo.scores_for(session, kind, [span.key, previous.key])
    now_pts = {u.id: stored.get((u.id, span.key), ZERO) for u in units}
    # Movement compares with a previous period in which the unit existed, and only when
    # somebody scored in it: otherwise every unit would "move" from a tie at 0.
    existed = {u.id for u in units if _existed(u, previous) or (u.id, previous.key) in stored}
    before = {u.id: stored.get((u.id, previous.key), ZERO) for u in units if u.id in existed}
    anybody = any((u, previous.key) in stored for u in existed)
    ranks, old = ranked(now_pts), ranked(before)
    rows = []
    for u in units:
        compare = "none" if not anybody else ("move" if u.id in existed else "new")
        was = old.get(u.id, 0) if compare == "move" else 0
        move = was - ranks[u.id] if compare == "move" else 0
        rows.append(
            RankRow(ranks[u.id], u.id, u.name, u.category, now_pts[u.id], was, move, compare)
        )
    rows.sort(key=lambda r: (r.rank, r.unit_id))
    return RankTable(kind, span.key, span, previous, category, tuple(rows))


async def position(
    session: Any, setup: ScoringSetup, now: datetime, kind: str, unit_id: int
) -> tuple[int, int]:
    """(the unit's rank in :func:`rank` of ``kind`` now, the units ranked), without building the table:
    competition ranking is one more than the units scoring more; a unit not ranked (inactive)
    is placed last, as ``/score`` always placed it."""
    span = setup.periods.span(kind, now)
    above, units, ranked_ = await score_reads.rank_position(session, unit_id, kind, span.key)
    return (above + 1 if ranked_ else units), units
