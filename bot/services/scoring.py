"""The ledger side of scoring: recorded events → engine → append-only ledger → per-period scores.

The engine (:mod:`bot.rules.engine`) is pure; this module feeds it and keeps the
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
"""

from __future__ import annotations

import bisect
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.amounts import AmountError, parse_usd, parse_wan
from bot.config import ConfigError, Settings
from bot.periods import Periods, Span, WeeklySchedule
from bot.rules import (
    MANUAL_RULE_ID,
    Entry,
    Event,
    LeadFacts,
    RulesError,
    RuleSet,
    engine,
    load_preset,
    load_rules,
)
from bot.rules.schedule import max_deadline, overdue_nodes
from storage import funds_repo, repo, scoring_repo
from storage.models import Lead, LeadEvent, Review

log = logging.getLogger(__name__)

RANK_KINDS: tuple[str, ...] = ("week", "month", "quarter", "year")
QUANTUM = Decimal("0.0001")  # the ledger keeps 4 decimals; compare what is stored
LEAD_FACT_FIELDS = frozenset({"amount_wan", "origin", "industry", "tags", "foreign_usd"})
STATE_KIND, STATE_KEY = "scoring", "rules"
_UTC = UTC
_TICK = timedelta(microseconds=1)


# --------------------------------------------------------------------------- #
# Setup: the rules in force, the calendar, the targets
# --------------------------------------------------------------------------- #


