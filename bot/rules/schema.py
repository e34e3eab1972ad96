"""The rules file: a TOML points table, validated before a single point is scored.

The file is edited by county officials, not programmers, so every mistake must
come back as one line that names the file line, the rule and the field, and
says what to write instead.  Type checks are pydantic's; everything that needs
the whole file (references between rules, modules and caps, duplicate ids,
stage and activity names) is checked by :func:`_reference_problems`.  Both end
in :class:`RulesError`.  docs/rules.md documents every field.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.rules.model import EVENT_KINDS, MANUAL_RULE_ID

__all__ = [
    "CAP_PERIODS",
    "DEFAULT_ACTIVITIES",
    "DEFAULT_STAGES",
    "MAX_FILE_BYTES",
    "PERIODS",
    "PRESETS",
    "RULE_KINDS",
    "AmountStepRule",
    "CapGroup",
    "CoefficientRule",
    "Conditions",
    "EventRule",
    "Module",
    "PenaltyRule",
    "Problem",
    "Rule",
    "RuleSet",
    "RulesError",
    "ScoringRule",
    "ThresholdRule",
    "load_preset",
    "load_rules",
    "load_rules_text",
    "per_event",
]

MAX_FILE_BYTES = 1024 * 1024  # a points table is a few KB; anything near this is the wrong file
PRESETS: tuple[str, ...] = ("jiaocheng", "kaihua")
RULE_KINDS: tuple[str, ...] = ("event", "threshold", "amount_step", "coefficient", "penalty")
PERIODS: tuple[str, ...] = ("week", "half", "month", "quarter", "year")
# Caps are computed as cumulative differences over half-open spans; the weekly
# period is (start, deadline], so it cannot be a cap period.
CAP_PERIODS: tuple[str, ...] = ("half", "month", "quarter", "year")
DEFAULT_STAGES: tuple[str, ...] = ("线索", "在谈", "签约", "落地", "开工", "入统", "投产")
DEFAULT_ACTIVITIES: dict[str, str] = {
    "training": "参加培训",
    "packaging": "项目包装",
    "event": "参加招商活动",
    "intent": "达成合作意向",
    "trip": "外出招商",
    "foreign_capital": "实际利用外资",
}
_ID_PATTERN = re.compile(r"[^\s:#\"']{1,64}")


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Problem:
    """One mistake in a rules file; ``loc`` is the path into the TOML data."""

    loc: tuple[str | int, ...]
    message: str
    line: int | None = None
    label: str = ""

    def render(self, source: str) -> str:
        where = source if self.line is None else f"{source} line {self.line}"
        if self.label:
            where += f", {self.label}"
        field = _field_name(self.loc)
        return f'{where}: field "{field}": {self.message}' if field else f"{where}: {self.message}"


class RulesError(Exception):
    """A rules file that cannot be used; ``str()`` is ready to show to an admin.

    Deliberately not a ValueError: pydantic would swallow a ValueError raised
    from a validator into its own error and lose the location.
    """

    def __init__(self, problems: Sequence[Problem], source: str = "rules.toml") -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__("\n".join(p.render(source) for p in self.problems))


def _field_name(loc: tuple[str | int, ...]) -> str:
    """``("rules", 3, "any_of", 0, "origins")`` → ``any_of[1].origins`` (1-based, as people count)."""
    rest = loc[2:] if len(loc) >= 2 and isinstance(loc[1], int) else loc
    text = ""
    for part in rest:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# --------------------------------------------------------------------------- #
# Field types
# --------------------------------------------------------------------------- #


def _to_decimal(value: object) -> Decimal:
    """TOML numbers arrive as int or Decimal (we parse floats as Decimal); text is a mistake."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = Decimal(str(value))
    if not isinstance(value, Decimal):
        raise ValueError("must be a number (without quotes), e.g. 5 or 1.5")
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _negative(value: Decimal) -> Decimal:
    if value >= 0:
        raise ValueError("a penalty must be negative, e.g. points = -2 (扣 2 分)")
    return value


def _rule_id(value: str) -> str:
    if not _ID_PATTERN.fullmatch(value):
        raise ValueError(
            "must be a short name (≤64 characters) without spaces, quotes, ':' or '#', e.g. signed_big"
        )
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Number = Annotated[Decimal, BeforeValidator(_to_decimal)]
Positive = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_positive)]
NonNegative = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_not_negative)]
Negative = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_negative)]
Count = Annotated[StrictInt, Field(ge=1)]


