"""The builders (pure): plain rows in, a report out, so every figure can be checked on a
hand-built jurisdiction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.domain.enums import Review
from bot.domain.periods import Span
from bot.domain.problems import problems_in
from bot.services import ranking
from bot.services.digests.reports import (
    ZERO,
    CategoryBlock,
    Figures,
    FundsFigure,
    HalfLine,
    HalfReport,
    LeadInfo,
    MonthLine,
    MonthReport,
    Note,
    PaceLine,
    ProgressLine,
    QuarterReport,
    ScoreLine,
    StageNames,
    UnitInfo,
    UnitReview,
    YearReport,
)
from bot.services.ranking import FunnelLine, RankTable, TargetLine


def build_half(
    span: Span, units: Sequence[UnitInfo], leads: Iterable[LeadInfo], as_of: datetime
) -> HalfReport:
    """The leads reported in ``span``, by unit: new (first reports) with their review, duplicates apart."""
    counts: dict[int, list[int]] = {u.id: [0, 0, 0, 0, 0] for u in units}
    verified = []
    for lead in leads:
        if lead.unit_id not in counts or not span.contains(lead.reported_at):
            continue
        c = counts[lead.unit_id]
        if lead.duplicate_of is not None:
            c[4] += 1
            continue
        c[0] += 1
        if lead.review == Review.VERIFIED:
            c[1] += 1
            verified.append(lead)
        elif lead.review == Review.REJECTED:
            c[3] += 1
        else:
            c[2] += 1
    lines = tuple(HalfLine(u, *counts[u.id]) for u in units)
    total = HalfLine(UnitInfo(0, ""), *(sum(line[i] for line in counts.values()) for i in range(5)))
    order = {u.id: i for i, u in enumerate(units)}
    verified.sort(key=lambda lead: (order[lead.unit_id], lead.id))
    return HalfReport(span, as_of, lines, total, tuple(verified), {u.id: u.name for u in units})


def figures(
    leads: Iterable[LeadInfo],
    funds: Iterable[FundsFigure],
    span: Span,
    months: tuple[str, str],
    stages: StageNames,
    verified: Mapping[int, int] | None = None,
) -> dict[int, Figures]:
    """Per unit id: the six figures of ``span`` (funds: the figures of months ``months[0]``..``months[1]``).

    ``verified``: the leads verified in ``span`` per unit, counted in the database
    (storage/digest_repo.verified_counts) when ``leads`` are only the projects under way."""
    counted = {lead.id: lead for lead in leads if lead.counted}
    found: dict[int, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, ZERO, 0])
    names = (stages.signed, stages.started, stages.in_stats)
    for unit_id, n in (verified or {}).items():
        found[unit_id][0] = n
    for lead in counted.values():
        f = found[lead.unit_id]
        if verified is None and lead.verified_at is not None and span.contains(lead.verified_at):
            f[0] += 1
        for i, stage in enumerate(names, start=1):
            if stage is not None and stage in lead.reached and span.contains(lead.reached[stage]):
                f[i] += 1
        if (
            stages.production is not None
            and stages.production in lead.reached
            and span.contains(lead.reached[stages.production])
        ):
            f[5] += 1
    for figure in funds:
        funded = counted.get(figure.lead_id)
        if funded is not None and months[0] <= figure.month <= months[1]:
            found[funded.unit_id][4] += Decimal(figure.amount_wan)
    return {unit: Figures(*f) for unit, f in found.items()}


def pace(targets: Sequence[TargetLine], share: Decimal) -> tuple[PaceLine, ...]:
    """Each target's 序时进度: ``share`` of the year elapsed → that share of the count expected."""
    return tuple(
        PaceLine(
            t.name,
            t.done,
            t.target,
            (Decimal(t.target) * share).quantize(Decimal("0.1"), ROUND_HALF_UP),
        )
        for t in targets
    )


def _note_index(notes: Iterable[Note], before: datetime) -> dict[int, Note]:
    last: dict[int, Note] = {}
    for note in notes:
        if note.at >= before or not note.text.strip():
            continue
        known = last.get(note.lead_id)
        if known is None or (note.at, note.source == "weekly") >= (
            known.at,
            known.source == "weekly",
        ):
            last[note.lead_id] = note
    return last


def _problem_index(notes: Iterable[Note], span: Span) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for note in sorted((n for n in notes if span.contains(n.at)), key=lambda n: n.at):
        known = found.setdefault(note.lead_id, [])
        known += [p for p in problems_in(note.text) if p not in known]
    return found


def build_month(
    span: Span,
    year_span: Span,
    units: Sequence[UnitInfo],
    leads: Sequence[LeadInfo],
    funds: Sequence[FundsFigure],
    notes: Iterable[Note],
    targets: Mapping[int, Sequence[TargetLine]],
    stages: StageNames,
    as_of: datetime,
    verified: tuple[Mapping[int, int], Mapping[int, int]] | None = None,
) -> MonthReport:
    """项目推进情况表: six figures for the month and the year to date, targets' pace, the projects at 在谈+.

    ``verified``: the month's and the year's verified leads per unit (see :func:`figures`)."""
    month_key, first_month = span.key, f"{span.key[:4]}-01"
    in_month = figures(
        leads, funds, span, (month_key, month_key), stages, verified[0] if verified else None
    )
    in_year = figures(
        leads, funds, year_span, (first_month, month_key), stages, verified[1] if verified else None
    )
    share = Decimal(int(month_key[5:7])) / 12
    lines = tuple(
        MonthLine(
            u,
            in_month.get(u.id, Figures()),
            in_year.get(u.id, Figures()),
            pace(targets.get(u.id, ()), share),
        )
        for u in units
    )
    total_month = sum((line.month for line in lines), Figures())
    total_year = sum((line.year for line in lines), Figures())
    return MonthReport(
        span,
        year_span,
        as_of,
        stages,
        lines,
        total_month,
        total_year,
        progress_lines(span, units, leads, funds, notes, stages),
        share,
    )


