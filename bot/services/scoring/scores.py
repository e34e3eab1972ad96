"""Per-period scores: the ``unit_scores`` rows of every span a change can reach, from
the live ledger lines.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.periods import Span
from bot.rules import (
    Entry,
    engine,
)
from bot.services.scoring.setup import RANK_KINDS, ScoringSetup
from storage import scoring_repo

_UTC = UTC
_TICK = timedelta(microseconds=1)


def to_entry(row: Any) -> Entry:
    """A ledger line (model or light row) as the engine's Entry."""
    return Entry(
        row.unit_id, row.rule_id, row.module, row.points, row.at, row.source, row.note or ""
    )


def _utc(t: datetime) -> datetime:
    return t.astimezone(_UTC)


def spans_with_entries(setup: ScoringSetup, ats: Sequence[datetime], kind: str) -> list[Span]:
    """The spans of ``kind`` holding these (sorted, UTC) instants, one periods lookup per span."""
    found: list[Span] = []
    week = kind == "week"
    lo = hi = None
    for at in ats:
        if lo is not None and (lo < at <= hi if week else lo <= at < hi):  # type: ignore[operator]
            continue
        span = setup.periods.span(kind, at)
        lo, hi = _utc(span.start), _utc(span.end)
        found.append(span)
    return found


def span_total(
    setup: ScoringSetup, unit_id: int, entries: Sequence[Entry], ats: Sequence[datetime], span: Span
) -> Decimal | None:
    """The unit's capped score for ``span``, None when no entry falls in it (the row is dropped: missing = 0).

    One span at a time, from its caps' history: the reference :func:`span_totals` agrees with
    (tests/unit/test_running_totals.py); the stored spans come from that sweep.

    ``entries`` are sorted by instant, ``ats`` are their UTC instants.
    """
    if span.kind == "week":
        lo, hi = (
            bisect.bisect_right(ats, _utc(span.start)),
            bisect.bisect_right(ats, _utc(span.end)),
        )
    else:
        lo, hi = bisect.bisect_left(ats, _utc(span.start)), bisect.bisect_left(ats, _utc(span.end))
    if lo == hi:
        return None
    if not setup.capped:
        return sum((e.points for e in entries[lo:hi]), Decimal(0))  # no caps: the sum is the score
    start = span.start + _TICK if span.kind == "week" else span.start
    first = bisect.bisect_left(ats, _utc(engine.history_start(setup.rules, start, setup.periods)))
    return engine.score_span(setup.rules, entries[first:hi], span, setup.periods).total(unit_id)


def span_totals(
    setup: ScoringSetup, entries: Sequence[Entry], ats: Sequence[datetime], spans: Iterable[Span]
) -> dict[tuple[str, str], Decimal | None]:
    """:func:`span_total` of each span, all from one sweep over the unit's entries
    (:func:`engine.running_totals`): a span's total is the running total at its end less the
    one at its start. None for a span without entries, as there.

    ``entries`` are sorted by instant, ``ats`` are their UTC instants.
    """
    bounds: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    for span in spans:
        tick = _TICK if span.kind == "week" else timedelta(0)  # a week is (start, end]
        bounds[span.kind, span.key] = (_utc(span.start) + tick, _utc(span.end) + tick)
    instants = sorted({t for pair in bounds.values() for t in pair})
    running = dict(
        zip(
            instants,
            engine.running_totals(setup.rules, entries, instants, setup.periods, ats),
            strict=True,
        )
    )
    found: dict[tuple[str, str], Decimal | None] = {}
    for key, (start, end) in bounds.items():
        empty = bisect.bisect_left(ats, start) == bisect.bisect_left(ats, end)
        found[key] = None if empty else running[end] - running[start]
    return found


async def recompute_scores(
    session: Any,
    setup: ScoringSetup,
    unit_id: int,
    entries: Iterable[Entry],
    since: datetime | None,
    now: datetime,
) -> int:
    """Rewrite the unit's ``unit_scores`` for every span ending after ``since`` (None: all), all
    of them from one sweep over the entries (:func:`span_totals`). Returns rows written."""
    ordered = sorted(entries, key=lambda e: _utc(e.at))
    ats = [_utc(e.at) for e in ordered]
    if since is None:
        await scoring_repo.clear_unit_scores(session, unit_id)
        stale: list[tuple[str, str]] = []
    else:  # spans ending after ``since``: of its year or later, or a week of the year before
        year = int(setup.periods.span("year", since).key[:4])
        stale = await scoring_repo.unit_score_keys(session, unit_id, f"{year - 1:04d}")
    spans: list[Span] = []
    for kind in RANK_KINDS:
        if since is None:
            spans += spans_with_entries(setup, ats, kind)
        else:
            spans.append(setup.periods.span(kind, since))
            spans += spans_with_entries(setup, ats[bisect.bisect_left(ats, _utc(since)) :], kind)
            for k, key in stale:
                if k == kind:
                    span = setup.periods.span_by_key(kind, key)
                    if _utc(span.end) > _utc(since):
                        spans.append(span)
    scores = span_totals(setup, ordered, ats, spans)
    await scoring_repo.replace_unit_scores(session, unit_id, scores, now, cleared=since is None)
    return len(scores)


async def rebuild_scores(session: Any, setup: ScoringSetup, unit_id: int, now: datetime) -> int:
    rows = await scoring_repo.live_entries(session, unit_id)
    return await recompute_scores(session, setup, unit_id, [to_entry(r) for r in rows], None, now)