def _percent(value: Decimal) -> Decimal:
    if not 0 <= value <= 100:
        raise ValueError("must be a percentage from 0 to 100, e.g. 30 for 30 %")
    return value


Percent = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_percent)]
MAX_DEADLINE_DAYS = (
    3660  # ten years: a longer "deadline" is a typo, and it widens every refresh's window
)
Days = Annotated[StrictInt, Field(ge=1, le=MAX_DEADLINE_DAYS)]
Ident = Annotated[str, AfterValidator(_rule_id)]
Text = Annotated[str, AfterValidator(_non_empty)]
Names = Annotated[tuple[Text, ...], Field(min_length=1)]
Period = Literal["week", "half", "month", "quarter", "year"]
CapPeriod = Literal["half", "month", "quarter", "year"]
EventKind = Literal[
    "lead_reported",
    "lead_verified",
    "stage_reached",
    "activity",
    "weekly",
    "funds",
    "stage_overdue",
    "blacklisted",
]
assert set(EventKind.__args__) == set(EVENT_KINDS)  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


class Conditions(_Model):
    """Facts a lead must have; all given fields must hold.  Amount bounds: min inclusive, max exclusive."""

    min_amount_wan: NonNegative | None = None
    max_amount_wan: Positive | None = None
    min_foreign_usd: NonNegative | None = None
    origins: Names | None = None
    tags_any: Names | None = None
    tags_all: Names | None = None
    tags_none: Names | None = None
    industries: Names | None = None
    # Seed 004 二(四): 县外投资比例 ≥ (percent; a lead without a recorded share is judged by its
    # origin, see RuleSet.local_origins), 税收 paid to date ≥ (万元), and a stage the lead must
    # have reached by then ("须完成统计入库": reached = "入统").
    min_outside_share: Percent | None = None
    min_tax_wan: NonNegative | None = None
    reached: Text | None = None

    @field_validator("max_amount_wan", mode="after")
    @classmethod
    def _bounds_in_order(cls, high: Decimal | None, info: ValidationInfo) -> Decimal | None:
        low = info.data.get("min_amount_wan")
        if low is not None and high is not None and low >= high:
            raise ValueError("must be above min_amount_wan (min counts, max does not)")
        return high

    def lead_conditions(self) -> bool:
        """True when any field is set, i.e. an event without a lead cannot match."""
        return any(getattr(self, name) is not None for name in Conditions.model_fields)


class _Conditional(Conditions):
    id: Ident
    name: Text | None = None
    title: Text | None = (
        None  # the rule in words for /score ("签约省外项目"); name is the seed's label
    )
    any_of: Annotated[tuple[Conditions, ...], Field(min_length=1)] | None = None
    when: Ident | None = None  # a named condition set from [conditions.<name>] that must hold too


class _Scoring(_Conditional):
    """Fields shared by every rule that turns events into points."""

    module: Ident | None = None
    on: EventKind
    stage: Text | None = None
    activity: Text | None = None
    status: Literal["on_time", "late", "missing"] | None = None
    only_verified: StrictBool | None = None
    on_time: StrictBool = False
    prior_stage: Text | None = None
    prior_within: Period | None = None


class EventRule(_Scoring):
    """Points for each matching event."""

    kind: Literal["event"]
    points: Positive
    per: Period | None = None
    max_count: Count | None = None
    from_count: Count | None = None


class PenaltyRule(_Scoring):
    """Negative points for each matching event; never reduced by a cap."""

    kind: Literal["penalty"]
    points: Negative
    per: Period | None = None
    max_count: Count | None = None
    from_count: Count | None = None


class ThresholdRule(_Scoring):
    """Points when a unit's matching events in one period reach ``count``."""

    kind: Literal["threshold"]
    per: Period
    count: Count
    points: Positive
    repeat: StrictBool = False


class AmountStepRule(_Scoring):
    """Points per full step of an amount, per event or accumulated over ``per``."""

    kind: Literal["amount_step"]
    field: Literal["amount_usd", "amount_wan", "lead_amount_wan", "lead_foreign_usd"]
    step: Positive
    points: Positive
    per: Period | None = None


class CoefficientRule(_Conditional):
    """Multiplies the points a matching lead earns under the targeted rules or modules."""

    kind: Literal["coefficient"]
    factor: Positive
    apply_to_rules: Annotated[tuple[Ident, ...], Field(min_length=1)] | None = None
    apply_to_modules: Annotated[tuple[Ident, ...], Field(min_length=1)] | None = None


ScoringRule = EventRule | PenaltyRule | ThresholdRule | AmountStepRule
Rule = Annotated[
    EventRule | PenaltyRule | ThresholdRule | AmountStepRule | CoefficientRule,
    Field(discriminator="kind"),
]


