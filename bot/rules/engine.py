"""The scoring engine: events + rules → ledger entries, entries + caps → scores.

Pure functions, no clock and no I/O.  Two promises shape the code:

* **Derivation is a function of the events.**  ``derive`` sorts the events
  into one canonical order -- (instant, id) -- before reading them, so the
  same events in any order give the same entries, and rescoring every event
  under new rules gives exactly what incremental derivation would have.
* **No entry looks into the future.**  Every entry is dated at the event
  that completed it (the second lead of a quarter, the dollar that crossed a
  step) and depends only on the same unit's events at or before that instant.
  So ``derive(events)`` restricted to entries up to T equals
  ``derive(events up to T)``, and a new event can only change entries dated
  at or after it.  :func:`derive_incremental` relies on this.

Duplicate leads (first report wins, 首报认定) are dropped before any rule sees
them: they score nothing and count towards no threshold, under every rule.

Scores (:func:`score`) apply caps per the cap's own period.  For a span
shorter than that period the capped amount is "cap-limited cumulative
period-to-date at the span's end minus the same just before the span's
start", so the months of a year add up to the year.  Only positive points
fill a cap; negative points (penalties, negative adjustments) always count
in full.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from bot.periods import Periods, Span
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
from bot.rules.model import MANUAL_RULE_ID, Entry, Event, LeadFacts, lead_code
from bot.rules.schema import (
    AmountStepRule,
    CoefficientRule,
    Conditions,
    EventRule,
    NamedConditions,
    PenaltyRule,
    RuleSet,
    ScoringRule,
    ThresholdRule,
    per_event,
)

__all__ = [
    "CapHit",
    "Changes",
    "GroupScore",
    "ModuleScore",
    "UnitScore",
    "UnitScores",
    "derive",
    "derive_incremental",
    "entry_order",
    "event_order",
    "history_start",
    "reconcile",
    "rescore",
    "score",
    "score_span",
]

ZERO = Decimal(0)


# --------------------------------------------------------------------------- #
# Derivation
# --------------------------------------------------------------------------- #


def _utc(t: datetime) -> datetime:
    """A naive time would be read in the server's zone and silently reorder the ledger: refuse it."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"aware datetime required, got naive {t.isoformat()}")
    return t.astimezone(UTC)


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


def derive(rules: RuleSet, events: Iterable[Event], periods: Periods) -> list[Entry]:
    """Every derived ledger entry for these events, sorted by :func:`entry_order`.

    Manual adjustments are not derived and never returned; see :func:`rescore`.
    """
    ordered = _canonical(events)
    history = _LeadHistory(ordered)
    entries: list[Entry] = []
    for rule in rules.scoring_rules:
        if rule.on == "blacklisted":
            continue
        matching = [e for e in ordered if _matches(rules, rule, e, history, periods)]
        entries.extend(_derive_rule(rules, rule, matching, periods))
    if rules.black_list.mode == "streak":
        listed = blacklistings(rules, entries)
        for rule in rules.scoring_rules:
            if rule.on == "blacklisted":
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


class _LeadHistory:
    """When each lead reached or missed each stage, for on_time and prior_stage."""

    def __init__(self, ordered: Sequence[Event]) -> None:
        self._reached: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        self._overdue: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        for event in ordered:
            if event.lead is None or event.stage is None:
                continue
            key = (event.lead.lead_id, event.stage)
            if event.kind == "stage_reached":
                self._reached[key].append(event.at)
            elif event.kind == "stage_overdue":
                self._overdue[key].append(event.at)

    def overdue_by(self, lead_id: int, stage: str, t: datetime) -> bool:
        return any(at <= t for at in self._overdue.get((lead_id, stage), ()))

    def reached_by(self, lead_id: int, stage: str, t: datetime) -> list[datetime]:
        return [at for at in self._reached.get((lead_id, stage), ()) if at <= t]


def _matches(
    rules: RuleSet, rule: ScoringRule, event: Event, history: _LeadHistory, periods: Periods
) -> bool:
    if event.kind != rule.on:
        return False
    filters = (
        (rule.stage, event.stage),
        (rule.activity, event.activity),
        (rule.status, event.status),
    )
    if any(wanted is not None and wanted != actual for wanted, actual in filters):
        return False
    if rules.only_verified(rule) and not _verified(event):
        return False
    lead = (
        _staged(rules, event.lead, history, event.at) if _needs_stages(rules, rule) else event.lead
    )
    if not conditions_hold(rule, lead, rules):
        return False
    if rule.when is not None and not named_hold(rules, rule.when, lead, event.at):
        return False
    return _history_holds(rule, event, history, periods)


def _needs_stages(rules: RuleSet, rule: ScoringRule | CoefficientRule) -> bool:
    if rule.reached is not None or any(c.reached is not None for c in rule.any_of or ()):
        return True
    if rule.when is None:
        return False
    named = rules.conditions[rule.when]
    return (
        named.reached is not None
        or named.window_from is not None
        or any(c.reached is not None for c in named.any_of or ())
    )


