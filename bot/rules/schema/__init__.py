"""The rules file: a TOML points table, validated before a single point is scored.

The file is edited by county officials, not programmers, so every mistake must
come back as one line that names the file line, the rule and the field, and
says what to write instead.  Type checks are pydantic's; everything that needs
the whole file (references between rules, modules and caps, duplicate ids,
stage and activity names) is checked by ``checks._reference_problems``.  Both end
in :class:`RulesError`.  docs/rules.md documents every field.

The package: ``models`` (the field types and the pydantic models, :class:`RuleSet`),
``checks`` (the whole-file checks), ``loading`` (:func:`load_rules` and the error
locating) and ``problems`` (:class:`Problem`, :class:`RulesError`).
"""

from bot.rules.schema.loading import load_preset, load_rules, load_rules_text
from bot.rules.schema.models import (
    CAP_PERIODS,
    DEFAULT_ACTIVITIES,
    DEFAULT_STAGES,
    MAX_DEADLINE_DAYS,
    MAX_FILE_BYTES,
    PERIODS,
    PRESETS,
    RULE_KINDS,
    AmountStepRule,
    BlackList,
    CapGroup,
    CapPeriod,
    CoefficientRule,
    Conditions,
    Count,
    Days,
    EventKind,
    EventRule,
    Ident,
    Module,
    NamedConditions,
    Names,
    Negative,
    NonNegative,
    Number,
    PenaltyRule,
    Percent,
    Period,
    Positive,
    Rule,
    RuleSet,
    ScoringRule,
    Text,
    ThresholdRule,
    WindowStep,
    per_event,
)
from bot.rules.schema.problems import Problem, RulesError

__all__ = [
    "CAP_PERIODS",
    "DEFAULT_ACTIVITIES",
    "DEFAULT_STAGES",
    "MAX_DEADLINE_DAYS",
    "MAX_FILE_BYTES",
    "PERIODS",
    "PRESETS",
    "RULE_KINDS",
    "AmountStepRule",
    "BlackList",
    "CapGroup",
    "CapPeriod",
    "CoefficientRule",
    "Conditions",
    "Count",
    "Days",
    "EventKind",
    "EventRule",
    "Ident",
    "Module",
    "NamedConditions",
    "Names",
    "Negative",
    "NonNegative",
    "Number",
    "PenaltyRule",
    "Percent",
    "Period",
    "Positive",
    "Problem",
    "Rule",
    "RuleSet",
    "RulesError",
    "ScoringRule",
    "Text",
    "ThresholdRule",
    "WindowStep",
    "load_preset",
    "load_rules",
    "load_rules_text",
    "per_event",
]