class TargetSpec(BaseModel):
    """One annual target (年度目标) of every unit, e.g. 签约亿元以上项目 ≥ 2.

    Counts, in the year, the unit's leads that reached ``stage`` (with optional
    amount/origin/tag conditions), or its activities of kind ``activity``, or
    (neither given) the leads it reported. ``units`` overrides ``count`` per unit name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40)
    count: int = Field(ge=1)
    stage: str | None = None
    activity: str | None = None
    min_amount_wan: Decimal | None = None
    origins: tuple[str, ...] | None = None
    tags_any: tuple[str, ...] | None = None
    only_verified: bool = False
    units: dict[str, int] = Field(default_factory=dict)

    def count_for(self, unit_name: str, short_name: str | None) -> int:
        return (
            self.units.get(unit_name)
            or (self.units.get(short_name) if short_name else None)
            or self.count
        )


@dataclass(frozen=True)
class ScoringSetup:
    rules: RuleSet
    periods: Periods
    zone: ZoneInfo
    source: str  # preset name or file path
    fingerprint: str
    targets: tuple[TargetSpec, ...] = ()
    funnel: tuple[str, str, str] = ("签约", "开工", "入统")

    @property
    def capped(self) -> bool:
        return bool(self.rules.caps) or any(m.cap is not None for m in self.rules.modules)


_SETUPS: dict[tuple[Any, ...], ScoringSetup] = {}
_current: ScoringSetup | None = None


def periods_for(settings: Settings) -> Periods:
    schedule = WeeklySchedule(
        weekday=settings.deadline_weekday,
        time=settings.deadline_time,
        tz=settings.tz,
        holiday_shift=getattr(settings, "holiday_shift", True),
        extra_holidays=frozenset(getattr(settings, "extra_holidays", ()) or ()),
        extra_workdays=frozenset(getattr(settings, "extra_workdays", ()) or ()),
    )
    return Periods(schedule)


def load_rules_setting(value: str) -> tuple[RuleSet, str]:
    """``rules_file`` is a preset name (jiaocheng, kaihua) or a path to a TOML file: (rules, its text)."""
    from importlib import resources

    from bot.rules.schema import PRESETS

    if value in PRESETS:
        text = resources.files("bot.rules").joinpath("presets", f"{value}.toml").read_text("utf-8")
        return load_preset(value), text
    from pathlib import Path

    path = Path(value)
    if not path.is_file():
        raise ConfigError(
            f"config error: LEADBOT_RULES_FILE (rules_file): expected a preset ({', '.join(PRESETS)}) "
            f"or the path of a rules TOML file, got {value!r}"
        )
    return load_rules(path), path.read_text("utf-8-sig")


def _targets(settings: Settings) -> tuple[TargetSpec, ...]:
    raw: list[Any] = list(getattr(settings, "targets", []) or [])
    target_file = getattr(settings, "targets_file", None)
    if target_file:
        import tomllib
        from pathlib import Path

        try:
            raw = list(tomllib.loads(Path(target_file).read_text("utf-8-sig")).get("targets", []))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"config error: LEADBOT_TARGETS_FILE (targets_file): cannot read {target_file}: {exc}"
            ) from None
    try:
        return tuple(TargetSpec.model_validate(t) for t in raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"config error: targets: {where}: {err['msg']}") from None


def setup_for(settings: Settings) -> ScoringSetup:
    """The rules, calendar and targets for these settings (cached: a preset is parsed once)."""
    key = (
        getattr(settings, "rules_file", "jiaocheng"),
        settings.tz,
        settings.deadline_weekday,
        settings.deadline_time,
        getattr(settings, "holiday_shift", True),
        tuple(getattr(settings, "extra_holidays", ()) or ()),
        tuple(getattr(settings, "extra_workdays", ()) or ()),
        repr(getattr(settings, "targets", None)),
        getattr(settings, "targets_file", None),
    )
    found = _SETUPS.get(key)
    if found is None:
        source = getattr(settings, "rules_file", "jiaocheng") or "jiaocheng"
        try:
            rules, text = load_rules_setting(source)
        except RulesError as exc:
            raise ConfigError(f"config error: rules file: {exc}") from None
        found = ScoringSetup(
            rules=rules,
            periods=periods_for(settings),
            zone=settings.zone,
            source=source,
            fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
            targets=_targets(settings),
        )
        _SETUPS[key] = found
    return found


def configure(settings: Settings) -> ScoringSetup:
    """Called once by the composition root; the hooks in other services use it."""
    global _current
    _current = setup_for(settings)
    return _current


def current() -> ScoringSetup:
    """The configured setup, or the defaults (preset jiaocheng) when nothing configured one."""
    global _current
    if _current is None:
        try:
            _current = setup_for(Settings())
        except Exception:
            _current = setup_for(Settings.model_construct())
    return _current


# --------------------------------------------------------------------------- #
# Events from the database
# --------------------------------------------------------------------------- #


@dataclass
class LeadTimeline:
    """One lead's facts over time and the stages it has reached (and when)."""

    lead: Lead
    reached: dict[str, datetime]
    edits: list[tuple[datetime, str, str | None]]  # (at, field, value before)
    verified_at: datetime | None

    def facts(self, at: datetime | None = None) -> LeadFacts:
        """The lead as it was at ``at`` (None: as it is now); verification and duplicates as they are now."""
        lead = self.lead
        values: dict[str, Any] = {
            "amount_wan": lead.amount_wan,
            "origin": lead.origin,
            "industry": lead.industry,
            "tags": list(lead.tags or []),
            "foreign_usd": lead.foreign_usd,
        }
        if at is not None:
            for when, name, before in reversed(self.edits):
                if when > at:
                    values[name] = _parse_old(name, before, values[name])
        return LeadFacts(
            lead_id=lead.id,
            unit_id=lead.unit_id,
            amount_wan=Decimal(values["amount_wan"]),
            origin=values["origin"],
            industry=values["industry"],
            tags=frozenset(values["tags"]),
            verified=lead.review == Review.VERIFIED,
            duplicate=lead.duplicate_of is not None,
            foreign_usd=Decimal(values["foreign_usd"])
            if values["foreign_usd"] is not None
            else None,
        )


def _parse_old(name: str, text: str | None, fallback: Any) -> Any:
    """A value as the lead history stored it (see lead_updates._as_text)."""
    try:
        if name == "amount_wan":
            return parse_wan(text) if text else fallback
        if name == "foreign_usd":
            return parse_usd(text) if text else None
        if name == "tags":
            return [t for t in (text or "").split("、") if t]
    except AmountError:
        return fallback
    return text if text is not None else fallback


def lead_timeline(lead: Lead, events: Sequence[LeadEvent], stages: Sequence[str]) -> LeadTimeline:
    index = {s: i for i, s in enumerate(stages)}
    reached: dict[str, datetime] = {}

    def move(stage: str | None, at: datetime) -> None:
        if stage not in index:
            return
        top = index[stage]
        for s in [s for s in reached if index[s] > top]:
            del reached[s]  # a leader moved the lead back: the later stages are no longer reached
        for s in stages[: top + 1]:
            reached.setdefault(s, at)

    report = next((e for e in events if e.kind == "report"), None)
    move(
        report.to_value if report and report.to_value else _initial_stage(lead, events),
        lead.reported_at,
    )
    edits: list[tuple[datetime, str, str | None]] = []
    verified_at: datetime | None = None
    for e in events:
        if e.kind == "stage":
            move(e.to_value, e.at)
        elif e.kind == "edit" and e.field in LEAD_FACT_FIELDS:
            edits.append((e.at, e.field, e.from_value))
        elif e.kind == "verify":
            verified_at = e.at
    if lead.review == Review.VERIFIED and verified_at is None:
        verified_at = lead.reviewed_at or lead.reported_at
    return LeadTimeline(
        lead, reached, edits, verified_at if lead.review == Review.VERIFIED else None
    )