class WindowStep(_Model):
    """考核期限: projects below ``below_wan`` (none: every other project) are assessed for ``months``."""

    below_wan: Positive | None = None
    months: Annotated[StrictInt, Field(ge=1, le=120)]


class NamedConditions(Conditions):
    """A reusable set of conditions (seed 004's 新引进项目), named by rules with ``when``.

    ``window_from`` + ``windows``: the 考核期限 -- events count only within so many months of
    the lead reaching ``window_from`` (the months chosen by the lead's investment).
    """

    name: Text | None = None
    any_of: Annotated[tuple[Conditions, ...], Field(min_length=1)] | None = None
    window_from: Text | None = None
    windows: Annotated[tuple[WindowStep, ...], Field(min_length=1)] | None = None


class BlackList(_Model):
    """Which 黑榜 the board shows and the engine scores.

    ``bottom`` (seed 000 style): the units with the fewest points of the month.  ``streak``
    (seed 004 二(八)2): a unit whose ``deductions`` come ``count`` times in a row (any entry of a
    ``breaks`` rule in between starts the count again) goes on the 黑榜 -- a ``blacklisted`` event
    for rules with ``on = "blacklisted"``.
    """

    mode: Literal["bottom", "streak"] = "bottom"
    count: Annotated[StrictInt, Field(ge=2, le=12)] = 2
    deductions: tuple[Ident, ...] = ()
    breaks: tuple[Ident, ...] = ()


class Module(_Model):
    """A group of rules shown together in a score breakdown, optionally capped."""

    id: Ident
    name: Text
    cap: NonNegative | None = None
    per: CapPeriod = "year"


class CapGroup(_Model):
    """Several modules that share one cap (seed 004: four modules ≤ 30 together)."""

    modules: Annotated[tuple[Ident, ...], Field(min_length=1)]
    cap: NonNegative
    per: CapPeriod = "year"
    name: Text | None = None


class RuleSet(_Model):
    """A validated points table; build it with :func:`load_rules` or :func:`load_preset`."""

    title: str = ""
    coefficients: Literal["highest", "product"] = "highest"
    counts_only_verified: StrictBool = False
    stages: Annotated[tuple[Text, ...], Field(min_length=1)] = DEFAULT_STAGES
    activities: dict[Ident, Text] = Field(default_factory=dict, validate_default=True)
    categories: tuple[Text, ...] = ()
    # The tags, industries and origins this file's rules need: the lead form offers them after the
    # configured ones (a list set in the configuration overrides; see choices_for).
    tags: tuple[Text, ...] = ()
    industries: tuple[Text, ...] = ()
    origins: tuple[Text, ...] = ()
    # A lead without a recorded 县外投资比例 counts 0 % when its origin is one of these, else 100 %.
    local_origins: tuple[Text, ...] = ("本地",)
    conditions: dict[Ident, NamedConditions] = Field(default_factory=dict)
    black_list: BlackList = Field(default_factory=BlackList)
    # 逐节点认定: stage nodes that score only once a leader confirms them (/confirm L0007 在谈).
    confirm_stages: tuple[Text, ...] = ()
    # 全流程倒排 (seed 004 二(八)2): the longest a lead may stay in a stage before the next stage
    # (the node) is overdue, in days; stages without a figure have no schedule.
    stage_deadlines: dict[Text, Days] = Field(default_factory=dict)
    modules: tuple[Module, ...] = ()
    caps: tuple[CapGroup, ...] = ()
    rules: tuple[Rule, ...] = ()

    @field_validator("activities", mode="after")
    @classmethod
    def _with_default_activities(cls, value: dict[str, str]) -> dict[str, str]:
        """A file names only the kinds it adds or renames; the six standard ones always exist."""
        return {**DEFAULT_ACTIVITIES, **value}

    @model_validator(mode="after")
    def _references(self) -> RuleSet:
        problems = _reference_problems(self)
        if problems:
            raise RulesError(problems)
        return self

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; StopIteration for ids the file no longer has (old ledger lines)."""
        return next(r for r in self.rules if r.id == rule_id)

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.id == module_id), None)

    @property
    def scoring_rules(self) -> tuple[ScoringRule, ...]:
        return tuple(r for r in self.rules if not isinstance(r, CoefficientRule))

    @property
    def coefficient_rules(self) -> tuple[CoefficientRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, CoefficientRule))

    def only_verified(self, rule: ScoringRule) -> bool:
        """A rule's own setting wins; otherwise the file-wide default."""
        return self.counts_only_verified if rule.only_verified is None else rule.only_verified

    def next_stage(self, stage: str) -> str | None:
        """The stage after this one (the node a deadline on ``stage`` is about); None for the last or unknown."""
        if stage not in self.stages:
            return None
        i = self.stages.index(stage)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None


