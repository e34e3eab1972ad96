"""The rules file's shape: its field types (amounts, percents, ids, periods) and the
pydantic models, from one rule up to the whole :class:`RuleSet`. docs/rules.md documents
every field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.rules.model import EVENT_KINDS
from bot.rules.schema.problems import RulesError

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
        # imported here: the checks read these models, so they cannot be imported first
        from bot.rules.schema.checks import _reference_problems

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


def per_event(rule: Rule) -> bool:
    """Rules whose every entry comes from one event -- the only ones a coefficient can scale."""
    if isinstance(rule, (EventRule, PenaltyRule)):
        return True
    return isinstance(rule, AmountStepRule) and rule.per is None
