"""The read side of scoring: ``/rank``, ``/score``, ``/board``, manual adjustments.

``/rank`` reads one ``unit_scores`` row per unit for the span and one for the span
before it (movement), so it costs O(units) whatever the size of the ledger.
``/score`` asks the engine for the breakdown (rules, modules, caps that bit) of
one unit, from that unit's ledger lines in the span and what fills its caps.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.leadfields import FieldError, clean_line
from bot.periods import Span
from bot.rules import MANUAL_RULE_ID, Entry, engine
from bot.services import ServiceError, scoring
from bot.services.access import Actor
from bot.services.scoring import RANK_KINDS, ScoringSetup, collect_unit, to_entry
from storage import repo, scoring_repo, weekly_repo
from storage.models import OutboxStatus, Unit

ZERO = Decimal(0)
REASON_MAX = 500
ADJUST_LIMIT = Decimal(1000)
RECENT = 8
FUNNEL_BENCHMARKS = (
    Decimal(75),
    Decimal(80),
)  # seed 003: 签约项目开工率 ≥ 75%, 开工项目纳统率 ≥ 80%
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


# --------------------------------------------------------------------------- #
# /rank
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RankRow:
    rank: int
    unit_id: int
    unit_name: str
    category: str | None
    points: Decimal
    previous_rank: int
    move: int  # previous rank − rank: > 0 moved up


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
    before = {u.id: stored.get((u.id, previous.key), ZERO) for u in units}
    ranks, old = ranked(now_pts), ranked(before)
    rows = [
        RankRow(
            ranks[u.id], u.id, u.name, u.category, now_pts[u.id], old[u.id], old[u.id] - ranks[u.id]
        )
        for u in units
    ]
    rows.sort(key=lambda r: (r.rank, r.unit_id))
    return RankTable(kind, span.key, span, previous, category, tuple(rows))


# --------------------------------------------------------------------------- #
# /score
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ModuleLine:
    name: str
    raw: Decimal
    capped: Decimal


@dataclass(frozen=True)
class RuleLine:
    rule_id: str
    name: str
    points: Decimal


@dataclass(frozen=True)
class CapLine:
    label: str
    cap: Decimal
    per: str
    period_key: str
    raw: Decimal
    capped: Decimal


@dataclass(frozen=True)
class EntryLine:
    at: datetime
    points: Decimal
    name: str
    note: str
    manual: bool


@dataclass(frozen=True)
class TargetLine:
    name: str
    done: int
    target: int


@dataclass(frozen=True)
class FunnelLine:
    from_stage: str
    to_stage: str
    base: int
    reached: int
    rate: Decimal | None  # percent, None when nothing to divide by
    benchmark: Decimal


@dataclass(frozen=True)
class ScoreView:
    unit_id: int
    unit_name: str
    kind: str
    span: Span
    total: Decimal
    rank: int
    of_units: int
    modules: tuple[ModuleLine, ...]
    rules: tuple[RuleLine, ...]
    caps: tuple[CapLine, ...]
    recent: tuple[EntryLine, ...]
    targets: tuple[TargetLine, ...]
    funnel: tuple[FunnelLine, ...]
    year: int


async def find_unit(session: Any, name: str) -> Unit:
    unit = await repo.unit_by_name(session, name.strip())
    if unit is None:
        raise ServiceError("score.unknown_unit", name=name.strip()[:40])
    return unit


def rule_name(setup: ScoringSetup, rule_id: str) -> str:
    if rule_id == MANUAL_RULE_ID:
        return "人工调整"
    try:
        rule = setup.rules.rule(rule_id)
    except StopIteration:
        return rule_id
    return rule.name or rule.id


async def unit_score(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    actor: Actor,
    unit_text: str | None,
    kind: str = "year",
) -> ScoreView:
    if not actor.is_member:
        raise ServiceError("access.stranger")
    if unit_text:
        unit = await find_unit(session, unit_text)
        if not actor.is_leader and unit.id != actor.unit_id:
            raise ServiceError("score.not_yours")
    elif actor.unit_id is not None:
        unit = await repo.unit_by_id(session, actor.unit_id)
        assert unit is not None
    else:
        raise ServiceError("score.which_unit")
    span = setup.periods.span(kind, now)
    start = span.start + timedelta(microseconds=1) if kind == "week" else span.start
    since = engine.history_start(setup.rules, start, setup.periods)
    rows = await scoring_repo.live_entries_between(
        session, since, span.end + timedelta(microseconds=1), [unit.id]
    )
    result = engine.score_span(setup.rules, [to_entry(r) for r in rows], span, setup.periods).get(
        unit.id
    )
    table = await rank(session, setup, now, kind)
    position = next((r.rank for r in table.rows if r.unit_id == unit.id), len(table.rows))
    modules = tuple(ModuleLine(m.name, m.raw, m.capped) for m in result.modules.values())
    rules = tuple(
        sorted(
            (
                RuleLine(rid, rule_name(setup, rid), pts)
                for rid, pts in result.by_rule.items()
                if pts
            ),
            key=lambda r: -r.points,
        )
    )
    caps = tuple(
        CapLine(h.label, h.cap, h.per, h.period_key, h.raw, h.capped) for h in result.caps_hit
    )
    recent = tuple(
        EntryLine(r.at, r.points, rule_name(setup, r.rule_id), r.note, r.manual)
        for r in await scoring_repo.recent_entries(session, unit.id, RECENT)
    )
    history = await collect_unit(session, unit.id, setup)
    year = setup.periods.span("year", now)
    return ScoreView(
        unit.id,
        unit.name,
        kind,
        span,
        result.total,
        position,
        len(table.rows),
        modules,
        rules,
        caps,
        recent,
        targets_for(setup, unit, history, year),
        funnel_for(setup, history, year),
        int(year.key),
    )


def targets_for(
    setup: ScoringSetup, unit: Unit, history: scoring.UnitHistory, year: Span
) -> tuple[TargetLine, ...]:
    lines = []
    for t in setup.targets:
        done = 0
        if t.activity is not None:
            done = sum(
                1
                for a in history.activities
                if a.kind == t.activity
                and year.contains(scoring.activity_instant(a.on_date, setup.zone))
                and (not t.only_verified or a.review == "verified")
            )
        else:
            for tl in history.timelines.values():
                if tl.lead.duplicate_of is not None or (t.only_verified and tl.verified_at is None):
                    continue
                at = tl.reached.get(t.stage) if t.stage else tl.lead.reported_at
                if at is None or not year.contains(at):
                    continue
                facts = tl.facts()
                if t.min_amount_wan is not None and facts.amount_wan < t.min_amount_wan:
                    continue
                if t.origins is not None and facts.origin not in t.origins:
                    continue
                if t.tags_any is not None and not facts.tags.intersection(t.tags_any):
                    continue
                done += 1
        lines.append(TargetLine(t.name, done, t.count_for(unit.name, unit.short_name)))
    return tuple(lines)


def funnel_for(
    setup: ScoringSetup, history: scoring.UnitHistory, year: Span
) -> tuple[FunnelLine, ...]:
    """签约→开工 and 开工→入统 for the leads that reached the first stage this year (seed 003)."""
    stages = setup.rules.stages
    if not all(s in stages for s in setup.funnel):
        return ()
    lines = []
    for (a, b), benchmark in zip(
        ((setup.funnel[0], setup.funnel[1]), (setup.funnel[1], setup.funnel[2])),
        FUNNEL_BENCHMARKS,
        strict=True,
    ):
        base = [
            tl
            for tl in history.timelines.values()
            if tl.lead.duplicate_of is None and a in tl.reached and year.contains(tl.reached[a])
        ]
        reached = sum(1 for tl in base if b in tl.reached)
        rate = (Decimal(reached) * 100 / len(base)).quantize(Decimal(1)) if base else None
        lines.append(FunnelLine(a, b, len(base), reached, rate, benchmark))
    return tuple(lines)


# --------------------------------------------------------------------------- #
# Manual adjustments
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Adjustment:
    unit_id: int
    unit_name: str
    points: Decimal
    reason: str
    entry_id: int


def parse_adjust_args(text: str) -> tuple[str, Decimal, str]:
    """``经济发展局 -2 原因`` (a unit name may contain spaces: the points token splits it)."""
    words = (text or "").split()
    for i, word in enumerate(words):
        try:
            points = Decimal(word.replace("＋", "+").replace("－", "-").replace("分", ""))
        except InvalidOperation:
            continue
        if i == 0 or not points.is_finite():
            continue
        return " ".join(words[:i]), points, " ".join(words[i + 1 :])
    raise ServiceError("adjust.usage")


async def adjust(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    actor: Actor,
    unit_text: str,
    points: Decimal,
    reason: str,
) -> Adjustment:
    if not actor.is_leader:
        raise ServiceError("access.leader_only")
    unit = await find_unit(session, unit_text)
    if points == 0 or abs(points) > ADJUST_LIMIT or points != points.quantize(scoring.QUANTUM):
        raise ServiceError("adjust.bad_points", limit=ADJUST_LIMIT)
    try:
        reason = clean_line(reason, REASON_MAX, multiline=True)
    except FieldError:
        raise ServiceError("adjust.reason_missing") from None
    await scoring_repo.lock_unit(session, unit.id)
    entry = Entry(unit.id, MANUAL_RULE_ID, None, points, now, f"manual:{actor.tg_user_id}", reason)
    row = scoring_repo.new_entry(
        session, scoring._row(entry, now, manual=True, by=actor.tg_user_id)
    )
    await session.flush()
    repo.audit(
        session,
        now,
        actor.tg_user_id,
        "score.adjust",
        note=reason,
        unit=unit.id,
        points=str(points),
        entry=row.id,
    )
    rows = await scoring_repo.live_entries(session, unit.id)
    await scoring.recompute_scores(session, setup, unit.id, [to_entry(r) for r in rows], now, now)
    return Adjustment(unit.id, unit.name, points, reason, row.id)


# --------------------------------------------------------------------------- #
# 红黑榜
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Board:
    month: Span
    rows: tuple[RankRow, ...]
    top: tuple[RankRow, ...]
    bottom: tuple[RankRow, ...]
    missing: tuple[tuple[str, int], ...]  # (unit name, missed weekly submissions in the month)


async def board(session: Any, setup: ScoringSetup, month_key: str, top_n: int) -> Board:
    try:
        month = setup.periods.span_by_key("month", month_key)
    except ValueError:
        raise ServiceError("board.bad_month", key=month_key[:20]) from None
    table = await rank(session, setup, month.start, "month", key=month.key)
    rows = table.rows
    top = tuple(r for r in rows if r.rank <= top_n and r.points > 0)
    rest = [r for r in rows if r not in top]
    bottom = tuple(rest[-top_n:])
    keys = weeks_due_in(setup, month)
    names = {u.id: u.name for u in await scoring_repo.units(session)}
    counts = Counter(u for u, _ in await scoring_repo.missing_weekly(session, keys) if u in names)
    missing = tuple(sorted(((names[u], n) for u, n in counts.items()), key=lambda x: (-x[1], x[0])))
    return Board(month, rows, top, bottom, missing)


def weeks_due_in(setup: ScoringSetup, month: Span) -> list[str]:
    """Weekly periods whose deadline falls inside the month."""
    keys = []
    week = setup.periods.week_of(month.start + timedelta(microseconds=1))
    while week.deadline < month.end:
        if week.deadline >= month.start:
            keys.append(week.key)
        week = setup.periods.next(week)
    return keys


def previous_month_key(setup: ScoringSetup, now: datetime) -> str:
    return setup.periods.previous_span(setup.periods.span("month", now)).key


BOARD_GRACE = timedelta(days=3)


async def plan_board(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    month_key: str,
    top_n: int,
    locale: str,
    render_text: Callable[[str, Board], str],
    render_picture: Callable[[str, Board], tuple[bytes, str]],
) -> Board | None:
    """Plan the monthly board once: its text and picture, one outbox row.

    The job mark ``board:<month>`` and the row are written in one transaction, so
    across restarts and instances the board is planned once and the outbox sends
    the text and then the picture exactly once. Returns the board planned; None
    when it was done already or there is no leaders' group to send to.
    ``render_picture`` gives the PNG and its HTML caption; it runs in a worker
    thread (matplotlib takes a moment and must not stall the bot).
    """
    chat = await weekly_repo.leaders_chat(session)
    if chat is None or not await weekly_repo.take_mark(session, f"board:{month_key}", now):
        return None
    found = await board(session, setup, month_key, top_n)
    png, caption = await asyncio.to_thread(render_picture, locale, found)
    picture = {
        "filename": f"board-{month_key}.png",
        "data": base64.b64encode(png).decode("ascii"),
        "caption": caption,
        "as": "photo",
    }
    row = {
        "kind": "board",
        "period_key": month_key,
        "chat_id": chat,
        "unit_id": None,
        "recipient": "leaders",
        "template": "board.outbox",
        "params": {"text": render_text(locale, found), "_document": picture},
        "locale": locale,
        "buttons": [],
        "due_at": now,
        "not_after": now + BOARD_GRACE,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": now,
    }
    await weekly_repo.enqueue(session, [row])
    return found