# --------------------------------------------------------------------------- #
# Whole-file checks
# --------------------------------------------------------------------------- #

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


def per_event(rule: Rule) -> bool:
    """Rules whose every entry comes from one event -- the only ones a coefficient can scale."""
    if isinstance(rule, (EventRule, PenaltyRule)):
        return True
    return isinstance(rule, AmountStepRule) and rule.per is None


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


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


def load_rules(path_or_text: str | os.PathLike[str]) -> RuleSet:
    """A path (``Path``, or a one-line string without ``=``) is read; any other string is the TOML itself."""
    if isinstance(path_or_text, str) and ("\n" in path_or_text or "=" in path_or_text):
        return load_rules_text(path_or_text)
    path = Path(path_or_text)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RulesError([Problem((), _too_big(size))], path.name)
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(
            [Problem((), f"cannot read the file: {exc.strerror or exc}")], str(path)
        ) from None
    return load_rules_text(_decode(raw, path.name), path.name)


def load_preset(name: str = "jiaocheng") -> RuleSet:
    """The shipped tables; an unknown name is a configuration mistake, reported like a file error."""
    if name not in PRESETS:
        raise RulesError(
            [Problem((), f'unknown preset "{name}" (known: {", ".join(PRESETS)})')], "preset"
        )
    text = resources.files("bot.rules").joinpath("presets", f"{name}.toml").read_text("utf-8")
    return load_rules_text(text, f"{name}.toml")


def load_rules_text(text: str, source: str = "rules.toml") -> RuleSet:
    """Parse and validate; every failure becomes a :class:`RulesError` naming line and field."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise RulesError([Problem((), _too_big(size))], source)
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([_toml_problem(exc, text)], source) from None
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [_pydantic_problem(err) for err in _innermost(exc.errors(include_url=False))]
    except RulesError as exc:
        problems = list(exc.problems)
    raise RulesError([_locate(p, text, data) for p in problems], source) from None


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")  # Windows editors add a BOM
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = Problem((), "is not UTF-8 text; save the file as UTF-8", line)
        raise RulesError([problem], source) from None


def _too_big(size: int) -> str:
    return f"the file is {size / 1024 / 1024:.1f} MB; a rules file may be at most 1 MB — is this the right file?"


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


_BARE_NON_ASCII_KEY = re.compile(r"^\s*[^\x00-\x7f\s\"'=#\[][^=\"']*=")


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str = "") -> Problem:
    message = str(exc)
    match = _TOML_AT.search(message)
    if match is None:
        return Problem((), f"invalid TOML: {message}")
    detail = message[: match.start()]
    line = int(match.group(1))
    lines = text.splitlines()
    if 0 < line <= len(lines) and _BARE_NON_ASCII_KEY.match(lines[line - 1]):
        # 在谈 = 90: TOML names without quotes may only use ASCII letters, digits, - and _
        detail += '; a Chinese name before "=" must be in double quotes, e.g. "在谈" = 90'
    return Problem((), f"invalid TOML: {detail}", line, f"column {match.group(2)}")


# --------------------------------------------------------------------------- #
# Error messages and locations
# --------------------------------------------------------------------------- #

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field (check the spelling; see docs/rules.md)",
    "int_type": "must be a whole number without quotes, e.g. 2",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "bool_type": "must be true or false (without quotes)",
    "string_type": "must be text in quotes",
    "tuple_type": 'must be a list, e.g. ["a", "b"]',
    "dict_type": "must be a table of names",
    "model_type": "must be a table of fields",
    "too_short": "must not be empty",
}


def _innermost(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A list with one bad item also fails as "too short"; the item's own error says more."""
    locs = [tuple(err["loc"]) for err in errors]
    return [
        err
        for err, loc in zip(errors, locs, strict=True)
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
    ]


def _pydantic_problem(err: Mapping[str, Any]) -> Problem:
    loc = tuple(
        part for part in _strip_tag(tuple(err["loc"])) if part != "[key]"
    )  # a bad table key
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "union_tag_invalid":
        return Problem(
            (*loc, "kind"),
            f'unknown rule kind "{ctx.get("tag")}": expected one of {", ".join(RULE_KINDS)}',
        )
    if kind == "union_tag_not_found":
        return Problem((*loc, "kind"), f"is required: one of {', '.join(RULE_KINDS)}")
    if kind == "literal_error":
        return Problem(loc, f"must be one of {ctx.get('expected')}")
    if kind == "value_error":
        return Problem(loc, str(ctx.get("error", err["msg"])))
    template = _MESSAGES.get(kind)
    return Problem(loc, template.format(**ctx) if template else err["msg"])


