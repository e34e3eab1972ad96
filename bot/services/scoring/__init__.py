"""The ledger side of scoring: recorded events → engine → append-only ledger → per-period scores.

The engine (:mod:`bot.rules.engine`) is pure; this package feeds it and keeps the
database in step:

* :func:`collect_events` turns one unit's rows into engine :class:`Event` values:
  lead reports (with :class:`LeadFacts` as they were at the event; duplicates
  flagged, rejected leads left out), verifications, stages reached (a skipped
  stage counts as reached at the move; a leader's backward move un-reaches the
  later stages), activities (not rejected ones) and weekly outcomes.
* :func:`refresh_unit` re-derives the unit's entries, reconciles them with the
  live ledger lines and *voids* the ones that no longer hold and *appends* the
  new ones -- never an update of points, never a delete -- then recomputes the
  unit's ``unit_scores`` for every span the change can reach (a change at T can
  alter spans ending after T only: entries never look into the future, and a
  yearly cap makes the later months of that year depend on it).
* :func:`refresh_after` is the one-line hook the lead, weekly and activity
  services call inside their unit of work, so ``/rank`` moves at once.
* :func:`rescore_all` (``leadbot rescore``) does the same for every unit after a
  rules change and rebuilds every unit's scores; manual adjustments stay.

The package: ``setup`` (rules, calendar, targets, choices), ``events`` (rows → engine
events), ``refresh`` (derive, void/append, the hook services call), ``scores``
(per-period ``unit_scores``), ``rescore`` (rules changes, the fingerprint) and
``weekly_marks`` (the weekly close: the weekly rules' lines of every missing unit at once).
"""

from bot.services.scoring.events import (
    LEAD_FACT_FIELDS,
    LeadTimeline,
    UnitHistory,
    activity_days,
    activity_instant,
    collect_period,
    collect_unit,
    funds_events,
    lead_timeline,
    overdue_events,
    reported_stage,
)
from bot.services.scoring.refresh import (
    QUANTUM,
    RefreshResult,
    _row,  # noqa: F401  (private; ranking's manual adjustment and a test build rows with it)
    history_floor,
    refresh_after,
    refresh_unit,
    window,
)
from bot.services.scoring.rescore import (
    UnitDiff,
    note_rules,
    remember_rules,
    rescore_all,
    rescore_unit,
    rules_changed,
)
from bot.services.scoring.scores import (
    rebuild_scores,
    recompute_scores,
    span_total,
    span_totals,
    spans_with_entries,
    to_entry,
)
from bot.services.scoring.setup import (
    CHOICE_FIELDS,
    RANK_KINDS,
    STATE_KEY,
    STATE_KIND,
    ScoringSetup,
    TargetSpec,
    choices_for,
    lead_choices,
    load_rules_setting,
    offered,
    periods_for,
    setup_for,
)
from bot.services.scoring.weekly_marks import WeeklyRefresh, refresh_weekly

__all__ = [
    "CHOICE_FIELDS",
    "LEAD_FACT_FIELDS",
    "QUANTUM",
    "RANK_KINDS",
    "STATE_KEY",
    "STATE_KIND",
    "LeadTimeline",
    "RefreshResult",
    "ScoringSetup",
    "TargetSpec",
    "UnitDiff",
    "UnitHistory",
    "WeeklyRefresh",
    "activity_days",
    "activity_instant",
    "choices_for",
    "collect_period",
    "collect_unit",
    "funds_events",
    "history_floor",
    "lead_choices",
    "lead_timeline",
    "load_rules_setting",
    "note_rules",
    "offered",
    "overdue_events",
    "periods_for",
    "rebuild_scores",
    "recompute_scores",
    "refresh_after",
    "refresh_unit",
    "refresh_weekly",
    "remember_rules",
    "reported_stage",
    "rescore_all",
    "rescore_unit",
    "rules_changed",
    "setup_for",
    "span_total",
    "span_totals",
    "spans_with_entries",
    "to_entry",
    "window",
]
