"""Events from the database: one unit's rows (leads with their facts as they were,
stages, activities, weekly outcomes, funds, overdue nodes) turned into engine events.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from bot.domain.amounts import AmountError, parse_usd, parse_wan
from bot.domain.enums import Review
from bot.domain.periods import Periods
from bot.rules import (
    Event,
    LeadFacts,
    RuleSet,
)
from bot.rules.schedule import max_deadline, overdue_nodes
from bot.services.scoring.setup import ScoringSetup
from storage import funds_repo, scoring_repo
from storage.models import Lead, LeadEvent, TaxRecord

LEAD_FACT_FIELDS = frozenset(
    {"amount_wan", "origin", "industry", "tags", "foreign_usd", "outside_share"}
)
TaxPaid = tuple[tuple[datetime, Decimal], ...]  # a lead's live tax records: (counts_at, 万元)


@dataclass
class LeadTimeline:
    """One lead's facts over time and the stages it has reached (and when)."""

    lead: Lead
    reached: dict[str, datetime]
    edits: list[tuple[datetime, str, str | None]]  # (at, field, value before)
    verified_at: datetime | None
    confirmed: dict[str, datetime] = field(
        default_factory=dict
    )  # 逐节点认定: stage → when a leader confirmed it
    tax: TaxPaid = ()  # 税收 records (storage TaxRecord), by counts_at

    def facts(self, at: datetime | None = None) -> LeadFacts:
        """The lead as it was at ``at`` (None: as it is now); verification and duplicates as they are now."""
        lead = self.lead
        values: dict[str, Any] = {
            "amount_wan": lead.amount_wan,
            "origin": lead.origin,
            "industry": lead.industry,
            "tags": list(lead.tags or []),
            "foreign_usd": lead.foreign_usd,
            "outside_share": getattr(lead, "outside_share", None),
        }
        if at is not None:
            for when, name, before in reversed(self.edits):
                if when > at:
                    values[name] = _parse_old(name, before, values[name])
        paid = tuple((t, a) for t, a in self.tax if at is None or t <= at)  # paid by then
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
            outside_share=_decimal(values["outside_share"]),
            tax_wan=sum((amount for _, amount in paid), Decimal(0)) if paid else None,
            tax_paid=paid,
            reached=tuple(
                sorted(
                    ((s, t) for s, t in self.reached.items() if at is None or t <= at),
                    key=lambda p: p[1],
                )
            ),  # the real timeline: a node awaiting confirmation was still reached (考核期限 runs)
        )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _parse_old(name: str, text: str | None, fallback: Any) -> Any:
    """A value as the lead history stored it (see lead_updates.edits._as_text)."""
    try:
        if name == "amount_wan":
            return parse_wan(text) if text else fallback
        if name == "foreign_usd":
            return parse_usd(text) if text else None
        if name == "outside_share":
            return Decimal(text) if text else None
        if name == "tags":
            return [t for t in (text or "").split("、") if t]
    except AmountError:
        return fallback
    return text if text is not None else fallback


@functools.lru_cache(maxsize=16)
def _stage_index(stages: tuple[str, ...]) -> dict[str, int]:
    return {s: i for i, s in enumerate(stages)}


def lead_timeline(
    lead: Lead, events: Sequence[LeadEvent], stages: Sequence[str], tax: TaxPaid = ()
) -> LeadTimeline:
    index = _stage_index(tuple(stages))
    reached: dict[str, datetime] = {}

    def move(stage: str | None, at: datetime) -> None:
        # ``reached`` always holds the first stages in order (a move reaches every stage up
        # to its own and takes away the later ones), so its length says which.
        top = index.get(stage)  # type: ignore[arg-type]
        if top is None:
            return
        held = len(reached)
        if held > top + 1:  # a leader moved the lead back: the later stages are lost
            for s in stages[top + 1 : held]:
                del reached[s]
        for s in stages[held : top + 1]:  # a skipped stage counts as reached at the move
            reached[s] = at

    move(reported_stage(lead, events), lead.reported_at)
    edits: list[tuple[datetime, str, str | None]] = []
    confirmed: dict[str, datetime] = {}
    for e in events:
        if e.kind == "stage":
            move(e.to_value, e.at)
        elif e.kind == "edit" and e.field in LEAD_FACT_FIELDS:
            edits.append((e.at, e.field, e.from_value))
        elif e.kind == "confirm" and e.to_value:
            confirmed.setdefault(e.to_value, e.at)
    # A verification is dated at the review time, which every one records (with its ``verify``
    # event, the audit trail): the reports count verifications by it in the database
    # (storage/digest_repo.verified_counts). A lead verified without one: at its report.
    verified = lead.review == Review.VERIFIED
    return LeadTimeline(
        lead,
        reached,
        edits,
        (lead.reviewed_at or lead.reported_at) if verified else None,
        confirmed,
        tax,
    )