def _strip_tag(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """pydantic puts the discriminator value into the path (rules, 3, "event", "points")."""
    if len(loc) >= 3 and loc[0] == "rules" and isinstance(loc[1], int) and loc[2] in RULE_KINDS:
        return loc[:2] + loc[3:]
    return loc


_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")


def _headers(lines: Sequence[str]) -> list[tuple[int, bool, str]]:
    """(line index, is array-of-tables, dotted name) for every table header."""
    found = []
    for i, line in enumerate(lines):
        match = _ARRAY_HEADER.match(line) or _TABLE_HEADER.match(line)
        if match:
            found.append((i, match.re is _ARRAY_HEADER, re.sub(r"\s+", "", match.group(1))))
    return found


def _locate(problem: Problem, text: str, data: Mapping[str, Any]) -> Problem:
    """Attach the 1-based line and the rule/module/cap label to a problem."""
    if not problem.loc:
        return problem
    lines = text.splitlines()
    start, end = _block(problem.loc, lines)
    inner = (
        problem.loc[2:]
        if len(problem.loc) >= 2 and isinstance(problem.loc[1], int)
        else problem.loc[1:]
    )
    line = _key_line(lines, start, end, inner or problem.loc[:1], str(problem.loc[0]))
    if line is None and start is not None:
        # A missing field has no line of its own: point at the rule's id, else its table's header,
        # else the line that starts the section (an inline table).
        line = _key_line(lines, start, end, ["id"]) if len(problem.loc) >= 2 else None
        if line is None:
            is_header = bool(_headers(lines[start : start + 1]))
            line = start if is_header else _key_line(lines, 0, len(lines), problem.loc[:1])
    return Problem(
        problem.loc, problem.message, None if line is None else line + 1, _label(problem.loc, data)
    )


def _block(loc: tuple[str | int, ...], lines: Sequence[str]) -> tuple[int | None, int]:
    """Line range of the table the location points into; (0, first header) for top-level keys."""
    headers = _headers(lines)
    first_header = headers[0][0] if headers else len(lines)
    if not loc or not isinstance(loc[0], str):
        return 0, first_header
    name = loc[0]
    if len(loc) >= 2 and isinstance(loc[1], int):
        starts = [i for i, array, n in headers if array and n == name]
        if loc[1] >= len(starts):
            return None, len(lines)
        start = starts[loc[1]]
    else:
        starts = [i for i, array, n in headers if not array and n == name]
        if not starts:
            return 0, first_header
        start = starts[0]
    after = [i for i, _, n in headers if i > start and not n.startswith(name + ".")]
    return start, after[0] if after else len(lines)


def _key_line(
    lines: Sequence[str], start: int | None, end: int, path: Sequence[str | int], section: str = ""
) -> int | None:
    """The ``key = …`` line in the block, or the line inside the n-th ``[[section.key]]`` sub-table."""
    if start is None or not path:
        return None
    key = str(path[0])
    assignment = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    found = next((i for i in range(start, end) if assignment.match(lines[i])), None)
    if found is not None or not section:
        return found
    nested = [start + i for i, _, name in _headers(lines[start:end]) if name == f"{section}.{key}"]
    if not nested:
        return None
    index = path[1] if len(path) >= 2 and isinstance(path[1], int) else 0
    header = nested[min(index, len(nested) - 1)]
    following = [i for i, _, _ in _headers(lines) if i > header]
    inner = _key_line(lines, header + 1, min([end, *following]), path[2:])
    return header if inner is None else inner


def _label(loc: tuple[str | int, ...], data: Mapping[str, Any]) -> str:
    """rule "signed_big" / module "info" / cap #2, from the raw data so it works for broken rules too."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return ""
    section, index = loc[0], loc[1]
    items = data.get(str(section))
    item = items[index] if isinstance(items, list) and index < len(items) else {}
    ident = item.get("name" if section == "caps" else "id") if isinstance(item, dict) else None
    noun = {"rules": "rule", "modules": "module", "caps": "cap"}.get(str(section), str(section))
    if isinstance(ident, str):
        return f'{noun} "{ident}"'
    return f"{noun} #{index + 1}"
