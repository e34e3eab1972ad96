"""Scoring: the rules file (schema), the engine (events → entries → scores) and the table in words.

Nothing here touches Telegram, the database or the clock; callers pass events,
entries and a :class:`bot.domain.periods.Periods` in and get plain data back.
"""

from bot.rules.describe import check_file, describe
from bot.rules.engine import (
    CapHit,
    Changes,
    GroupScore,
    ModuleScore,
    UnitScore,
    UnitScores,
    derive,
    derive_incremental,
    entry_order,
    event_order,
    history_start,
    reconcile,
    rescore,
    score,
    score_span,
)
from bot.rules.model import EVENT_KINDS, MANUAL_RULE_ID, Entry, Event, LeadFacts, lead_code
from bot.rules.schedule import Overdue, max_deadline, overdue_nodes
from bot.rules.schema import PRESETS, RulesError, RuleSet, load_preset, load_rules, load_rules_text

__all__ = [
    "EVENT_KINDS",
    "MANUAL_RULE_ID",
    "PRESETS",
    "CapHit",
    "Changes",
    "Entry",
    "Event",
    "GroupScore",
    "LeadFacts",
    "ModuleScore",
    "Overdue",
    "RuleSet",
    "RulesError",
    "UnitScore",
    "UnitScores",
    "check_file",
    "derive",
    "derive_incremental",
    "describe",
    "entry_order",
    "event_order",
    "history_start",
    "lead_code",
    "load_preset",
    "load_rules",
    "load_rules_text",
    "max_deadline",
    "overdue_nodes",
    "reconcile",
    "rescore",
    "score",
    "score_span",
]
