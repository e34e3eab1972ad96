"""Refresh: re-derive a unit's entries, void the ledger lines that no longer hold and
append the new ones (never an update, never a delete), then recompute its scores.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.assembly.config import Settings
from bot.domain.periods import Periods
from bot.rules import (
    MANUAL_RULE_ID,
    Entry,
    RuleSet,
    engine,
)
from bot.services.scoring.events import collect_unit
from bot.services.scoring.scores import _TICK, _UTC, _utc, recompute_scores, to_entry
from bot.services.scoring.setup import RANK_KINDS, ScoringSetup, setup_for
from storage import scoring_repo

QUANTUM = Decimal("0.0001")  # the ledger keeps 4 decimals; compare what is stored


@dataclass
class RefreshResult:
    unit_id: int
    added: list[Entry] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)

    @property
    def delta(self) -> Decimal:
        return sum((e.points for e in self.added), Decimal(0)) - sum(
            (e.points for e in self.removed), Decimal(0)
        )


def _stored(entry: Entry) -> Entry:
    """The entry as the ledger will give it back (4 decimals, UTC), so equal means equal."""
    return replace(entry, points=entry.points.quantize(QUANTUM), at=entry.at.astimezone(_UTC))


def window(setup: ScoringSetup, since: datetime) -> tuple[datetime, datetime]:
    """(load events from, keep entries from) for a change at ``since``.

    Rules count and accumulate within periods no longer than a year, and every
    calendar period nests in its year; a week may start in the year before. So
    the entries dated from the start of ``since``'s year on depend only on the
    events from the start of that year's first week on (plus each lead's own
    history, which is loaded whole), and the entries before it cannot change.
    """
    year = setup.periods.span("year", since).start
    week = setup.periods.span("week", year).start
    return min(week, year), year


async def refresh_unit(
    session: Any,
    unit_id: int,
    rules: RuleSet | ScoringSetup,
    periods: Periods | None,
    now: datetime,
    *,
    reason: str = "refresh",
    full_scores: bool = False,
    since: datetime | None = None,
) -> RefreshResult:
    """Bring one unit's derived ledger lines and scores in line with its events, in the caller's transaction.

    ``since``: the caller knows its change affects nothing before that instant (a
    new lead report: now), so only the year from there on is derived again --
    the cost of a report no longer grows with the unit's whole history.
    """
    setup = (
        rules
        if isinstance(rules, ScoringSetup)
        else _with(setup_for(Settings.model_construct()), rules, periods)
    )
    await scoring_repo.lock_unit(session, unit_id)
    load_from, keep_from = (
        window(setup, since) if since is not None and not full_scores else (None, None)
    )
    history = await collect_unit(session, unit_id, setup, load_from, now=now)
    fresh = [_stored(e) for e in engine.derive(setup.rules, history.events, setup.periods)]
    floor = None if keep_from is None else _utc(history_floor(setup, keep_from))
    rows = await scoring_repo.live_entries(session, unit_id, floor)
    if keep_from is not None:
        cut = _utc(keep_from)
        fresh = [e for e in fresh if e.at >= cut]
        kept = [
            r for r in rows if _utc(r.at) < cut
        ]  # before the window: untouched, still count in scores
        rows = [r for r in rows if _utc(r.at) >= cut]
    else:
        kept = []
    derived_rows = [r for r in rows if not r.manual and r.rule_id != MANUAL_RULE_ID]
    changes = engine.reconcile((to_entry(r) for r in derived_rows), fresh)
    result = RefreshResult(unit_id, list(changes.added), list(changes.removed))
    if changes.removed:
        ids_by_entry: dict[Entry, list[int]] = defaultdict(list)
        for r in derived_rows:
            ids_by_entry[to_entry(r)].append(r.id)
        doomed = [ids_by_entry[e].pop() for e in changes.removed]
        await scoring_repo.void_entries(session, doomed, now, reason)
    await scoring_repo.append_entries(session, [_row(e, now) for e in changes.added])
    if changes or full_scores:
        live = [to_entry(r) for r in rows if r.manual or r.rule_id == MANUAL_RULE_ID]
        live += fresh
        live += [to_entry(r) for r in kept]
        touched = [e.at for e in (*changes.added, *changes.removed)]
        since = None if full_scores or not touched else min(touched)
        await recompute_scores(session, setup, unit_id, live, since, now)
    return result


def history_floor(setup: ScoringSetup, cut: datetime) -> datetime:
    """The earliest instant the scores of the spans ending after ``cut`` read (their caps' history).

    A refresh that keeps the entries before ``cut`` recomputes only spans ending after a change at
    or after ``cut``; the earliest of them starts no earlier than the span of each kind holding
    ``cut``, and reads back to :func:`engine.history_start` of it. Lines older than that are not
    loaded: a unit's five years of ledger stay in the database.
    """
    starts = [
        setup.periods.span(kind, cut).start + (_TICK if kind == "week" else timedelta(0))
        for kind in RANK_KINDS
    ]
    return min(
        min(engine.history_start(setup.rules, s, setup.periods) for s in starts),
        cut - timedelta(days=8),
    )


def _with(base: ScoringSetup, rules: RuleSet, periods: Periods | None) -> ScoringSetup:
    if rules is base.rules and (periods is None or periods is base.periods):
        return base
    return replace(base, rules=rules, periods=periods or base.periods, fingerprint="")


def _row(
    entry: Entry, now: datetime, *, manual: bool = False, by: int | None = None
) -> dict[str, Any]:
    return {
        "unit_id": entry.unit_id,
        "rule_id": entry.rule_id,
        "module": entry.module,
        "points": entry.points,
        "at": entry.at,
        "source": entry.source[:200],
        "note": entry.note,
        "manual": manual,
        "created_at": now,
        "created_by": by,
        "voided_at": None,
        "void_reason": None,
    }


async def refresh_after(
    session: Any,
    unit_id: int | None,
    now: datetime,
    setup: ScoringSetup | Settings,
    *,
    since: datetime | None = None,
) -> None:
    """The one-line hook for other services: the unit's events changed, bring its points along.

    ``setup``: the rules in force (``Services.scoring``); given settings, the setup built from them.

    ``since``: only when the change cannot touch anything earlier (a brand-new event at ``now``).
    """
    if unit_id is None:
        return
    if isinstance(setup, Settings):
        setup = setup_for(setup)
    await refresh_unit(session, unit_id, setup, None, now, since=since)
