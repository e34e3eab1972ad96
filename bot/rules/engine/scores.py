"""Scores: ledger entries + caps → a unit's score over a span, per module and cap
group (see the package docstring for how a cap's period meets a shorter span).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.domain.periods import Periods, Span
from bot.rules.engine.conditions import ZERO
from bot.rules.model import Entry
from bot.rules.schema import (
    RuleSet,
)


@dataclass(frozen=True)
class ModuleScore:
    """``capped`` applies the module's own cap only; a shared cap is reported in ``UnitScore.groups``."""

    module: str
    name: str
    raw: Decimal
    capped: Decimal


@dataclass(frozen=True)
class GroupScore:
    label: str
    modules: tuple[str, ...]
    raw: Decimal  # the members' points after their own caps
    capped: Decimal


@dataclass(frozen=True)
class CapHit:
    """A cap that cut points in the span, for one of the cap's own periods."""

    label: str
    modules: tuple[str, ...]
    cap: Decimal
    per: str
    period_key: str
    raw: Decimal
    capped: Decimal


@dataclass(frozen=True)
class UnitScore:
    unit_id: int
    total: Decimal
    raw: Decimal
    modules: Mapping[str, ModuleScore]
    groups: tuple[GroupScore, ...]
    by_rule: Mapping[str, Decimal]
    caps_hit: tuple[CapHit, ...]


@dataclass(frozen=True)
class UnitScores:
    """Scores of the units that have entries in ``[start, end)``; others score zero."""

    start: datetime
    end: datetime
    units: Mapping[int, UnitScore]

    def get(self, unit_id: int) -> UnitScore:
        return self.units.get(unit_id) or UnitScore(unit_id, ZERO, ZERO, {}, (), {}, ())

    def total(self, unit_id: int) -> Decimal:
        return self.get(unit_id).total


@dataclass(frozen=True)
class _Pool:
    """A module (leaf, its positive entries) or a cap group (children); cap None means uncapped."""

    label: str
    modules: tuple[str, ...]
    cap: Decimal | None
    per: str
    points: tuple[tuple[datetime, Decimal], ...] = ()
    children: tuple[_Pool, ...] = ()

    @property
    def times(self) -> Iterator[datetime]:
        yield from (t for t, _ in self.points)
        for child in self.children:
            yield from child.times


def history_start(rules: RuleSet, span_start: datetime, periods: Periods) -> datetime:
    """How far back :func:`score` needs entries: the start of the longest cap period containing the span's start."""
    pers = {m.per for m in rules.modules if m.cap is not None} | {c.per for c in rules.caps}
    return min([span_start, *(periods.span(per, span_start).start for per in pers)])


def timed_modules(rules: RuleSet) -> frozenset[str]:
    """The modules whose positive lines' instants :func:`score` reads: those a cap fills (their
    own or a shared one). Every other line counts by its sum in the span alone, so a reader may
    hand the engine one summed entry per rule, module and sign for those."""
    return frozenset(
        {m.id for m in rules.modules if m.cap is not None}
        | {m for cap in rules.caps for m in cap.modules}
    )


def score(
    rules: RuleSet,
    entries: Iterable[Entry],
    span_start: datetime,
    span_end: datetime,
    periods: Periods,
) -> UnitScores:
    """Scores for ``[span_start, span_end)``, entries before the span only filling caps.

    Pass every entry from :func:`history_start` on (earlier ones are ignored
    by the caps anyway) up to ``span_end``.  Manual entries count like any
    other and fill their module's cap.
    """
    by_unit: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.at < span_end:
            by_unit[entry.unit_id].append(entry)
    span_of = _SpanOf(periods)
    units = {
        unit: _unit_score(rules, unit, unit_entries, span_start, span_end, span_of)
        for unit, unit_entries in sorted(by_unit.items())
        if any(span_start <= e.at for e in unit_entries)
    }
    return UnitScores(span_start, span_end, units)


def score_span(
    rules: RuleSet, entries: Iterable[Entry], span: Span, periods: Periods
) -> UnitScores:
    """Score a :class:`Span`; a week is ``(start, deadline]``, which is ``[start+1µs, deadline+1µs)``."""
    if span.kind == "week":
        tick = timedelta(microseconds=1)
        return score(rules, entries, span.start + tick, span.end + tick, periods)
    return score(rules, entries, span.start, span.end, periods)


class _SpanOf:
    """periods.span, remembered: caps look up the period of the same instants many times over."""

    def __init__(self, periods: Periods) -> None:
        self._periods = periods
        self._known: dict[tuple[str, datetime], Span] = {}

    def __call__(self, per: str, t: datetime) -> Span:
        key = (per, t)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = self._periods.span(per, t)
        return found


