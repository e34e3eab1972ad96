"""Conditions: whether a rule's filters hold for a lead at an instant (named
conditions, windows, the stages a lead has reached, the out-of-county share), read
from the lead's history up to that instant only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from bot.domain.periods import Periods
from bot.rules.model import Event, LeadFacts
from bot.rules.schema import (
    CoefficientRule,
    Conditions,
    NamedConditions,
    RuleSet,
    ScoringRule,
)

ZERO = Decimal(0)


def _utc(t: datetime) -> datetime:
    """A naive time would be read in the server's zone and silently reorder the ledger: refuse it."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"aware datetime required, got naive {t.isoformat()}")
    return t.astimezone(UTC)


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
    if lead is not None:
        lead = _tax_in_window(named, lead)
    if lead is None or not _holds(named, lead, rules):
        return False
    if named.any_of is not None and not any(_holds(c, lead, rules) for c in named.any_of):
        return False
    return within_window(named, lead, at)


def _tax_in_window(named: NamedConditions, lead: LeadFacts) -> LeadFacts:
    """With a 考核期限, the tax a condition reads is what was paid since the window opened
    (the records are already only those up to the event); before it opens, nothing."""
    if named.window_from is None or not lead.tax_paid:
        return lead
    start = lead.reached_at(named.window_from)
    paid = [amount for at, amount in lead.tax_paid if start is not None and _utc(at) >= _utc(start)]
    return replace(lead, tax_wan=sum(paid, ZERO) if paid else None)


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
