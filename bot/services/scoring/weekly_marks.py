"""The weekly close's points: the weekly rules' ledger lines of every missing unit at once.

A missing mark is one new ``weekly`` event at the period's deadline. The rules that read
``weekly`` events read nothing else -- a weekly event has no lead, no stage, no activity,
so their conditions, 考核期限 and coefficients cannot depend on anything but the unit's
weekly outcomes -- and no other rule reads a weekly event. So of a unit's ledger only those
rules' lines can change, from the deadline's year on (:func:`window`, as a refresh from the
deadline), and deriving those rules alone from the units' weekly outcomes (one query for
all the units), then reconciling with those rules' live lines (one query), gives exactly
the lines a full refresh of each unit would void and append.

The per-period totals follow incrementally: a negative line never enters a cap (caps pool
positive points only), nor does a positive one in a module no cap covers, so such a line
adds its points to the four spans holding it (week, month, quarter, year) and changes no
other span. Anything else -- a line voided, a positive line under a cap, a 黑榜 streak that
counts weekly lines -- is left to the unit's full refresh: those units are returned.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.rules import MANUAL_RULE_ID, Entry, engine
from bot.services.scoring.events import weekly_events, weekly_from_key
from bot.services.scoring.refresh import _row, _stored, window
from bot.services.scoring.scores import _utc, spans_with_entries, to_entry
from bot.services.scoring.setup import RANK_KINDS, ScoringSetup
from storage import scoring_repo

YIELD_EVERY = 25  # units derived between two turns of the event loop


@dataclass
class WeeklyRefresh:
    """What :func:`refresh_weekly` did: lines appended per unit, and the units it left alone."""

    added: dict[int, list[Entry]] = field(default_factory=dict)
    left: list[int] = field(default_factory=list)  # these need the unit's full refresh


def weekly_rule_ids(setup: ScoringSetup) -> frozenset[str]:
    return frozenset(r.id for r in setup.rules.scoring_rules if r.on == "weekly")


def applies(setup: ScoringSetup) -> bool:
    """False when a 黑榜 streak counts weekly lines: a missing week may then list the unit,
    which depends on its other deductions -- only a full refresh sees those."""
    spec = setup.rules.black_list
    if spec.mode != "streak":
        return True
    return not weekly_rule_ids(setup) & (set(spec.deductions) | set(spec.breaks))


def adds_linearly(setup: ScoringSetup, entry: Entry) -> bool:
    """True when the line changes only the totals of the spans holding it, by its points."""
    if entry.points < 0 or not setup.capped:
        return True
    module = next((m for m in setup.rules.modules if m.id == entry.module), None)
    if module is None:
        return True  # an undeclared module is never capped
    return module.cap is None and all(entry.module not in c.modules for c in setup.rules.caps)


async def refresh_weekly(
    session: Any,
    setup: ScoringSetup,
    unit_ids: Sequence[int],
    since: datetime,
    now: datetime,
) -> WeeklyRefresh:
    """Bring these units' weekly rules' lines and totals in line with their weekly outcomes
    after a change at ``since`` (a period's deadline), in the caller's transaction.

    Only valid when nothing but weekly outcomes changed since the units were last refreshed
    (the close's missing marks). Returns the units it could not do alone (``left``).
    """
    units = sorted(set(unit_ids))
    if not units:
        return WeeklyRefresh()
    if not applies(setup):
        return WeeklyRefresh(left=units)
    rule_ids = weekly_rule_ids(setup)
    await scoring_repo.lock_units(session, units)
    load_from, keep_from = window(setup, since)
    cut = _utc(keep_from)
    outcomes: dict[int, list[Any]] = defaultdict(list)
    from_key = weekly_from_key(setup.periods, load_from)
    for row in await scoring_repo.units_weekly(session, units, from_key):
        outcomes[row.unit_id].append(row)
    stored: dict[int, list[Any]] = defaultdict(list)
    for row in await scoring_repo.live_rule_entries(session, units, rule_ids, cut):
        if not row.manual and row.rule_id != MANUAL_RULE_ID:
            stored[row.unit_id].append(row)
    done = WeeklyRefresh()
    deltas: dict[tuple[int, str, str], Decimal] = defaultdict(Decimal)
    deadlines: dict[str, datetime | None] = {}
    for n, unit_id in enumerate(units, start=1):
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # /rank and the handlers share the event loop
        events = weekly_events(setup.periods, unit_id, outcomes.get(unit_id, ()), deadlines)
        fresh = [
            e
            for e in map(_stored, engine.derive(setup.rules, events, setup.periods, rule_ids))
            if e.at >= cut
        ]
        changes = engine.reconcile((to_entry(r) for r in stored.get(unit_id, ())), fresh)
        if changes.removed or not all(adds_linearly(setup, e) for e in changes.added):
            done.left.append(unit_id)
            continue
        if changes.added:
            done.added[unit_id] = list(changes.added)
            for entry in changes.added:
                for kind in RANK_KINDS:
                    span = spans_with_entries(setup, [_utc(entry.at)], kind)[0]
                    deltas[unit_id, kind, span.key] += entry.points
    rows = [_row(e, now) for added in done.added.values() for e in added]
    await scoring_repo.append_entries(session, rows)
    if deltas:
        await scoring_repo.add_to_unit_scores(session, dict(deltas), now)
    return done