def _initial_stage(lead: Lead, events: Sequence[LeadEvent]) -> str:
    first_move = next((e for e in events if e.kind == "stage"), None)
    return first_move.from_value if first_move and first_move.from_value else lead.stage


def activity_instant(on_date: date, zone: ZoneInfo) -> datetime:
    """An activity is dated by day; it counts at local noon (inside that day's week, whatever the deadline hour)."""
    return datetime.combine(on_date, time(12, 0), tzinfo=zone)


@dataclass
class UnitHistory:
    events: list[Event]
    timelines: dict[int, LeadTimeline]
    activities: list[Any]  # light rows: id, kind, on_date, review, amount_usd, lead_id


async def collect_unit(
    session: Any,
    unit_id: int,
    setup: ScoringSetup,
    since: datetime | None = None,
    *,
    now: datetime | None = None,
) -> UnitHistory:
    """Every scoring event of one unit, built from its rows.

    ``since``: only what can matter from that instant on -- the leads with an event
    then or later (with their whole history) and the activities from then on.
    ``now``: stage nodes still not reached by then are overdue (``stage_overdue``);
    without it only the nodes already reached late are.
    """
    rules, periods = setup.rules, setup.periods
    if since is None:
        leads = await scoring_repo.unit_leads(session, unit_id)
        lead_events = await scoring_repo.unit_lead_events(session, unit_id)
    else:
        # A lead that last moved up to the longest stage deadline before ``since`` may still
        # become overdue after it: its stage_overdue event is dated at the deadline, not at a move.
        leads = await scoring_repo.unit_leads_active_since(
            session, unit_id, since - max_deadline(rules)
        )
        lead_events = await scoring_repo.lead_events_of(session, [lead.id for lead in leads])
    by_lead: dict[int, list[LeadEvent]] = defaultdict(list)
    for e in lead_events:
        by_lead[e.lead_id].append(e)
    events: list[Event] = []
    timelines: dict[int, LeadTimeline] = {}
    for lead in leads:
        if lead.review == Review.REJECTED:
            continue  # 不予认定: a rejected lead scores nothing and counts for nothing
        tl = lead_timeline(lead, by_lead.get(lead.id, []), rules.stages)
        timelines[lead.id] = tl
        events.append(
            Event(
                f"lead:{lead.id}:reported",
                "lead_reported",
                unit_id,
                lead.reported_at,
                lead=tl.facts(lead.reported_at),
            )
        )
        if tl.verified_at is not None:
            events.append(
                Event(
                    f"lead:{lead.id}:verified",
                    "lead_verified",
                    unit_id,
                    tl.verified_at,
                    lead=tl.facts(tl.verified_at),
                )
            )
        for stage, at in tl.reached.items():
            events.append(
                Event(
                    f"lead:{lead.id}:stage:{stage}",
                    "stage_reached",
                    unit_id,
                    at,
                    lead=tl.facts(at),
                    stage=stage,
                )
            )
        events += overdue_events(rules, tl, now)
    on_or_after = None if since is None else since.astimezone(setup.zone).date() - timedelta(days=1)
    activities = [
        a
        for a in await scoring_repo.unit_activities(session, unit_id, on_or_after)
        if a.review != Review.REJECTED
    ]
    linked = {a.lead_id for a in activities if a.lead_id is not None}
    extra = {
        lead.id: lead for lead in await scoring_repo.leads_by_ids(session, linked - set(timelines))
    }
    for a in activities:
        facts = None
        if a.lead_id is not None:
            tl = timelines.get(a.lead_id)
            facts = (
                tl.facts()
                if tl
                else (_plain_facts(extra[a.lead_id]) if a.lead_id in extra else None)
            )
        events.append(
            Event(
                f"activity:{a.id}",
                "activity",
                unit_id,
                activity_instant(a.on_date, setup.zone),
                lead=facts,
                activity=a.kind,
                verified=a.review == Review.VERIFIED,
                amount_usd=a.amount_usd,
            )
        )
    for sub in await scoring_repo.unit_weekly(session, unit_id):
        try:
            deadline = periods.by_key(sub.period_key).deadline
        except ValueError:
            continue
        events.append(
            Event(f"weekly:{sub.period_key}", "weekly", unit_id, deadline, status=sub.outcome)
        )
    events += await funds_events(session, unit_id, timelines)
    return UnitHistory(events, timelines, activities)


