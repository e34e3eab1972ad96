"""Running totals: one unit's capped score from its first entry up to many instants, in one
ordered sweep over its entries.

:func:`~bot.rules.engine.scores.score` of a span is "capped cumulative period-to-date at the
span's end minus the same at its start" for every capped pool (see the package docstring), so
a span's total is ``T(end) − T(start)`` of one cumulative function ``T``: the points passed on by
every pool (module or cap group) before an instant, plus the uncapped positive and all the
negative points before it. Scoring every week, month, quarter and year of five years one span
at a time re-read each span's caps' history (from the start of the longest cap period):
quadratic in a unit's ledger. The sweep walks the entries once, keeping each capped pool's
running state (finished periods passed on, the current period's inflow), and reads ``T`` at
each instant asked.

The two agree exactly: caps run per calendar period (half-month, month, quarter, year), which
nest, so a span's difference only depends on the entries from the start of the longest cap
period holding the span's start on -- where :func:`score`'s history starts. Decimal sums of
four-decimal points are exact, so the order of the additions does not change a digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain.periods import Periods
from bot.rules.engine.conditions import ZERO
from bot.rules.model import Entry
from bot.rules.schema import RuleSet


@dataclass
class _Capped:
    """A capped pool's state: what its finished periods passed on, its current period's inflow."""

    cap: Decimal
    per: str
    end: datetime | None = None  # the current cap period's end (UTC); None before any point
    inflow: Decimal = ZERO

    def take(self, at: datetime, amount: Decimal, periods: Periods) -> Decimal:
        """Points in at ``at`` (UTC, never earlier than the last): what the pool passes on of them."""
        if self.end is None or at >= self.end:
            self.end = periods.span(self.per, at).end.astimezone(UTC)
            self.inflow = ZERO  # the period before passed on min(inflow, cap) already
        before = min(self.inflow, self.cap)
        self.inflow += amount
        return min(self.inflow, self.cap) - before


@dataclass(frozen=True)
class _Route:
    """Where a module's positive points go: its own cap (if any), then its cap groups, or
    straight into the total when it is in none."""

    own: _Capped | None
    groups: tuple[_Capped, ...]


def _routes(rules: RuleSet) -> dict[str, _Route]:
    groups = [(cap.modules, _Capped(cap.cap, cap.per)) for cap in rules.caps]
    return {
        m.id: _Route(
            None if m.cap is None else _Capped(m.cap, m.per),
            tuple(state for modules, state in groups if m.id in modules),
        )
        for m in rules.modules
    }


def running_totals(
    rules: RuleSet,
    entries: Sequence[Entry],
    instants: Sequence[datetime],
    periods: Periods,
    ats: Sequence[datetime] | None = None,
) -> list[Decimal]:
    """``T(t)`` for each of ``instants`` (UTC, ascending): the capped score of the entries dated
    before ``t`` (``entries`` ascending by instant, one unit's; ``ats``: their UTC instants, if
    the caller has them). A span ``[a, b)`` scores ``T(b) − T(a)``, as
    :func:`~bot.rules.engine.scores.score` gives it."""
    routes = _routes(rules)
    if ats is None:
        ats = [e.at.astimezone(UTC) for e in entries]
    out: list[Decimal] = []
    total = ZERO
    i, n = 0, len(entries)
    for t in instants:
        while i < n and ats[i] < t:
            total += _passed(routes, entries[i], ats[i], periods)
            i += 1
        out.append(total)
    return out


def _passed(routes: dict[str, _Route], entry: Entry, at: datetime, periods: Periods) -> Decimal:
    """What one entry adds to the total: a penalty in full, positive points through their caps."""
    route = routes.get(entry.module or "") if entry.points > 0 else None
    if route is None:  # negative or nought, or a module no cap knows: counts as it is
        return entry.points
    passed = entry.points if route.own is None else route.own.take(at, entry.points, periods)
    if not route.groups:
        return passed
    return sum((group.take(at, passed, periods) for group in route.groups), ZERO)
