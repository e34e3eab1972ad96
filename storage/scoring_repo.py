"""Queries for activities, the ledger and the per-period scores. Services call these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Activity,
    Lead,
    LeadEvent,
    LedgerEntry,
    Review,
    Unit,
    UnitScore,
    WeeklySubmission,
    WeeklyVersion,
)

# --- units -------------------------------------------------------------------------------


async def lock_unit(session: AsyncSession, unit_id: int) -> None:
    """Serialise refreshes of one unit (PostgreSQL row lock; SQLite has one writer anyway).

    FOR NO KEY UPDATE, not FOR UPDATE: the caller has usually just inserted a row
    referencing the unit (a lead, an activity), which holds FOR KEY SHARE on it;
    FOR UPDATE would deadlock two such callers, NO KEY UPDATE does not conflict.
    """
    stmt = select(Unit.id).where(Unit.id == unit_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    await session.execute(stmt)


async def lock_units(session: AsyncSession, unit_ids: Sequence[int]) -> None:
    """:func:`lock_unit` for many units in one statement, in id order (two lockers cannot deadlock)."""
    if session.get_bind().dialect.name != "postgresql" or not unit_ids:
        return
    stmt = (
        select(Unit.id)
        .where(Unit.id.in_(sorted(set(unit_ids))))
        .order_by(Unit.id)
        .with_for_update(key_share=True)
    )
    await session.execute(stmt)


async def unit_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Unit.id).order_by(Unit.id))).all())


async def units(session: AsyncSession, category: str | None = None) -> Sequence[Any]:
    """Active units as light rows (id, name, short_name, category, created_at): /rank reads every one."""
    stmt = (
        select(Unit.id, Unit.name, Unit.short_name, Unit.category, Unit.created_at)
        .where(Unit.active.is_(True))
        .order_by(Unit.id)
    )
    if category is not None:
        stmt = stmt.where(Unit.category == category)
    return (await session.execute(stmt)).all()


async def categories(session: AsyncSession) -> list[str]:
    stmt = select(Unit.category).where(Unit.active.is_(True), Unit.category.is_not(None)).distinct()
    return sorted(c for c in (await session.scalars(stmt)).all() if c)


# --- events ------------------------------------------------------------------------------


async def unit_leads(session: AsyncSession, unit_id: int) -> Sequence[Lead]:
    return (
        await session.scalars(select(Lead).where(Lead.unit_id == unit_id).order_by(Lead.id))
    ).all()


async def unit_lead_events(session: AsyncSession, unit_id: int) -> Sequence[LeadEvent]:
    """The events of the unit's leads. Asked through its leads' ids: lead_events has no index by
    unit, and scanning them all for each unit made a rescore quadratic (``unit_id`` is the
    lead's, a lead never changes unit)."""
    own = select(Lead.id).where(Lead.unit_id == unit_id)
    stmt = (
        select(LeadEvent)
        .where(LeadEvent.lead_id.in_(own), LeadEvent.unit_id == unit_id)
        .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)
    )
    return (await session.scalars(stmt)).all()


async def unit_activities(
    session: AsyncSession, unit_id: int, on_or_after: date | None = None
) -> Sequence[Any]:
    """What scoring needs of the unit's activities, as light rows (a unit may have thousands)."""
    stmt = (
        select(
            Activity.id,
            Activity.kind,
            Activity.on_date,
            Activity.review,
            Activity.amount_usd,
            Activity.lead_id,
        )
        .where(Activity.unit_id == unit_id)
        .order_by(Activity.id)
    )
    if on_or_after is not None:
        stmt = stmt.where(Activity.on_date >= on_or_after)
    return (await session.execute(stmt)).all()


async def unit_leads_active_since(
    session: AsyncSession, unit_id: int, since: datetime
) -> Sequence[Lead]:
    """The unit's leads reported, or with any history, at or after ``since``.

    The history is probed lead by lead through ``ix_lead_events_lead_at``: ``lead_events`` has
    no index by unit, and every unit's events since ``since`` are most of a year's."""
    moved = exists().where(LeadEvent.lead_id == Lead.id, LeadEvent.at >= since)
    stmt = select(Lead).where(Lead.unit_id == unit_id, or_(Lead.reported_at >= since, moved))
    return (await session.scalars(stmt.order_by(Lead.id))).all()