async def funds_events(
    session: Any, unit_id: int, timelines: dict[int, LeadTimeline]
) -> list[Event]:
    """到位资金 (bot/services/funds.py): one ``funds`` event per lead and month, the live figure, dated at
    its ``counts_at``, judged by the lead as it was then; a rejected lead's figures count for nothing."""
    rows = [r for r in await funds_repo.unit_live(session, unit_id) if r.amount_wan > 0]
    extra = {
        lead.id: lead
        for lead in await scoring_repo.leads_by_ids(
            session, {r.lead_id for r in rows} - set(timelines)
        )
        if lead.review != Review.REJECTED
    }  # leads outside a refresh window have no timeline yet
    events = []
    for r in rows:
        tl = timelines.get(r.lead_id)
        facts = (
            tl.facts(r.counts_at)
            if tl
            else (_plain_facts(extra[r.lead_id]) if r.lead_id in extra else None)
        )
        if facts is not None:
            events.append(
                Event(
                    f"funds:{r.lead_id}:{r.month}",
                    "funds",
                    unit_id,
                    r.counts_at,
                    lead=facts,
                    amount_wan=Decimal(r.amount_wan),
                )
            )
    return events


def overdue_events(rules: RuleSet, tl: LeadTimeline, now: datetime | None) -> list[Event]:
    """全流程倒排: one ``stage_overdue`` per node the lead missed, dated at its deadline, named after the node.

    A node is missed at most once (the stay counts from when the lead reached the stage, as the
    ``stage_reached`` events do), so the lead and node make the id; a leader's correction that
    changes the deadline moves the event, and the ledger voids the old line and appends the new.
    """
    if not rules.stage_deadlines or tl.lead.duplicate_of is not None:
        return []  # 首报认定: a duplicate counts for nothing, on schedule or not
    return [
        Event(
            f"lead:{tl.lead.id}:overdue:{o.node}",
            "stage_overdue",
            tl.lead.unit_id,
            o.due,
            lead=tl.facts(o.due),
            stage=o.node,
        )
        for o in overdue_nodes(rules, tl.reached, now)
    ]


def _plain_facts(lead: Lead) -> LeadFacts:
    return LeadTimeline(lead, {}, [], None).facts()


# --------------------------------------------------------------------------- #
# Refresh: derive, reconcile, void/append, recompute scores
# --------------------------------------------------------------------------- #


@dataclass
class RefreshResult:
    unit_id: int
    added: list[Entry] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)

    @property
    def delta(self) -> Decimal:
        return sum((e.points for e in self.added), Decimal(0)) - sum(
            (e.points for e in self.removed), Decimal(0)
        )


def to_entry(row: Any) -> Entry:
    """A ledger line (model or light row) as the engine's Entry."""
    return Entry(
        row.unit_id, row.rule_id, row.module, row.points, row.at, row.source, row.note or ""
    )


def _stored(entry: Entry) -> Entry:
    """The entry as the ledger will give it back (4 decimals, UTC), so equal means equal."""
    return replace(entry, points=entry.points.quantize(QUANTUM), at=entry.at.astimezone(_UTC))


def window(setup: ScoringSetup, since: datetime) -> tuple[datetime, datetime]:
    """(load events from, keep entries from) for a change at ``since``.

    Rules count and accumulate within periods no longer than a year, and every
    calendar period nests in its year; a week may start in the year before. So
    the entries dated from the start of ``since``'s year on depend only on the
    events from the start of that year's first week on (plus each lead's own
    history, which is loaded whole), and the entries before it cannot change.
    """
    year = setup.periods.span("year", since).start
    week = setup.periods.span("week", year).start
    return min(week, year), year


