"""Reading the rows: :func:`collect` reads a period's rows (storage/digest_repo.py,
storage/funds_repo.py) and the ranking service's scores, and calls the builder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.periods import Span
from bot.services import ranking, scoring
from bot.services.digests.builders import build_half, build_month, build_quarter, build_year
from bot.services.digests.query import resolve
from bot.services.digests.reports import (
    NOTHING_REACHED,
    FundsFigure,
    LeadInfo,
    Note,
    Report,
    StageMove,
    StageNames,
    UnitInfo,
)
from bot.services.ranking import RankTable
from bot.services.scoring import ScoringSetup
from storage import digest_repo, funds_repo, scoring_repo

NOTE_LOOKBACK = timedelta(days=366)  # how far back a "last progress note" is looked for


async def collect(
    session: Any, setup: ScoringSetup, now: datetime, kind: str, key: str | None = None
) -> Report:
    """The report of ``kind`` for ``key`` (default: the last complete period), from the database."""
    span = resolve(setup, kind, key, now)
    as_of = min(now, span.end)
    unit_rows = await scoring_repo.units(session)
    units = [UnitInfo(u.id, u.name, u.short_name, u.category) for u in unit_rows]
    if kind == "half":
        rows = await digest_repo.leads_reported_between(session, span.start, span.end)
        return build_half(span, units, [_lead_info(r, r.stage) for r in rows], as_of)
    year = setup.periods.span("year", span.start)
    to_date = Span("year", year.key, year.start, span.end)  # the year up to the period's end
    # Targets and conversion rates as /score computes them (ranking service), over the year to
    # date, and the six figures: from the projects under way (the leads now at a stage a figure
    # reads, or moved since the period's end), the year's funded leads, and counts made in the
    # database (verifications, activities). A report's cost follows the projects under way
    # and its period, not the whole history.
    stages = StageNames.of(setup)
    last_month = span.key if kind == "month" else f"{year.key}-12"
    fund_rows = (
        []
        if kind == "quarter"
        else await funds_repo.live_between(session, f"{year.key}-01", last_month)
    )
    read = _stages_read(setup, stages)
    histories, moves = await scoring.collect_period(
        session,
        setup,
        [u.id for u in unit_rows],
        stages.order[min((i for i in read if i > 0), default=len(stages.order)) :],
        moved_since=span.end if kind == "month" else None,
        reported_since=year.start if 0 in read else None,
        lead_ids=[r.lead_id for r in fund_rows],
    )
    counted = await ranking.activity_counts(session, setup, to_date)
    targets = {
        u.id: ranking.targets_for(setup, u, histories[u.id], to_date, counted.get(u.id, {}))
        for u in unit_rows
    }
    funnels = {uid: ranking.funnel_for(setup, h, to_date) for uid, h in histories.items()}
    if kind == "quarter":
        table, previous = await _rank_tables(session, setup, span)
        return build_quarter(span, units, table, previous, targets, funnels, as_of)
    leads = _leads(histories, moves, span.end_utc)
    funds = [FundsFigure(r.lead_id, r.month, r.amount_wan) for r in fund_rows]
    if kind == "year":
        table, previous = await _rank_tables(session, setup, span)
        verified = await digest_repo.verified_counts(session, span.start, span.end)
        return build_year(
            span, units, table, previous, leads, funds, targets, funnels, stages, as_of, verified
        )
    notes = await _notes(session, span.end_utc)
    verified_in = (
        await digest_repo.verified_counts(session, span.start, span.end),
        await digest_repo.verified_counts(session, to_date.start, to_date.end),
    )
    return build_month(
        span, to_date, units, leads, funds, notes, targets, stages, as_of, verified_in
    )


def _stages_read(setup: ScoringSetup, stages: StageNames) -> set[int]:
    """The indexes of the stages a figure, a target or the conversion rates read. A lead now
    below a stage has not reached it (a move back takes the later stages away), so the leads
    standing at the lowest of them or later are all a report needs; but every lead has reached
    the first stage (index 0, also a target counting reports): then the year's reports too."""
    read = [stages.signed, stages.started, stages.in_stats, stages.production, stages.forward]
    read += list(setup.funnel)
    read += [t.stage or stages.order[0] for t in setup.targets if t.activity is None]
    return {stages.index(s) for s in read if s is not None and stages.index(s) >= 0}


async def _rank_tables(
    session: Any, setup: ScoringSetup, span: Span
) -> tuple[RankTable, RankTable]:
    """The period's ranking and the previous period's, from the ranking service (stored scores)."""
    table = await ranking.rank(session, setup, span.start, span.kind, key=span.key)
    return table, await ranking.rank(session, setup, span.start, span.kind, key=table.previous.key)


def _lead_info(
    r: Any,
    initial_stage: str,
    moves: tuple[StageMove, ...] = (),
    reached: Mapping[str, datetime] = NOTHING_REACHED,
    verified_at: datetime | None = None,
) -> LeadInfo:
    """A lead row (light row or model) as the builders take it, with its timeline if it has
    one. Positionally, LeadInfo's fields in order: a report builds thousands."""
    return LeadInfo(
        r.id,
        r.unit_id,
        r.project,
        r.company,
        Decimal(r.amount_wan),
        r.reported_at,
        initial_stage,
        r.review,
        r.duplicate_of,
        r.industry,
        r.origin,
        r.stage,
        moves,
        reached,
        verified_at,
    )


def _leads(
    histories: Mapping[int, scoring.UnitHistory],
    by_lead: Mapping[int, Sequence[Any]],
    before: datetime,
) -> list[LeadInfo]:
    """The leads reported before ``before``, with scoring's timelines (rejected leads have
    none) and their stage moves (``by_lead``: by lead, in order)."""
    out = []
    for history in histories.values():
        for tl in history.timelines.values():
            lead = tl.lead
            if lead.reported_at >= before:
                continue
            events = by_lead.get(lead.id, ())
            moves = tuple(
                [
                    StageMove(e.at, e.from_value, e.to_value)
                    for e in events
                    if e.to_value and e.kind == "stage"
                ]
            )
            out.append(
                _lead_info(
                    lead,
                    scoring.reported_stage(lead, events),  # as the timeline read it
                    moves,
                    tl.reached,  # the timeline's own: nothing changes it after
                    tl.verified_at,
                )
            )
    out.sort(key=lambda lead: lead.id)
    return out


async def _notes(session: Any, before: datetime) -> list[Note]:
    """Progress notes of the year up to ``before``: stage changes' notes and the weekly
    submissions' 项目进展 (an older note is not the latest progress of anything)."""
    since = before - NOTE_LOOKBACK
    notes = [
        Note(lead_id, at, note, "stage")
        for lead_id, at, note in await digest_repo.stage_notes(session, since, before)
    ]
    for _unit_id, submitted_at, entries in await digest_repo.accepted_progress(
        session, since, before
    ):
        for entry in entries:
            if isinstance(entry, dict) and entry.get("lead") and entry.get("text"):
                notes.append(Note(int(entry["lead"]), submitted_at, str(entry["text"]), "weekly"))
    return notes