def progress_lines(
    span: Span,
    units: Sequence[UnitInfo],
    leads: Sequence[LeadInfo],
    funds: Sequence[FundsFigure],
    notes: Iterable[Note],
    stages: StageNames,
) -> tuple[ProgressLine, ...]:
    """Every counted lead at 在谈 or later at the span's end, by unit, furthest stage first."""
    order = {u.id: i for i, u in enumerate(units)}
    names = {u.id: u.name for u in units}
    notes = list(notes)
    last_note = _note_index(notes, span.end_utc)
    problems = _problem_index(notes, span)
    first_month = f"{span.key[:4]}-01"
    month_funds: dict[int, Decimal] = defaultdict(Decimal)
    year_funds: dict[int, Decimal] = defaultdict(Decimal)
    for f in funds:
        if first_month <= f.month <= span.key:
            year_funds[f.lead_id] += Decimal(f.amount_wan)
            if f.month == span.key:
                month_funds[f.lead_id] += Decimal(f.amount_wan)
    threshold = stages.index(stages.forward)
    out = []
    for lead in leads:
        if not lead.counted or lead.unit_id not in order:
            continue
        stage = lead.stage_before(span.end_utc)
        if stage is None or stages.index(stage) < threshold:
            continue
        start = lead.stage_before(span.start_utc) or lead.initial_stage
        moves = (
            [m for m in lead.moves if span.start_utc <= m.at < span.end_utc] if lead.moves else []
        )
        path = (start, *(m.to_stage for m in moves)) if moves else (stage,)
        backward = bool(moves) and any(
            stages.index(m.to_stage) < stages.index(m.from_stage) for m in moves
        )
        out.append(
            ProgressLine(
                lead,
                names[lead.unit_id],
                stage,
                path,
                backward,
                month_funds[lead.id],
                year_funds[lead.id],
                last_note.get(lead.id),
                tuple(problems.get(lead.id, ())),
            )
        )
    out.sort(key=lambda p: (order[p.lead.unit_id], -stages.index(p.stage), p.lead.id))
    return tuple(out)


def score_blocks(
    units: Sequence[UnitInfo], table: RankTable, previous: RankTable
) -> tuple[CategoryBlock, ...]:
    """The period's points ranked within each category (序列), with the previous period's, by the
    ranking service's own rule (equal points share a place: 1, 2, 2, 4)."""
    now_pts = {r.unit_id: r.points for r in table.rows}
    before = {r.unit_id: r.points for r in previous.rows}
    overall = {r.unit_id: r.rank for r in table.rows}
    compare = {r.unit_id: r.compare for r in table.rows}
    groups: dict[str | None, list[UnitInfo]] = defaultdict(list)
    for u in units:
        if u.id in now_pts:
            groups[u.category].append(u)
    blocks = []
    for category in sorted(groups, key=lambda c: (c is None, c or "")):
        members = groups[category]
        pts = {u.id: now_pts[u.id] for u in members}
        old = {u.id: before.get(u.id, ZERO) for u in members}
        old_ranks = ranking.ranked({u: p for u, p in old.items() if compare.get(u) == "move"})
        ranks = ranking.ranked(pts)
        lines = sorted(
            (
                ScoreLine(
                    u,
                    pts[u.id],
                    ranks[u.id],
                    old[u.id],
                    old_ranks.get(u.id, ranks[u.id]),
                    overall[u.id],
                    compare.get(u.id, "move"),
                )
                for u in members
            ),
            key=lambda line: (line.rank, line.unit.id),
        )
        blocks.append(CategoryBlock(category, tuple(lines)))
    return tuple(blocks)


def reviews(
    units: Sequence[UnitInfo],
    targets: Mapping[int, Sequence[TargetLine]],
    funnels: Mapping[int, Sequence[FunnelLine]],
    share: Decimal,
) -> tuple[UnitReview, ...]:
    return tuple(
        UnitReview(u, pace(targets.get(u.id, ()), share), tuple(funnels.get(u.id, ())))
        for u in units
    )


def build_quarter(
    span: Span,
    units: Sequence[UnitInfo],
    table: RankTable,
    previous: RankTable,
    targets: Mapping[int, Sequence[TargetLine]],
    funnels: Mapping[int, Sequence[FunnelLine]],
    as_of: datetime,
) -> QuarterReport:
    share = Decimal(int(span.key[-1])) / 4
    return QuarterReport(
        span,
        previous.span,
        as_of,
        score_blocks(units, table, previous),
        reviews(units, targets, funnels, share),
        share,
    )


def build_year(
    span: Span,
    units: Sequence[UnitInfo],
    table: RankTable,
    previous: RankTable,
    leads: Sequence[LeadInfo],
    funds: Sequence[FundsFigure],
    targets: Mapping[int, Sequence[TargetLine]],
    funnels: Mapping[int, Sequence[FunnelLine]],
    stages: StageNames,
    as_of: datetime,
    verified: Mapping[int, int] | None = None,
) -> YearReport:
    found = figures(leads, funds, span, (f"{span.key}-01", f"{span.key}-12"), stages, verified)
    per_unit = tuple((u, found.get(u.id, Figures())) for u in units)
    total = sum((f for _, f in per_unit), Figures())
    return YearReport(
        span,
        previous.span,
        as_of,
        stages,
        score_blocks(units, table, previous),
        per_unit,
        total,
        reviews(units, targets, funnels, Decimal(1)),
    )