async def leads_sitting_in(
    session: AsyncSession, stages: Sequence[str], moved_since: datetime | None
) -> Sequence[Lead]:
    """Live leads (not duplicates, not rejected) now in one of ``stages``, reported or moved at or after
    ``moved_since`` (None: whenever): the only leads whose stay there can run out later (stage nodes)."""
    stmt = select(Lead).where(
        Lead.stage.in_(list(stages)), Lead.duplicate_of.is_(None), Lead.review != Review.REJECTED
    )
    if moved_since is not None:
        moved = select(LeadEvent.lead_id).where(
            LeadEvent.kind == "stage", LeadEvent.at >= moved_since
        )
        stmt = stmt.where(or_(Lead.reported_at >= moved_since, Lead.id.in_(moved)))
    return (await session.scalars(stmt.order_by(Lead.id))).all()


class TimelineRow(NamedTuple):
    """A lead as a report's timeline reads it: a plain tuple (a Row's attribute costs ~1.4 µs;
    a report reads a dozen of each of thousands of leads and their events)."""

    id: int
    unit_id: int
    project: str
    company: str
    industry: str
    amount_wan: Decimal
    origin: str
    stage: str
    tags: list[str] | None
    foreign_usd: Decimal | None
    review: str
    reviewed_at: datetime | None
    duplicate_of: int | None
    reported_at: datetime


class EventRow(NamedTuple):
    """A stage move as a report reads it (see :class:`TimelineRow`); its note is not read
    (storage/digest_repo.stage_notes reads a period's)."""

    lead_id: int
    at: datetime
    kind: str
    from_value: str | None
    to_value: str | None


TIMELINE_COLUMNS = tuple(getattr(Lead, name) for name in TimelineRow._fields)
# The partial index holding every stage move's columns a report reads (storage/models/
# leads.py): the literal 'stage' lets either database see a query is inside it.
STAGE = literal("stage", literal_execute=True)


def _also_read(
    moved_since: datetime | None, reported_since: datetime | None, lead_ids: Sequence[int]
) -> Any:
    """The ids of the leads with a stage move at or after ``moved_since``, reported at or after
    ``reported_since``, and ``lead_ids``: one union, each part through an index (events by
    instant, leads by report time)."""
    parts: list[Any] = [select(Lead.id).where(Lead.id.in_(list(lead_ids)))]
    if moved_since is not None:
        parts.append(
            select(LeadEvent.lead_id).where(LeadEvent.kind == "stage", LeadEvent.at >= moved_since)
        )
    if reported_since is not None:
        parts.append(select(Lead.id).where(Lead.reported_at >= reported_since))
    return union(*parts).subquery()


async def period_leads(
    session: AsyncSession,
    stages: Sequence[str],
    *,
    moved_since: datetime | None = None,
    reported_since: datetime | None = None,
    lead_ids: Sequence[int] = (),
) -> tuple[list[TimelineRow], dict[int, list[EventRow]]]:
    """(leads, their stage moves by lead) that a report of a period reads, every unit at once,
    as light rows, ordered by id: the live leads (first reports, not rejected) now in
    ``stages``, and the leads :func:`_also_read` names. A lead's moves are in order of instant
    and id.

    The leads standing in ``stages`` are read straight from the stage index, each row once
    (a union of ids looked up again read every row twice, for half the time of the report's
    reads); the few others by id. Run on the session's connection (Core, not the ORM's result
    machinery: these are plain column tuples, thousands of them, and the ORM layer doubled
    their cost)."""
    conn = await session.connection()
    leads: list[TimelineRow] = []
    if stages:
        standing = select(*TIMELINE_COLUMNS).where(
            Lead.stage.in_(list(stages)),
            Lead.duplicate_of.is_(None),
            Lead.review != Review.REJECTED,
        )
        leads = [TimelineRow._make(r) for r in (await conn.execute(standing)).all()]
    if lead_ids or moved_since is not None or reported_since is not None:
        seen = {lead.id for lead in leads}
        others = select(*TIMELINE_COLUMNS).where(
            Lead.id.in_(select(_also_read(moved_since, reported_since, lead_ids)))
        )
        leads += [
            TimelineRow._make(r) for r in (await conn.execute(others)).all() if r[0] not in seen
        ]
    leads.sort()  # by id (the first field; ids are unique)
    # Their stage moves: every stage move is read from the partial index of stage moves alone
    # (a few per project under way; ~12 000 on 100 000 leads, in tens of ms), not a scan of
    # every event ever recorded, nor a table row a move, then kept for the leads read. (A
    # lead's report event is not read: its stage is the first move's ``from_value``, or the
    # lead's stage when it never moved.)
    moves = (
        select(LeadEvent.lead_id, LeadEvent.at, LeadEvent.from_value, LeadEvent.to_value)
        .where(LeadEvent.kind == STAGE)
        .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)
    )
    by_lead: dict[int, list[EventRow]] = {lead.id: [] for lead in leads}
    for lead, at, old, new in await conn.execute(moves):
        kept = by_lead.get(lead)
        if kept is not None:
            kept.append(EventRow(lead, at, "stage", old, new))
    return leads, by_lead


