"""Derivation: events + rules → ledger entries, coefficients applied, and the
incremental derivation and rescoring that rely on entries never looking ahead.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from bot.domain.periods import Periods
from bot.rules.describe import (
    counter,
    event_label,
    history_parts,
    join_reasons,
    num,
    reasons,
    usd_text,
    wan_text,
)
from bot.rules.engine.conditions import (
    _holds,
    _LeadHistory,
    _matches,
    _utc,
    conditions_hold,
    named_hold,
)
from bot.rules.model import MANUAL_RULE_ID, Entry, Event, LeadFacts, lead_code
from bot.rules.schema import (
    AmountStepRule,
    CoefficientRule,
    EventRule,
    PenaltyRule,
    RuleSet,
    ScoringRule,
    ThresholdRule,
    per_event,
)


def event_order(event: Event) -> tuple[datetime, str]:
    """The canonical order: by instant, then by id so equal instants are still ordered."""
    return _utc(event.at), event.id


def entry_order(entry: Entry) -> tuple[int, datetime, str, str, str, Decimal, str]:
    return (
        entry.unit_id,
        _utc(entry.at),
        entry.rule_id,
        entry.source,
        entry.note,
        entry.points,
        entry.module or "",
    )


def derive(
    rules: RuleSet,
    events: Iterable[Event],
    periods: Periods,
    only: Collection[str] | None = None,
) -> list[Entry]:
    """Every derived ledger entry for these events, sorted by :func:`entry_order`.

    Manual adjustments are not derived and never returned; see :func:`rescore`.
    ``only``: the entries of these rules alone (the weekly close derives its weekly rules'
    lines without matching every other rule against the events).
    """
    ordered = _canonical(events)
    history = _LeadHistory(ordered)
    entries: list[Entry] = []
    for rule in rules.scoring_rules:
        if rule.on == "blacklisted" or (only is not None and rule.id not in only):
            continue
        matching = [e for e in ordered if _matches(rules, rule, e, history, periods)]
        entries.extend(_derive_rule(rules, rule, matching, periods))
    if rules.black_list.mode == "streak":
        listed = blacklistings(rules, entries)
        for rule in rules.scoring_rules:
            if rule.on == "blacklisted" and (only is None or rule.id in only):
                matching = [e for e in listed if _matches(rules, rule, e, history, periods)]
                entries.extend(_derive_rule(rules, rule, matching, periods))
    return sorted(entries, key=entry_order)


def blacklistings(rules: RuleSet, entries: Iterable[Entry]) -> list[Event]:
    """Seed 004 二(八)2 "连续两次扣分的单位将纳入黑榜": one ``blacklisted`` event per full streak.

    A unit's entries of the ``deductions`` and ``breaks`` rules, in time order: each deduction
    adds one to the streak, each break ends it; a streak of ``count`` puts the unit on the 黑榜,
    dated at the deduction that completed it, and the count starts again.
    """
    spec = rules.black_list
    deductions, breaks = set(spec.deductions), set(spec.breaks)
    relevant = sorted(
        (e for e in entries if e.rule_id in deductions or e.rule_id in breaks),
        key=lambda e: (e.unit_id, _utc(e.at), e.source, e.rule_id),
    )
    streak: Counter[int] = Counter()
    found: list[Event] = []
    for entry in relevant:
        if entry.rule_id in breaks:
            streak[entry.unit_id] = 0
            continue
        streak[entry.unit_id] += 1
        if streak[entry.unit_id] == spec.count:
            streak[entry.unit_id] = 0
            found.append(
                Event(f"blacklisted:{entry.source}", "blacklisted", entry.unit_id, entry.at)
            )
    return found


def _canonical(events: Iterable[Event]) -> list[Event]:
    """Drop duplicate leads, collapse repeated ids, refuse two different events with one id."""
    by_id: dict[str, Event] = {}
    for event in events:
        if event.lead is not None and event.lead.duplicate:
            continue
        known = by_id.setdefault(event.id, event)
        if known != event:
            raise ValueError(f"two different events share the id {event.id!r}")
    return sorted(by_id.values(), key=event_order)


def _derive_rule(
    rules: RuleSet, rule: ScoringRule, matching: list[Event], periods: Periods
) -> Iterator[Entry]:
    if isinstance(rule, ThresholdRule):
        return _threshold_entries(rules, rule, matching, periods)
    if isinstance(rule, AmountStepRule):
        if rule.per is None:
            return _amount_entries(rules, rule, matching)
        return _accumulated_amount_entries(rules, rule, matching, periods)
    return _event_entries(rules, rule, matching, periods)


def _event_entries(
    rules: RuleSet, rule: EventRule | PenaltyRule, matching: list[Event], periods: Periods
) -> Iterator[Entry]:
    """One entry per event; with per + max_count/from_count only the n-th events of a period."""
    seen: Counter[tuple[int, str]] = Counter()
    for event in matching:
        extra = ""
        if rule.per is not None:
            span = periods.span(rule.per, event.at)
            seen[event.unit_id, span.key] += 1
            n = seen[event.unit_id, span.key]
            if n < (rule.from_count or 1) or (rule.max_count is not None and n > rule.max_count):
                continue
            extra = f"（{span.label()}第 {n} 次）"
        entry = _entry(rule, event, rule.points, _note(rules, rule, event) + extra)
        yield _scaled(rules, rule, event, entry)


def _threshold_entries(
    rules: RuleSet, rule: ThresholdRule, matching: list[Event], periods: Periods
) -> Iterator[Entry]:
    """Dated at the event that completes the count; ``repeat`` scores every full ``count``."""
    seen: Counter[tuple[int, str]] = Counter()
    what = event_label(rules, rule)
    for event in matching:
        span = periods.span(rule.per, event.at)
        seen[event.unit_id, span.key] += 1
        n = seen[event.unit_id, span.key]
        if n % rule.count or (not rule.repeat and n != rule.count):
            continue
        source = f"threshold:{rule.id}:{span.key}"
        note = f"{span.label()}{what}满 {n} {counter(rule)}"
        if rule.repeat:
            source += f"#{n // rule.count}"
            note += f"（第 {n // rule.count} 次）"
        yield Entry(event.unit_id, rule.id, rule.module, rule.points, event.at, source, note)


def _amount_entries(rules: RuleSet, rule: AmountStepRule, matching: list[Event]) -> Iterator[Entry]:
    for event in matching:
        amount = _amount(rule, event)
        steps = _steps(amount, rule.step)
        if amount is None or steps == 0:
            continue
        note = f"{event_label(rules, rule)} {_amount_text(rule, amount)}，{steps} 档"
        entry = _entry(rule, event, steps * rule.points, note)
        yield _scaled(rules, rule, event, entry)


def _accumulated_amount_entries(
    rules: RuleSet, rule: AmountStepRule, matching: list[Event], periods: Periods
) -> Iterator[Entry]:
    """Amounts add up within the period; each event that crosses a step scores the steps it crossed."""
    assert rule.per is not None
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for event in matching:
        amount = _amount(rule, event)
        if amount is None or amount <= 0:
            continue
        span = periods.span(rule.per, event.at)
        before = totals[event.unit_id, span.key]
        after = totals[event.unit_id, span.key] = before + amount
        steps = _steps(after, rule.step) - _steps(before, rule.step)
        if steps:
            total = _amount_text(rule, after)
            note = f"{span.label()}累计{event_label(rules, rule)} {total}，新增 {steps} 档"
            yield _entry(rule, event, steps * rule.points, note)


def _amount(rule: AmountStepRule, event: Event) -> Decimal | None:
    if rule.field == "amount_usd":
        return event.amount_usd
    if rule.field == "amount_wan":
        return event.amount_wan
    if event.lead is None:
        return None
    return event.lead.amount_wan if rule.field == "lead_amount_wan" else event.lead.foreign_usd


def _steps(amount: Decimal | None, step: Decimal) -> int:
    """Full steps only: "每等值2万美元(含)" -- exactly one step counts, a fraction does not."""
    if amount is None or amount <= 0:
        return 0
    return int((amount / step).to_integral_value(rounding=ROUND_FLOOR))


def _amount_text(rule: AmountStepRule, amount: Decimal) -> str:
    return (
        usd_text(amount) if rule.field in ("amount_usd", "lead_foreign_usd") else wan_text(amount)
    )


def _entry(rule: ScoringRule, event: Event, points: Decimal, note: str) -> Entry:
    return Entry(event.unit_id, rule.id, rule.module, points, event.at, event.id, note)


def _note(rules: RuleSet, rule: ScoringRule, event: Event) -> str:
    """签约 L0012（≥1亿元，省外）: what, which lead, and why the conditions held."""
    text = event_label(rules, rule)
    if event.kind == "stage_overdue" and rule.stage is None and event.stage is not None:
        text = f"{event.stage}节点{text}"  # 签约节点未达到时序进度: which node, as a stage-filtered rule says
    if event.lead is None:
        return text
    why = reasons(rule, event.lead)
    if rule.any_of is not None:
        why += reasons(next(c for c in rule.any_of if _holds(c, event.lead)), event.lead)
    why += history_parts(rule, "zh")
    return f"{text} {lead_code(event.lead.lead_id)}{join_reasons(why)}"


# --------------------------------------------------------------------------- #
# Coefficients
# --------------------------------------------------------------------------- #


def _scaled(rules: RuleSet, rule: ScoringRule, event: Event, entry: Entry) -> Entry:
    """Apply the coefficients whose lead conditions hold: the highest one, or all multiplied.

    A coefficient's conditions see the lead's facts only (no stages: ``reached`` and a ``when``
    with a 考核期限 belong on scoring rules).
    """
    lead = event.lead
    if lead is None or not per_event(rule):
        return entry
    applicable = [
        c
        for c in rules.coefficient_rules
        if _targets(c, rule)
        and conditions_hold(c, lead, rules)
        and (c.when is None or named_hold(rules, c.when, lead, event.at))
    ]
    if not applicable:
        return entry
    if rules.coefficients == "highest":
        applicable = [max(applicable, key=lambda c: c.factor)]  # max keeps the first of equals
    points, note = entry.points, entry.note
    for coefficient in applicable:
        points *= coefficient.factor
        note += f" ×{num(coefficient.factor)}（{_coefficient_reason(coefficient, lead)}）"
    return replace(entry, points=points, note=note)


def _targets(coefficient: CoefficientRule, rule: ScoringRule) -> bool:
    if rule.id in (coefficient.apply_to_rules or ()):
        return True
    return rule.module is not None and rule.module in (coefficient.apply_to_modules or ())


def _coefficient_reason(coefficient: CoefficientRule, lead: LeadFacts) -> str:
    why = reasons(coefficient, lead)
    if coefficient.any_of is not None:
        why += reasons(next(c for c in coefficient.any_of if _holds(c, lead)), lead)
    return "，".join(w for w in why if w) or coefficient.name or coefficient.id


# --------------------------------------------------------------------------- #
# Incremental derivation and rescoring
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Changes:
    """What to do to the stored ledger: delete ``removed``, append ``added``."""

    added: list[Entry] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def reconcile(old: Iterable[Entry], new: Iterable[Entry]) -> Changes:
    """The difference between a stored derivation and a fresh one; manual lines are never touched."""
    before = Counter(e for e in old if e.rule_id != MANUAL_RULE_ID)
    after = Counter(e for e in new if e.rule_id != MANUAL_RULE_ID)
    added = sorted((after - before).elements(), key=entry_order)
    removed = sorted((before - after).elements(), key=entry_order)
    return Changes(added, removed)


def derive_incremental(
    rules: RuleSet, event: Event, history: Sequence[Event], periods: Periods
) -> Changes:
    """The ledger change caused by one new (or edited) event.

    A unit's entries depend only on that unit's events, so ``history`` needs
    all of this unit's events (other units' are ignored); an event with the
    same id in ``history`` is the old version of an edited event.  For the
    common case -- the event is the unit's latest -- only additions come
    back; a back-dated event may also move a threshold to an earlier event,
    and the removals say so.  Applying the result to a ledger derived from
    ``history`` gives exactly ``derive(history + [event])``.
    """
    own = [e for e in history if e.unit_id == event.unit_id]
    others = [e for e in own if e.id != event.id]
    return reconcile(derive(rules, own, periods), derive(rules, [*others, event], periods))


def rescore(
    rules: RuleSet, events: Iterable[Event], ledger: Iterable[Entry], periods: Periods
) -> list[Entry]:
    """The whole ledger after a rules change: the manual adjustments as they were, everything else re-derived."""
    manual = [e for e in ledger if e.rule_id == MANUAL_RULE_ID]
    return sorted([*manual, *derive(rules, events, periods)], key=entry_order)
