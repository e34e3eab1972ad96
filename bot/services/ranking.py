"""The read side of scoring: ``/score`` and manual adjustments; ``/rank`` and ``/board``.

``/score`` asks the engine for the breakdown (rules, modules, caps that bit) of
one unit, from that unit's ledger lines in the span and what fills its caps, summed in the
database (storage/score_reads.py: a few rows, whatever the size of the ledger); its targets
and funnel from the year's leads, read as light rows.
``/rank`` (bot/services/rank_table.py) reads one ``unit_scores`` row per unit for the
span and one for the span before it (movement), so it costs O(units) whatever the
size of the ledger; the 红黑榜 is bot/services/board.py. Their names are re-exported
here, so ``ranking.rank`` and ``ranking.board`` stay what callers use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain.enums import Review
from bot.domain.leadfields import FieldError, clean_line
from bot.domain.periods import Span
from bot.rules import MANUAL_RULE_ID, Entry, engine
from bot.services import ServiceError, scoring
from bot.services.access import Actor
from bot.services.board import (
    BOARD_GRACE,
    Board,
    Tie,
    blacklisted_in,
    board,
    cut_list,
    plan_board,
    previous_month_key,
    weeks_due_in,
)
from bot.services.rank_table import (
    PERIOD_WORDS,
    ZERO,
    RankQuery,
    RankRow,
    RankTable,
    categories,
    parse_rank_args,
    position,
    rank,
    ranked,
)
from bot.services.scoring import ScoringSetup, to_entry
from storage import repo, score_reads, scoring_repo
from storage.models import Unit

REASON_MAX = 500
ADJUST_LIMIT = Decimal(1000)
RECENT = 8
FUNNEL_BENCHMARKS = (
    Decimal(75),
    Decimal(80),
)  # seed 003: 签约项目开工率 ≥ 75%, 开工项目纳统率 ≥ 80%


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
    return rule.title or rule.name or rule.id


def entry_note(name: str, note: str) -> str:
    """A ledger note without what the rule's name already says: "周报漏报：周报漏报" → "周报漏报"."""
    text = note.strip()
    if not text or text in name:
        return ""
    head, _, rest = text.partition(" ")
    return rest.strip() if rest and head in (name, name.strip()) else text


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
        own = await repo.unit_by_id(session, actor.unit_id)
        assert own is not None
        unit = own
    else:
        raise ServiceError("score.which_unit")
    span = setup.periods.span(kind, now)
    result = await span_score(session, setup, unit.id, span)
    place, of_units = await position(session, setup, now, kind, unit.id)
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
        EntryLine(r.at, r.points, name, entry_note(name, r.note or ""), r.manual)
        for r in await score_reads.recent_entries(session, unit.id, RECENT)
        for name in (rule_name(setup, r.rule_id),)
    )
    year = setup.periods.span("year", now)
    history = await year_history(session, setup, unit.id, year)
    counted = (await activity_counts(session, setup, year, unit.id)).get(unit.id, {})
    return ScoreView(
        unit.id,
        unit.name,
        kind,
        span,
        result.total,
        place,
        of_units,
        modules,
        rules,
        caps,
        recent,
        targets_for(setup, unit, history, year, counted),
        funnel_for(setup, history, year),
        int(year.key),
    )


async def span_score(
    session: Any, setup: ScoringSetup, unit_id: int, span: Span
) -> engine.UnitScore:
    """The unit's score for ``span`` (total, modules, rules, caps that bit), as
    :func:`bot.rules.engine.score_span` makes it of the unit's live lines, from their sums in
    the database: a line counts by its sum unless a cap reads its instant
    (:func:`bot.rules.engine.timed_modules`), so a year costs a few rows, not its lines."""
    tick = timedelta(microseconds=1) if span.kind == "week" else timedelta(0)
    start, end = span.start + tick, span.end + tick  # a week is (start, deadline]
    since = engine.history_start(setup.rules, start, setup.periods)
    rows = await score_reads.span_sums(
        session, unit_id, since, start, end, sorted(engine.timed_modules(setup.rules))
    )
    entries = [Entry(unit_id, r.rule_id, r.module, r.points, r.at, "", "") for r in rows]
    return engine.score(setup.rules, entries, start, end, setup.periods).get(unit_id)


async def year_history(
    session: Any, setup: ScoringSetup, unit_id: int, year: Span
) -> scoring.UnitHistory:
    """The timelines :func:`targets_for` and :func:`funnel_for` read for ``year``: the unit's
    leads that can have reached a stage in it (reported or moved since its start: every instant
    a timeline reaches a stage at is one of these), each with its whole history, rejected ones
    left out -- read as light rows, not as the unit's whole history of ORM objects."""
    leads, lead_events = await score_reads.unit_leads_since(session, unit_id, year.start)
    by_lead: dict[int, list[Any]] = defaultdict(list)
    for e in lead_events:
        by_lead[e.lead_id].append(e)
    stages = setup.rules.stages
    timelines = {
        lead.id: scoring.lead_timeline(lead, by_lead.get(lead.id, []), stages)
        for lead in leads
        if lead.review != Review.REJECTED  # 不予认定: counts for nothing
    }
    return scoring.UnitHistory([], timelines, [])


async def activity_counts(
    session: Any, setup: ScoringSetup, span: Span, unit_id: int | None = None
) -> dict[int, dict[tuple[str, str], int]]:
    """Per unit (or for one), the span's activities of the kinds a target counts, by (kind,
    review), counted in the database: the targets need the counts, not a year of activity rows."""
    kinds = [t.activity for t in setup.targets if t.activity is not None]
    first, last = scoring.activity_days(span.start, span.end, setup.zone)
    found: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    rows = await scoring_repo.activity_counts(session, first, last, kinds, unit_id)
    for row_unit, kind, review, n in rows:
        found[row_unit][(kind, review)] = int(n)
    return found


def targets_for(
    setup: ScoringSetup,
    unit: Unit,
    history: scoring.UnitHistory,
    year: Span,
    activity_counts: Mapping[tuple[str, str], int] | None = None,
) -> tuple[TargetLine, ...]:
    """The unit's annual targets done in ``year`` (the year to date). ``activity_counts``: the
    unit's activities of the span counted by (kind, review) in the database (a report's way),
    instead of ``history.activities``."""
    lines = []
    for t in setup.targets:
        done = 0
        if t.activity is not None and activity_counts is not None:
            done = sum(
                n
                for (kind, review), n in activity_counts.items()
                if kind == t.activity and (not t.only_verified or review == "verified")
            )
        elif t.activity is not None:
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


__all__ = [
    "ADJUST_LIMIT",
    "BOARD_GRACE",
    "FUNNEL_BENCHMARKS",
    "PERIOD_WORDS",
    "REASON_MAX",
    "RECENT",
    "ZERO",
    "Adjustment",
    "Board",
    "CapLine",
    "EntryLine",
    "FunnelLine",
    "ModuleLine",
    "RankQuery",
    "RankRow",
    "RankTable",
    "RuleLine",
    "ScoreView",
    "TargetLine",
    "Tie",
    "adjust",
    "blacklisted_in",
    "board",
    "categories",
    "cut_list",
    "entry_note",
    "find_unit",
    "funnel_for",
    "parse_adjust_args",
    "parse_rank_args",
    "plan_board",
    "position",
    "previous_month_key",
    "rank",
    "ranked",
    "rule_name",
    "span_score",
    "targets_for",
    "unit_score",
    "weeks_due_in",
    "year_history",
]
