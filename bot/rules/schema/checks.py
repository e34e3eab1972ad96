"""Whole-file checks: what pydantic cannot see field by field (references between
rules, modules and caps, duplicate ids, stage and activity names, seed 004's limits).
Run by :class:`~bot.rules.schema.models.RuleSet`'s validator.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.rules.model import MANUAL_RULE_ID
from bot.rules.schema.models import (
    AmountStepRule,
    CoefficientRule,
    EventRule,
    PenaltyRule,
    RuleSet,
    ScoringRule,
    per_event,
)
from bot.rules.schema.problems import Problem

_STAGE_EVENTS = ("stage_reached", "stage_overdue")
_AMOUNT_EVENTS = {"amount_usd": ("activity",), "amount_wan": ("funds",)}


def _reference_problems(rs: RuleSet) -> list[Problem]:
    """Everything a single field cannot know: ids, references, names, combinations."""
    problems = list(_id_problems(rs))
    modules = {m.id for m in rs.modules}
    for i, rule in enumerate(rs.rules):
        loc = ("rules", i)
        if isinstance(rule, CoefficientRule):
            problems += [Problem(loc + k, m) for k, m in _coefficient_problems(rs, rule, modules)]
        else:
            problems += [Problem(loc + k, m) for k, m in _scoring_problems(rs, rule, modules)]
    problems += _cap_problems(rs, modules)
    problems += _deadline_problems(rs)
    problems += _seed004_problems(rs)
    return problems


def _seed004_problems(rs: RuleSet) -> Iterator[Problem]:
    """Named conditions, the 黑榜 streak and confirmed nodes must name things the file has."""
    for name, named in rs.conditions.items():
        for key in ("reached", "window_from"):
            value = getattr(named, key)
            if value is not None and value not in rs.stages:
                yield Problem(
                    ("conditions", name, key), f'unknown stage "{value}"{_known(rs.stages)}'
                )
        for j, alt in enumerate(named.any_of or ()):
            if alt.reached is not None and alt.reached not in rs.stages:
                yield Problem(
                    ("conditions", name, "any_of", j, "reached"),
                    f'unknown stage "{alt.reached}"{_known(rs.stages)}',
                )
        if (named.window_from is None) != (named.windows is None):
            yield Problem(
                ("conditions", name, "windows"),
                "window_from and windows go together (考核期限: from which stage, how many months)",
            )
        if named.windows and named.windows[-1].below_wan is not None:
            yield Problem(
                ("conditions", name, "windows"),
                "the last window needs no below_wan: it is for every larger project",
            )
    scoring_ids = {r.id for r in rs.scoring_rules}
    for key in ("deductions", "breaks"):
        for rule_id in getattr(rs.black_list, key):
            if rule_id not in scoring_ids:
                yield Problem(("black_list", key), f'unknown rule "{rule_id}"')
    if rs.black_list.mode == "streak" and not rs.black_list.deductions:
        yield Problem(
            ("black_list", "deductions"),
            'mode = "streak" needs the deduction rules that count, e.g. ["sched_overdue"]',
        )
    for stage in rs.confirm_stages:
        if stage not in rs.stages:
            yield Problem(("confirm_stages",), f'unknown stage "{stage}"{_known(rs.stages)}')
    for i, rule in enumerate(rs.rules):
        if rule.when is not None and rule.when not in rs.conditions:
            yield Problem(
                ("rules", i, "when"),
                f'unknown condition set "{rule.when}"{_known(rs.conditions)}; add it under [conditions.{rule.when}]',
            )
        if rule.reached is not None and rule.reached not in rs.stages:
            yield Problem(
                ("rules", i, "reached"), f'unknown stage "{rule.reached}"{_known(rs.stages)}'
            )
        if isinstance(rule, CoefficientRule) or rule.on != "blacklisted":
            continue
        if rs.black_list.mode != "streak":
            yield Problem(
                ("rules", i, "on"),
                '"blacklisted" events come only with [black_list] mode = "streak"',
            )
        if rule.lead_conditions() or rule.any_of is not None or rule.when is not None:
            yield Problem(
                ("rules", i, "on"),
                "a blacklisted event is about a unit, not a lead: remove the lead conditions",
            )


def _deadline_problems(rs: RuleSet) -> Iterator[Problem]:
    """Each deadline names a stage that has a next stage: the node that becomes overdue."""
    for stage in rs.stage_deadlines:
        loc = ("stage_deadlines", stage)
        if stage not in rs.stages:
            yield Problem(loc, f'unknown stage "{stage}"{_known(rs.stages)}')
        elif rs.next_stage(stage) is None:
            yield Problem(
                loc,
                f'"{stage}" is the last stage: there is no later stage to reach in time; remove it',
            )


def _id_problems(rs: RuleSet) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, rule in enumerate(rs.rules):
        if rule.id == MANUAL_RULE_ID:
            yield Problem(
                ("rules", i, "id"),
                f'"{MANUAL_RULE_ID}" is reserved for leaders\' manual adjustments',
            )
        elif rule.id in seen:
            yield Problem(
                ("rules", i, "id"),
                f'duplicate rule id "{rule.id}" (also rule #{seen[rule.id] + 1})',
            )
        seen.setdefault(rule.id, i)
    module_ids: set[str] = set()
    for i, module in enumerate(rs.modules):
        if module.id in module_ids:
            yield Problem(("modules", i, "id"), f'duplicate module id "{module.id}"')
        module_ids.add(module.id)


def _scoring_problems(
    rs: RuleSet, rule: ScoringRule, modules: set[str]
) -> Iterator[tuple[tuple[str], str]]:
    if rule.module is not None and rule.module not in modules:
        yield ("module",), f'unknown module "{rule.module}"{_known(modules)}'
    for key in ("stage", "prior_stage"):
        value = getattr(rule, key)
        if value is not None and value not in rs.stages:
            yield (key,), f'unknown stage "{value}"{_known(rs.stages)}'
    if rule.activity is not None and rule.activity not in rs.activities:
        yield (
            ("activity",),
            f'unknown activity "{rule.activity}"{_known(rs.activities)}; add it under [activities]',
        )
    yield from _filter_problems(rule)
    if isinstance(rule, (EventRule, PenaltyRule)):
        yield from _count_problems(rule)
    if isinstance(rule, AmountStepRule):
        allowed = _AMOUNT_EVENTS.get(rule.field)
        if allowed is not None and rule.on not in allowed:
            yield (
                ("field",),
                f'"{rule.field}" is only recorded on {" / ".join(allowed)} events, not on "{rule.on}"',
            )


def _filter_problems(rule: ScoringRule) -> Iterator[tuple[tuple[str], str]]:
    """Filters that the chosen event kind never carries would silently match nothing."""
    if rule.stage is not None and rule.on not in _STAGE_EVENTS:
        yield ("stage",), f'only used with on = "stage_reached" or "stage_overdue", not "{rule.on}"'
    if rule.activity is not None and rule.on != "activity":
        yield ("activity",), f'only used with on = "activity", not "{rule.on}"'
    if rule.status is not None and rule.on != "weekly":
        yield ("status",), f'only used with on = "weekly", not "{rule.on}"'
    if rule.on_time and rule.on != "stage_reached":
        yield ("on_time",), f'only used with on = "stage_reached", not "{rule.on}"'
    if rule.prior_within is not None and rule.prior_stage is None:
        yield ("prior_within",), "needs prior_stage (the stage the lead must have reached before)"


def _count_problems(rule: EventRule | PenaltyRule) -> Iterator[tuple[tuple[str], str]]:
    counted = rule.max_count is not None or rule.from_count is not None
    if counted and rule.per is None:
        yield (
            ("per",),
            'max_count / from_count count within a period: add per = "year" (or quarter, month…)',
        )
    if rule.per is not None and not counted:
        yield ("per",), "has no effect without max_count or from_count; remove it"
    if (
        rule.max_count is not None
        and rule.from_count is not None
        and rule.from_count > rule.max_count
    ):
        yield ("from_count",), "must not be greater than max_count"


def _coefficient_problems(
    rs: RuleSet, rule: CoefficientRule, modules: set[str]
) -> Iterator[tuple[tuple[str], str]]:
    """A coefficient may only point at scoring rules and modules: no self-reference, no chains."""
    if rule.apply_to_rules is None and rule.apply_to_modules is None:
        yield ("apply_to_rules",), "a coefficient needs apply_to_rules and/or apply_to_modules"
    by_id = {r.id: r for r in rs.rules}
    for target in rule.apply_to_rules or ():
        if target == rule.id:
            yield (
                ("apply_to_rules",),
                f'"{target}" is this coefficient itself; a coefficient cannot apply to itself',
            )
        elif target not in by_id:
            yield ("apply_to_rules",), f'unknown rule "{target}"'
        elif isinstance(by_id[target], CoefficientRule):
            yield (
                ("apply_to_rules",),
                f'"{target}" is a coefficient; coefficients apply to scoring rules only',
            )
        elif not per_event(by_id[target]):
            yield (
                ("apply_to_rules",),
                f'"{target}" adds up several events, so no single lead can scale it',
            )
    for target in rule.apply_to_modules or ():
        if target not in modules:
            yield ("apply_to_modules",), f'unknown module "{target}"{_known(modules)}'


def _cap_problems(rs: RuleSet, modules: set[str]) -> Iterator[Problem]:
    owner: dict[str, int] = {}
    for i, cap in enumerate(rs.caps):
        for module in cap.modules:
            if module not in modules:
                yield Problem(("caps", i, "modules"), f'unknown module "{module}"{_known(modules)}')
            elif module in owner:
                yield Problem(
                    ("caps", i, "modules"),
                    f'module "{module}" is already in cap #{owner[module] + 1}',
                )
            owner.setdefault(module, i)


def _known(names: Mapping[str, Any] | Sequence[str] | set[str]) -> str:
    listed = list(names)
    return f" (known: {', '.join(listed)})" if listed else " (none is defined)"