async def activity_counts(
    session: AsyncSession,
    first_day: date,
    last_day: date,
    kinds: Sequence[str],
    unit_id: int | None = None,
) -> Sequence[Any]:
    """Every unit's (or one unit's) activities of these kinds dated ``first_day``..``last_day``,
    not rejected, counted in the database: light rows (unit_id, kind, review, n). What a report's
    targets read of a year's activities (thousands of rows on a large jurisdiction) is these
    counts."""
    if not kinds:
        return []
    stmt = (
        select(Activity.unit_id, Activity.kind, Activity.review, func.count())
        .where(
            Activity.on_date >= first_day,
            Activity.on_date <= last_day,
            Activity.kind.in_(sorted(set(kinds))),
            Activity.review != Review.REJECTED,
        )
        .group_by(Activity.unit_id, Activity.kind, Activity.review)
    )
    if unit_id is not None:
        stmt = stmt.where(Activity.unit_id == unit_id)
    return (await session.execute(stmt)).all()


async def lead_events_of(session: AsyncSession, lead_ids: Sequence[int]) -> list[LeadEvent]:
    found: list[LeadEvent] = []
    for i in range(0, len(lead_ids), 500):
        stmt = select(LeadEvent).where(LeadEvent.lead_id.in_(list(lead_ids[i : i + 500])))
        found += (await session.scalars(stmt)).all()
    found.sort(key=lambda e: (e.lead_id, e.at, e.id))
    return found


async def unit_weekly(
    session: AsyncSession, unit_id: int, from_key: str | None = None
) -> Sequence[Any]:
    """The unit's weekly outcomes (light rows: period_key, outcome); ``from_key`` (a week key,
    "2026-W05"; keys sort in time order): the periods from that one on only."""
    stmt = select(WeeklySubmission.period_key, WeeklySubmission.outcome).where(
        WeeklySubmission.unit_id == unit_id, WeeklySubmission.outcome.is_not(None)
    )
    if from_key is not None:
        stmt = stmt.where(WeeklySubmission.period_key >= from_key)
    return (await session.execute(stmt.order_by(WeeklySubmission.period_key))).all()


async def units_weekly(
    session: AsyncSession, unit_ids: Sequence[int], from_key: str
) -> Sequence[Any]:
    """:func:`unit_weekly` of many units in one query (light rows: unit_id, period_key, outcome)."""
    stmt = (
        select(WeeklySubmission.unit_id, WeeklySubmission.period_key, WeeklySubmission.outcome)
        .where(
            WeeklySubmission.unit_id.in_(sorted(set(unit_ids))),
            WeeklySubmission.outcome.is_not(None),
            WeeklySubmission.period_key >= from_key,
        )
        .order_by(WeeklySubmission.unit_id, WeeklySubmission.period_key)
    )
    return (await session.execute(stmt)).all()


async def leads_by_ids(session: AsyncSession, ids: Iterable[int]) -> Sequence[Lead]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return (await session.scalars(select(Lead).where(Lead.id.in_(wanted)))).all()


async def missing_weekly(
    session: AsyncSession, period_keys: Sequence[str]
) -> list[tuple[int, str]]:
    """(unit id, period key) of every missing weekly submission in these periods."""
    if not period_keys:
        return []
    stmt = select(WeeklySubmission.unit_id, WeeklySubmission.period_key).where(
        WeeklySubmission.period_key.in_(list(period_keys)), WeeklySubmission.outcome == "missing"
    )
    return [(u, k) for u, k in (await session.execute(stmt)).all()]


# --- ledger ------------------------------------------------------------------------------


LIVE_COLUMNS = (
    LedgerEntry.id,
    LedgerEntry.unit_id,
    LedgerEntry.rule_id,
    LedgerEntry.module,
    LedgerEntry.points,
    LedgerEntry.at,
    LedgerEntry.source,
    LedgerEntry.note,
    LedgerEntry.manual,
)