def reported_stage(lead: Lead, events: Sequence[LeadEvent]) -> str:
    """The stage the lead was reported at: its first report event's, else where its first
    move left from, else where it stands (one pass: a report reads thousands of leads)."""
    first_move = None
    report_seen = False
    for e in events:
        if e.kind == "report" and not report_seen:
            if e.to_value:
                return e.to_value
            report_seen = True  # a report without its stage: the first move tells
        elif e.kind == "stage" and first_move is None:
            first_move = e
        if report_seen and first_move is not None:
            break
    return first_move.from_value if first_move and first_move.from_value else lead.stage


def activity_instant(on_date: date, zone: ZoneInfo) -> datetime:
    """An activity is dated by day; it counts at local noon (inside that day's week, whatever the deadline hour)."""
    return datetime.combine(on_date, time(12, 0), tzinfo=zone)


def activity_days(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[date, date]:
    """The first and last days whose activities count in ``[start, end)`` (their local noon
    falls inside it): a span's activities as a range of dates the database can count."""
    first = start.astimezone(zone).date()
    if activity_instant(first, zone) < start:
        first += timedelta(days=1)
    last = end.astimezone(zone).date()
    if activity_instant(last, zone) >= end:
        last -= timedelta(days=1)
    return first, last


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
    events: bool = True,
    activities: bool = True,
) -> UnitHistory:
    """Every scoring event of one unit, built from its rows.

    ``since``: only what can matter from that instant on -- the leads with an event
    then or later (with their whole history) and the activities from then on.
    ``now``: stage nodes still not reached by then are overdue (``stage_overdue``);
    without it only the nodes already reached late are.
    ``events=False``: the leads' timelines and the activities only (``/score``'s targets and
    funnel read nothing else): no events built, no weekly outcomes or funds read.
    ``activities=False`` (with ``events=False``): not even the activities -- the caller counts
    them in the database (``scoring_repo.activity_counts``): a busy unit records hundreds a year.
    """
    rules = setup.rules
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
    tax = await unit_tax(session, unit_id)
    timelines = {
        lead.id: lead_timeline(lead, by_lead.get(lead.id, []), rules.stages, tax.get(lead.id, ()))
        for lead in leads
        if lead.review != Review.REJECTED  # 不予认定: scores nothing and counts for nothing
    }
    if not (events or activities):
        return UnitHistory([], timelines, [])
    on_or_after = None if since is None else since.astimezone(setup.zone).date() - timedelta(days=1)
    recorded = [
        a
        for a in await scoring_repo.unit_activities(session, unit_id, on_or_after)
        if a.review != Review.REJECTED
    ]
    history = UnitHistory([], timelines, recorded)
    if not events:
        return history
    for tl in timelines.values():
        history.events += lead_scoring_events(rules, tl, now)
    history.events += await activity_events(session, setup, unit_id, timelines, recorded, tax)
    from_key = None if since is None else weekly_from_key(setup.periods, since)
    rows = await scoring_repo.unit_weekly(session, unit_id, from_key)
    history.events += weekly_events(setup.periods, unit_id, rows)
    history.events += await funds_events(session, unit_id, timelines, tax)
    return history


def lead_scoring_events(rules: RuleSet, tl: LeadTimeline, now: datetime | None) -> list[Event]:
    """A lead's events: reported, verified, each stage reached (a 逐节点认定 node once a leader
    confirmed it), each node missed by ``now``."""
    lead, unit_id = tl.lead, tl.lead.unit_id
    events = [
        Event(
            f"lead:{lead.id}:reported",
            "lead_reported",
            unit_id,
            lead.reported_at,
            lead=tl.facts(lead.reported_at),
        )
    ]
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
        if stage in rules.confirm_stages:  # 逐节点认定: the node scores once a leader confirmed it
            confirmed = tl.confirmed.get(stage)
            if confirmed is None:
                continue
            at = max(at, confirmed)
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
    return events + overdue_events(rules, tl, now)