def _staged(
    rules: RuleSet, lead: LeadFacts | None, history: _LeadHistory, t: datetime
) -> LeadFacts | None:
    """The lead with the stages it had reached by ``t``: a later stage counts for the earlier ones."""
    if lead is None:
        return None
    first: dict[str, datetime] = {}
    earliest: datetime | None = None
    known = {name: at for name, at in lead.reached if _utc(at) <= _utc(t)}
    for name in reversed(rules.stages):
        times = history.reached_by(lead.lead_id, name, t) + ([known[name]] if name in known else [])
        if times:
            earliest = min([*times, *([earliest] if earliest else [])], key=_utc)
        if earliest is not None:
            first[name] = earliest
    reached = tuple(sorted(first.items(), key=lambda p: _utc(p[1])))
    return replace(lead, reached=reached) if reached != lead.reached else lead


def named_hold(rules: RuleSet, name: str, lead: LeadFacts | None, at: datetime) -> bool:
    """A ``[conditions.<name>]`` set: its conditions, one of its alternatives, its 考核期限."""
    named = rules.conditions[name]
    if lead is None or not _holds(named, lead, rules):
        return False
    if named.any_of is not None and not any(_holds(c, lead, rules) for c in named.any_of):
        return False
    return within_window(named, lead, at)


def within_window(named: NamedConditions, lead: LeadFacts, at: datetime) -> bool:
    """考核期限 (seed 004 二(七)): the event falls within the lead's months from ``window_from``."""
    if named.window_from is None or not named.windows:
        return True
    start = lead.reached_at(named.window_from)
    if start is None:
        return False  # not decided yet: the assessment has not started
    months = next(
        w.months for w in named.windows if w.below_wan is None or lead.amount_wan < w.below_wan
    )
    return _utc(at) < _add_months(_utc(start), months)


def _add_months(t: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    import calendar

    index = t.month - 1 + months
    year, month = t.year + index // 12, index % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def _verified(event: Event) -> bool:
    """An activity is verified as a record; anything about a lead, by the lead's verification."""
    if event.kind == "activity":
        return event.verified
    return event.lead.verified if event.lead is not None else True


def conditions_hold(
    rule: ScoringRule | CoefficientRule, lead: LeadFacts | None, rules: RuleSet | None = None
) -> bool:
    """All of the rule's own conditions, and one of its any_of alternatives if it has them."""
    if not rule.lead_conditions() and rule.any_of is None:
        return True
    if lead is None:
        return False
    if not _holds(rule, lead, rules):
        return False
    return rule.any_of is None or any(_holds(c, lead, rules) for c in rule.any_of)


def outside_share(lead: LeadFacts, rules: RuleSet | None = None) -> Decimal:
    """县外投资比例: as recorded; unrecorded, 0 % for a local investor and 100 % for any other."""
    if lead.outside_share is not None:
        return lead.outside_share
    local = rules.local_origins if rules is not None else ("本地",)
    return ZERO if lead.origin in local else Decimal(100)


def _holds(c: Conditions, lead: LeadFacts, rules: RuleSet | None = None) -> bool:
    """Amount bounds tile: min is inclusive (含), max exclusive, as the seeds write 以上 / 以下."""
    if c.tags_none is not None and lead.tags.intersection(c.tags_none):
        return False
    if c.min_outside_share is not None and outside_share(lead, rules) < c.min_outside_share:
        return False
    if c.min_tax_wan is not None and (lead.tax_wan is None or lead.tax_wan < c.min_tax_wan):
        return False
    if c.reached is not None and c.reached not in lead.stages:
        return False
    if c.min_amount_wan is not None and lead.amount_wan < c.min_amount_wan:
        return False
    if c.max_amount_wan is not None and lead.amount_wan >= c.max_amount_wan:
        return False
    if c.min_foreign_usd is not None and (
        lead.foreign_usd is None or lead.foreign_usd < c.min_foreign_usd
    ):
        return False
    if c.origins is not None and lead.origin not in c.origins:
        return False
    if c.tags_any is not None and not lead.tags.intersection(c.tags_any):
        return False
    if c.tags_all is not None and not lead.tags.issuperset(c.tags_all):
        return False
    return c.industries is None or lead.industry in c.industries


def _history_holds(
    rule: ScoringRule, event: Event, history: _LeadHistory, periods: Periods
) -> bool:
    """on_time / prior_stage look only at the lead's earlier events, never later ones."""
    if not rule.on_time and rule.prior_stage is None:
        return True
    if event.lead is None:
        return False
    lead_id = event.lead.lead_id
    if rule.on_time and (event.stage is None or history.overdue_by(lead_id, event.stage, event.at)):
        return False
    if rule.prior_stage is None:
        return True
    reached = history.reached_by(lead_id, rule.prior_stage, event.at)
    if rule.prior_within is None:
        return bool(reached)
    key = periods.span(rule.prior_within, event.at).key
    return any(periods.span(rule.prior_within, at).key == key for at in reached)


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


# --------------------------------------------------------------------------- #
# Scores
# --------------------------------------------------------------------------- #


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