async def live_entries(
    session: AsyncSession, unit_id: int, since: datetime | None = None
) -> Sequence[Any]:
    """The unit's live ledger lines (dated at or after ``since``; None: all) as light rows
    (id, unit_id, rule_id, module, points, at, source, note, manual)."""
    stmt = select(*LIVE_COLUMNS).where(
        LedgerEntry.unit_id == unit_id, LedgerEntry.voided_at.is_(None)
    )
    if since is not None:
        stmt = stmt.where(LedgerEntry.at >= since)
    return (await session.execute(stmt.order_by(LedgerEntry.at, LedgerEntry.id))).all()


async def live_rule_entries(
    session: AsyncSession, unit_ids: Sequence[int], rule_ids: Iterable[str], since: datetime
) -> Sequence[Any]:
    """The live lines of these rules of many units dated at or after ``since``, in one query,
    as :func:`live_entries` gives them (ordered by unit, instant, id)."""
    stmt = select(*LIVE_COLUMNS).where(
        LedgerEntry.unit_id.in_(sorted(set(unit_ids))),
        LedgerEntry.rule_id.in_(sorted(set(rule_ids))),
        LedgerEntry.voided_at.is_(None),
        LedgerEntry.at >= since,
    )
    return (
        await session.execute(stmt.order_by(LedgerEntry.unit_id, LedgerEntry.at, LedgerEntry.id))
    ).all()


async def live_entries_between(
    session: AsyncSession, start: datetime, end: datetime, unit_ids: Sequence[int] | None = None
) -> Sequence[Any]:
    stmt = select(*LIVE_COLUMNS).where(
        LedgerEntry.voided_at.is_(None), LedgerEntry.at >= start, LedgerEntry.at < end
    )
    if unit_ids is not None:
        stmt = stmt.where(LedgerEntry.unit_id.in_(list(unit_ids)))
    return (await session.execute(stmt)).all()


async def append_entries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 1000):
        await session.execute(insert(cast(Table, LedgerEntry.__table__)), rows[i : i + 1000])


def new_entry(session: AsyncSession, values: dict[str, Any]) -> LedgerEntry:
    row = LedgerEntry(**values)
    session.add(row)
    return row


async def void_entries(
    session: AsyncSession, ids: Sequence[int], now: datetime, reason: str
) -> None:
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id.in_(chunk), LedgerEntry.voided_at.is_(None))
            .values(voided_at=now, void_reason=reason)
        )


async def count_entries(session: AsyncSession) -> tuple[int, int]:
    """(live, voided) ledger lines."""
    live = await session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.voided_at.is_(None))
    )
    voided = await session.scalar(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.voided_at.is_not(None))
    )
    return int(live or 0), int(voided or 0)


# --- unit scores -------------------------------------------------------------------------


async def unit_score_keys(
    session: AsyncSession, unit_id: int, from_key: str | None = None
) -> list[tuple[str, str]]:
    """The unit's stored spans; ``from_key`` (a year, "2025"): only the keys sorting from it on
    (every key starts with its year, so: the spans of that year and later)."""
    stmt = select(UnitScore.kind, UnitScore.key).where(UnitScore.unit_id == unit_id)
    if from_key is not None:
        stmt = stmt.where(UnitScore.key >= from_key)
    return [(k, key) for k, key in (await session.execute(stmt)).all()]


async def replace_unit_scores(
    session: AsyncSession,
    unit_id: int,
    scores: dict[tuple[str, str], Decimal | None],
    now: datetime,
    *,
    cleared: bool = False,
) -> None:
    """Write these spans of one unit, None = no row (delete + insert: the table is a cache of the ledger).

    ``cleared``: the unit's rows were all deleted already, skip the per-span deletes.
    """
    by_kind: dict[str, list[str]] = {}
    for kind, key in scores:
        by_kind.setdefault(kind, []).append(key)
    for kind, keys in ({} if cleared else by_kind).items():
        for i in range(0, len(keys), 500):
            await session.execute(
                delete(UnitScore).where(
                    UnitScore.unit_id == unit_id,
                    UnitScore.kind == kind,
                    UnitScore.key.in_(keys[i : i + 500]),
                )
            )
    rows = [
        {"unit_id": unit_id, "kind": kind, "key": key, "points": points, "updated_at": now}
        for (kind, key), points in scores.items()
        if points is not None
    ]
    for i in range(0, len(rows), 1000):
        await session.execute(insert(cast(Table, UnitScore.__table__)), rows[i : i + 1000])