def _unit_score(
    rules: RuleSet,
    unit: int,
    entries: list[Entry],
    start: datetime,
    end: datetime,
    span_of: _SpanOf,
) -> UnitScore:
    inside = [e for e in entries if start <= e.at]
    leaves = _leaves(rules, entries)
    tops, groups = _tops(rules, leaves)
    uncapped = sum((e.points for e in inside if e.points > 0 and e.module not in leaves), ZERO)
    negatives = sum((e.points for e in inside if e.points < 0), ZERO)
    total = uncapped + negatives + sum((_outflow(p, start, end, span_of) for p in tops), ZERO)
    by_rule: dict[str, Decimal] = defaultdict(Decimal)
    for entry in inside:
        by_rule[entry.rule_id] += entry.points
    return UnitScore(
        unit_id=unit,
        total=total,
        raw=sum((e.points for e in inside), ZERO),
        modules=_module_scores(rules, inside, leaves, start, end, span_of),
        groups=tuple(
            GroupScore(
                g.label,
                g.modules,
                _inflow(g, start, end, span_of),
                _outflow(g, start, end, span_of),
            )
            for g in groups
        ),
        by_rule=dict(sorted(by_rule.items())),
        caps_hit=tuple(
            hit for pool in [*leaves.values(), *groups] for hit in _hits(pool, start, end, span_of)
        ),
    )


def _leaves(rules: RuleSet, entries: list[Entry]) -> dict[str, _Pool]:
    """One pool per declared module, holding its positive entries; unknown modules stay uncapped."""
    return {
        m.id: _Pool(
            m.name,
            (m.id,),
            m.cap,
            m.per,
            tuple((e.at, e.points) for e in entries if e.module == m.id and e.points > 0),
        )
        for m in rules.modules
    }


def _tops(rules: RuleSet, leaves: dict[str, _Pool]) -> tuple[list[_Pool], list[_Pool]]:
    """The pools whose outflow makes the total: cap groups, and modules in no group."""
    groups = [
        _Pool(
            cap.name or "、".join(leaves[m].label for m in cap.modules),
            cap.modules,
            cap.cap,
            cap.per,
            children=tuple(leaves[m] for m in cap.modules),
        )
        for cap in rules.caps
    ]
    grouped = {m for cap in rules.caps for m in cap.modules}
    return [*groups, *(leaf for module, leaf in leaves.items() if module not in grouped)], groups


def _module_scores(
    rules: RuleSet,
    inside: list[Entry],
    leaves: dict[str, _Pool],
    start: datetime,
    end: datetime,
    span_of: _SpanOf,
) -> dict[str, ModuleScore]:
    scores: dict[str, ModuleScore] = {}
    for module in sorted({e.module for e in inside if e.module is not None}):
        own = [e for e in inside if e.module == module]
        negatives = sum((e.points for e in own if e.points < 0), ZERO)
        raw = sum((e.points for e in own), ZERO)
        leaf = leaves.get(module)
        capped = raw if leaf is None else _outflow(leaf, start, end, span_of) + negatives
        scores[module] = ModuleScore(module, leaf.label if leaf else module, raw, capped)
    return scores


def _inflow(pool: _Pool, a: datetime, b: datetime, span_of: _SpanOf) -> Decimal:
    """Points flowing into the pool during [a, b), before its own cap."""
    if not pool.children:
        return sum((p for t, p in pool.points if a <= t < b), ZERO)
    return sum((_outflow(child, a, b, span_of) for child in pool.children), ZERO)


def _outflow(pool: _Pool, a: datetime, b: datetime, span_of: _SpanOf) -> Decimal:
    """Points the pool passes on during [a, b): per cap period, capped(to b) − capped(to a)."""
    if pool.cap is None:
        return _inflow(pool, a, b, span_of)
    total = ZERO
    for span in _spans(pool, a, b, span_of):
        total += _clipped(pool, span, a, b, span_of)[1]
    return total


def _clipped(
    pool: _Pool, span: Span, a: datetime, b: datetime, span_of: _SpanOf
) -> tuple[Decimal, Decimal]:
    """(raw, capped) inflow of one cap period's part inside [a, b)."""
    assert pool.cap is not None
    lo, hi = max(a, span.start), min(b, span.end)
    before = _inflow(pool, span.start, lo, span_of)
    upto = _inflow(pool, span.start, hi, span_of)
    return upto - before, min(upto, pool.cap) - min(before, pool.cap)


def _spans(pool: _Pool, a: datetime, b: datetime, span_of: _SpanOf) -> list[Span]:
    """The pool's cap periods that receive points inside [a, b); the others contribute nothing."""
    found = {span.key: span for span in (span_of(pool.per, t) for t in pool.times if a <= t < b)}
    return [found[key] for key in sorted(found)]


def _hits(pool: _Pool, start: datetime, end: datetime, span_of: _SpanOf) -> Iterator[CapHit]:
    if pool.cap is None:
        return
    for span in _spans(pool, start, end, span_of):
        raw, capped = _clipped(pool, span, start, end, span_of)
        if capped < raw:
            yield CapHit(pool.label, pool.modules, pool.cap, pool.per, span.key, raw, capped)
