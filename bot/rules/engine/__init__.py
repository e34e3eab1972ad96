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

The package: ``derivation`` (events → entries, coefficients, incremental derivation),
``conditions`` (rule filters over a lead's history), ``scores`` (entries + caps →
scores) and ``running`` (a unit's cumulative capped total at many instants in one sweep:
every span's total at once, as ``scores`` gives each).
"""

from bot.rules.engine.conditions import (
    ZERO,
    conditions_hold,
    named_hold,
    outside_share,
    within_window,
)
from bot.rules.engine.derivation import (
    Changes,
    blacklistings,
    derive,
    derive_incremental,
    entry_order,
    event_order,
    reconcile,
    rescore,
)
from bot.rules.engine.running import running_totals
from bot.rules.engine.scores import (
    CapHit,
    GroupScore,
    ModuleScore,
    UnitScore,
    UnitScores,
    history_start,
    score,
    score_span,
    timed_modules,
)

__all__ = [
    "ZERO",
    "CapHit",
    "Changes",
    "GroupScore",
    "ModuleScore",
    "UnitScore",
    "UnitScores",
    "blacklistings",
    "conditions_hold",
    "derive",
    "derive_incremental",
    "entry_order",
    "event_order",
    "history_start",
    "named_hold",
    "outside_share",
    "reconcile",
    "rescore",
    "running_totals",
    "score",
    "score_span",
    "timed_modules",
    "within_window",
]