async def add_to_unit_scores(
    session: AsyncSession, deltas: dict[tuple[int, str, str], Decimal], now: datetime
) -> None:
    """Add points to these (unit, kind, key) spans: a stored row moves by the delta, a missing
    one (0 points) is written with it. Reads the rows in one query per kind."""
    table = cast(Table, UnitScore.__table__)
    by_kind: dict[str, set[str]] = {}
    for _unit, kind, key in deltas:
        by_kind.setdefault(kind, set()).add(key)
    units_ = sorted({u for u, _, _ in deltas})
    stored: dict[tuple[int, str, str], Decimal] = {}
    for kind, keys in by_kind.items():
        stmt = select(UnitScore.unit_id, UnitScore.key, UnitScore.points).where(
            UnitScore.kind == kind, UnitScore.key.in_(sorted(keys)), UnitScore.unit_id.in_(units_)
        )
        stored |= {(u, kind, k): p for u, k, p in (await session.execute(stmt)).all()}
    changed = [
        {"b_unit": u, "b_kind": kind, "b_key": key, "points": stored[u, kind, key] + delta}
        for (u, kind, key), delta in deltas.items()
        if (u, kind, key) in stored
    ]
    if changed:
        moved = (
            update(table)
            .where(
                table.c.unit_id == bindparam("b_unit"),
                table.c.kind == bindparam("b_kind"),
                table.c.key == bindparam("b_key"),
            )
            .values(points=bindparam("points"), updated_at=now)
        )
        await session.execute(moved, changed)
    rows = [
        {"unit_id": u, "kind": kind, "key": key, "points": delta, "updated_at": now}
        for (u, kind, key), delta in deltas.items()
        if (u, kind, key) not in stored
    ]
    for i in range(0, len(rows), 1000):
        await session.execute(insert(table), rows[i : i + 1000])


async def clear_unit_scores(session: AsyncSession, unit_id: int | None = None) -> None:
    stmt = delete(UnitScore)
    if unit_id is not None:
        stmt = stmt.where(UnitScore.unit_id == unit_id)
    await session.execute(stmt)


async def scores_for(
    session: AsyncSession, kind: str, keys: Sequence[str]
) -> dict[tuple[int, str], Decimal]:
    """{(unit id, key): points} for one span kind: what /rank reads."""
    stmt = select(UnitScore.unit_id, UnitScore.key, UnitScore.points).where(
        UnitScore.kind == kind, UnitScore.key.in_(list(keys))
    )
    return {(u, k): p for u, k, p in (await session.execute(stmt)).all()}


# --- activities ----------------------------------------------------------------------------


def add_activity(session: AsyncSession, **values: Any) -> Activity:
    activity = Activity(**values)
    session.add(activity)
    return activity


async def activity_by_id(
    session: AsyncSession, activity_id: int, *, lock: bool = False
) -> Activity | None:
    stmt = (
        select(Activity)
        .where(Activity.id == activity_id)
        .options(selectinload(Activity.unit), selectinload(Activity.reporter))
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Activity)
    stmt = stmt.execution_options(populate_existing=True)
    return (await session.scalars(stmt)).first()


async def activity_by_origin(session: AsyncSession, origin_ref: str) -> Activity | None:
    return (
        await session.scalars(select(Activity).where(Activity.origin_ref == origin_ref))
    ).first()


async def list_activities(
    session: AsyncSession, *, unit_id: int | None, review: str | None, limit: int
) -> Sequence[Activity]:
    stmt = select(Activity).options(selectinload(Activity.unit), selectinload(Activity.reporter))
    if unit_id is not None:
        stmt = stmt.where(Activity.unit_id == unit_id)
    if review is not None:
        stmt = stmt.where(Activity.review == review)
    stmt = stmt.order_by(Activity.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def accepted_weekly_versions(
    session: AsyncSession, unit_id: int, limit: int
) -> list[tuple[WeeklySubmission, WeeklyVersion]]:
    """The unit's latest weekly submissions with the version that counts (planned trips live there)."""
    stmt = (
        select(WeeklySubmission, WeeklyVersion)
        .join(WeeklyVersion, WeeklyVersion.id == WeeklySubmission.accepted_version_id)
        .where(WeeklySubmission.unit_id == unit_id)
        .order_by(WeeklySubmission.period_key.desc())
        .limit(limit)
    )
    return [(s, v) for s, v in (await session.execute(stmt)).all()]