async def activity_events(
    session: Any,
    setup: ScoringSetup,
    unit_id: int,
    timelines: dict[int, LeadTimeline],
    activities: Sequence[Any],
    tax: dict[int, TaxPaid] | None = None,
) -> list[Event]:
    """One ``activity`` event per activity, dated at local noon of its day, with the facts of the
    lead it concerns as they are now (a lead outside the window is read for it)."""
    linked = {a.lead_id for a in activities if a.lead_id is not None}
    extra = {
        lead.id: lead for lead in await scoring_repo.leads_by_ids(session, linked - set(timelines))
    }
    events = []
    for a in activities:
        facts = None
        if a.lead_id is not None:
            linked_tl = timelines.get(a.lead_id)
            facts = (
                linked_tl.facts()
                if linked_tl
                else (
                    _plain_facts(extra[a.lead_id], (tax or {}).get(a.lead_id, ()))
                    if a.lead_id in extra
                    else None
                )
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
    return events


def weekly_from_key(periods: Periods, since: datetime) -> str:
    """The first week whose outcome can matter from ``since`` on: the one before its week
    (keys such as "2026-W05" sort in time order)."""
    return periods.previous(periods.week_of(since)).key


def weekly_events(
    periods: Periods,
    unit_id: int,
    rows: Iterable[Any],
    deadlines: dict[str, datetime | None] | None = None,
) -> list[Event]:
    """One ``weekly`` event per outcome (light rows: period_key, outcome), dated at the deadline;
    a key the calendar cannot place is left out. ``deadlines``: the keys' deadlines found so far
    (a caller building many units' events shares it: the calendar is asked once a key)."""
    known = {} if deadlines is None else deadlines
    events = []
    for sub in rows:
        if sub.period_key not in known:
            try:
                known[sub.period_key] = periods.by_key(sub.period_key).deadline
            except ValueError:
                known[sub.period_key] = None
        deadline = known[sub.period_key]
        if deadline is not None:
            events.append(
                Event(f"weekly:{sub.period_key}", "weekly", unit_id, deadline, status=sub.outcome)
            )
    return events


async def unit_tax(session: Any, unit_id: int) -> dict[int, TaxPaid]:
    """The unit's live 税收 records by lead, oldest first (a handful per project and year)."""
    by_lead: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for r in await funds_repo.unit_live(session, unit_id, TaxRecord):
        if r.amount_wan > 0:
            by_lead[r.lead_id].append((r.counts_at, Decimal(r.amount_wan)))
    return {lead: tuple(sorted(rows)) for lead, rows in by_lead.items()}


async def collect_period(
    session: Any,
    setup: ScoringSetup,
    unit_ids: Sequence[int],
    standing: Sequence[str],
    *,
    moved_since: datetime | None = None,
    reported_since: datetime | None = None,
    lead_ids: Sequence[int] = (),
) -> tuple[dict[int, UnitHistory], Mapping[int, Sequence[Any]]]:
    """The timelines a leaders' report reads, every unit in two queries (``activities`` and
    ``events`` are left empty: a report counts activities and verifications in the database),
    and the lead events read, by lead (light rows: lead_id, kind, at, from_value, to_value).

    A lead is read when it is live and now at one of the stages ``standing``, moved stage at or
    after ``moved_since``, was reported at or after ``reported_since``, or is one of
    ``lead_ids``. A lead has reached a stage only while it stands there or later (a move back
    takes the later stages away), so a report whose figures read the stages ``standing`` and
    later needs no other lead, whatever its period: its cost follows the projects under way,
    not the history. Only the reports and stage moves are read: a report judges
    a lead as it is now, not its past edits; a verification is dated by the lead's review time.
    """
    wanted = set(unit_ids)
    found = {u: UnitHistory([], {}, []) for u in unit_ids}
    leads, by_lead = await scoring_repo.period_leads(
        session,
        standing,
        moved_since=moved_since,
        reported_since=reported_since,
        lead_ids=sorted(set(lead_ids)),
    )
    stages = setup.rules.stages
    for lead in leads:
        if lead.review == Review.REJECTED or lead.unit_id not in wanted:
            continue
        # A light row with every column a timeline reads of a lead (storage TimelineRow).
        found[lead.unit_id].timelines[lead.id] = lead_timeline(
            cast(Lead, lead), cast(list[LeadEvent], by_lead.get(lead.id, [])), stages
        )
    return found, by_lead


async def funds_events(
    session: Any,
    unit_id: int,
    timelines: dict[int, LeadTimeline],
    tax: dict[int, TaxPaid] | None = None,
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
            else (
                _plain_facts(extra[r.lead_id], (tax or {}).get(r.lead_id, ()))
                if r.lead_id in extra
                else None
            )
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


def _plain_facts(lead: Lead, tax: TaxPaid = ()) -> LeadFacts:
    return LeadTimeline(lead, {}, [], None, tax=tax).facts()