async def refresh_unit(
    session: Any,
    unit_id: int,
    rules: RuleSet | ScoringSetup,
    periods: Periods | None,
    now: datetime,
    *,
    reason: str = "refresh",
    full_scores: bool = False,
    since: datetime | None = None,
) -> RefreshResult:
    """Bring one unit's derived ledger lines and scores in line with its events, in the caller's transaction.

    ``since``: the caller knows its change affects nothing before that instant (a
    new lead report: now), so only the year from there on is derived again --
    the cost of a report no longer grows with the unit's whole history.
    """
    setup = rules if isinstance(rules, ScoringSetup) else _with(current(), rules, periods)
    await scoring_repo.lock_unit(session, unit_id)
    load_from, keep_from = (
        window(setup, since) if since is not None and not full_scores else (None, None)
    )
    history = await collect_unit(session, unit_id, setup, load_from, now=now)
    fresh = [_stored(e) for e in engine.derive(setup.rules, history.events, setup.periods)]
    rows = await scoring_repo.live_entries(session, unit_id)
    if keep_from is not None:
        cut = _utc(keep_from)
        fresh = [e for e in fresh if e.at >= cut]
        kept = [
            r for r in rows if _utc(r.at) < cut
        ]  # before the window: untouched, still count in scores
        rows = [r for r in rows if _utc(r.at) >= cut]
    else:
        kept = []
    derived_rows = [r for r in rows if not r.manual and r.rule_id != MANUAL_RULE_ID]
    changes = engine.reconcile((to_entry(r) for r in derived_rows), fresh)
    result = RefreshResult(unit_id, list(changes.added), list(changes.removed))
    if changes.removed:
        ids_by_entry: dict[Entry, list[int]] = defaultdict(list)
        for r in derived_rows:
            ids_by_entry[to_entry(r)].append(r.id)
        doomed = [ids_by_entry[e].pop() for e in changes.removed]
        await scoring_repo.void_entries(session, doomed, now, reason)
    await scoring_repo.append_entries(session, [_row(e, now) for e in changes.added])
    if changes or full_scores:
        live = [to_entry(r) for r in rows if r.manual or r.rule_id == MANUAL_RULE_ID]
        live += fresh
        live += [to_entry(r) for r in kept]
        touched = [e.at for e in (*changes.added, *changes.removed)]
        since = None if full_scores or not touched else min(touched)
        await recompute_scores(session, setup, unit_id, live, since, now)
    return result


def _with(base: ScoringSetup, rules: RuleSet, periods: Periods | None) -> ScoringSetup:
    if rules is base.rules and (periods is None or periods is base.periods):
        return base
    return replace(base, rules=rules, periods=periods or base.periods, fingerprint="")


def _row(
    entry: Entry, now: datetime, *, manual: bool = False, by: int | None = None
) -> dict[str, Any]:
    return {
        "unit_id": entry.unit_id,
        "rule_id": entry.rule_id,
        "module": entry.module,
        "points": entry.points,
        "at": entry.at,
        "source": entry.source[:200],
        "note": entry.note,
        "manual": manual,
        "created_at": now,
        "created_by": by,
        "voided_at": None,
        "void_reason": None,
    }


async def refresh_after(
    session: Any,
    unit_id: int | None,
    now: datetime,
    settings: Settings | None = None,
    *,
    since: datetime | None = None,
) -> None:
    """The one-line hook for other services: the unit's events changed, bring its points along.

    ``since``: only when the change cannot touch anything earlier (a brand-new event at ``now``).
    """
    if unit_id is None:
        return
    setup = setup_for(settings) if settings is not None else current()
    await refresh_unit(session, unit_id, setup, None, now, since=since)


# --------------------------------------------------------------------------- #
# Per-period scores
# --------------------------------------------------------------------------- #


def _utc(t: datetime) -> datetime:
    return t.astimezone(_UTC)


def spans_with_entries(setup: ScoringSetup, ats: Sequence[datetime], kind: str) -> list[Span]:
    """The spans of ``kind`` holding these (sorted, UTC) instants, one periods lookup per span."""
    found: list[Span] = []
    week = kind == "week"
    lo = hi = None
    for at in ats:
        if lo is not None and (lo < at <= hi if week else lo <= at < hi):  # type: ignore[operator]
            continue
        span = setup.periods.span(kind, at)
        lo, hi = _utc(span.start), _utc(span.end)
        found.append(span)
    return found


def span_total(
    setup: ScoringSetup, unit_id: int, entries: Sequence[Entry], ats: Sequence[datetime], span: Span
) -> Decimal | None:
    """The unit's capped score for ``span``, None when no entry falls in it (the row is dropped: missing = 0).

    ``entries`` are sorted by instant, ``ats`` are their UTC instants.
    """
    if span.kind == "week":
        lo, hi = (
            bisect.bisect_right(ats, _utc(span.start)),
            bisect.bisect_right(ats, _utc(span.end)),
        )
    else:
        lo, hi = bisect.bisect_left(ats, _utc(span.start)), bisect.bisect_left(ats, _utc(span.end))
    if lo == hi:
        return None
    if not setup.capped:
        return sum((e.points for e in entries[lo:hi]), Decimal(0))  # no caps: the sum is the score
    start = span.start + _TICK if span.kind == "week" else span.start
    first = bisect.bisect_left(ats, _utc(engine.history_start(setup.rules, start, setup.periods)))
    return engine.score_span(setup.rules, entries[first:hi], span, setup.periods).total(unit_id)


async def recompute_scores(
    session: Any,
    setup: ScoringSetup,
    unit_id: int,
    entries: Iterable[Entry],
    since: datetime | None,
    now: datetime,
) -> int:
    """Rewrite the unit's ``unit_scores`` for every span ending after ``since`` (None: all). Returns rows written."""
    ordered = sorted(entries, key=lambda e: _utc(e.at))
    ats = [_utc(e.at) for e in ordered]
    if since is None:
        await scoring_repo.clear_unit_scores(session, unit_id)
        stale: list[tuple[str, str]] = []
    else:
        stale = await scoring_repo.unit_score_keys(session, unit_id)
    scores: dict[tuple[str, str], Decimal | None] = {}
    for kind in RANK_KINDS:
        if since is None:
            spans = spans_with_entries(setup, ats, kind)
        else:
            first_span = setup.periods.span(kind, since)
            later = ats[bisect.bisect_left(ats, _utc(since)) :]
            spans = [first_span, *spans_with_entries(setup, later, kind)]
            for k, key in stale:
                if k == kind:
                    span = setup.periods.span_by_key(kind, key)
                    if _utc(span.end) > _utc(since):
                        spans.append(span)
        for span in spans:
            if (kind, span.key) not in scores:
                scores[kind, span.key] = span_total(setup, unit_id, ordered, ats, span)
    await scoring_repo.replace_unit_scores(session, unit_id, scores, now, cleared=since is None)
    return len(scores)


async def rebuild_scores(session: Any, setup: ScoringSetup, unit_id: int, now: datetime) -> int:
    rows = await scoring_repo.live_entries(session, unit_id)
    return await recompute_scores(session, setup, unit_id, [to_entry(r) for r in rows], None, now)


# --------------------------------------------------------------------------- #
# Rescore and the rules fingerprint
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class UnitDiff:
    unit_id: int
    unit_name: str
    added: int
    removed: int
    before: Decimal  # the unit's live points in the ledger, all time
    after: Decimal


async def rescore_unit(
    session: Any, setup: ScoringSetup, unit_id: int, unit_name: str, now: datetime
) -> UnitDiff:
    rows = await scoring_repo.live_entries(session, unit_id)
    before = sum((r.points for r in rows), Decimal(0))
    result = await refresh_unit(
        session, unit_id, setup, None, now, reason="rescore", full_scores=True
    )
    return UnitDiff(
        unit_id, unit_name, len(result.added), len(result.removed), before, before + result.delta
    )


async def rescore_all(db: Any, setup: ScoringSetup, now: datetime) -> list[UnitDiff]:
    """Every unit, one transaction each (a long run never holds one lock on everything)."""
    async with db.session() as session:
        units = [(u.id, u.name) for u in await repo.units(session, include_inactive=True)]
    diffs = []
    for unit_id, name in units:
        async with db.session() as session:
            diffs.append(await rescore_unit(session, setup, unit_id, name, now))
    async with db.session() as session:
        await remember_rules(session, setup, now)
    return diffs


async def remember_rules(session: Any, setup: ScoringSetup, now: datetime) -> None:
    await repo.persist(
        session,
        STATE_KIND,
        STATE_KEY,
        {"fingerprint": setup.fingerprint, "source": setup.source},
        now,
    )


async def rules_changed(session: Any, setup: ScoringSetup) -> bool:
    """True when the ledger was last derived under another rules file (run ``leadbot rescore``)."""
    stored = await repo.persisted_one(session, STATE_KIND, STATE_KEY)
    return stored is not None and stored.get("fingerprint") != setup.fingerprint


async def note_rules(session: Any, setup: ScoringSetup, now: datetime) -> bool:
    """At start-up: remember the rules on a fresh database; say whether a rescore is due."""
    stored = await repo.persisted_one(session, STATE_KIND, STATE_KEY)
    if stored is None:
        await remember_rules(session, setup, now)
        return False
    return stored.get("fingerprint") != setup.fingerprint
