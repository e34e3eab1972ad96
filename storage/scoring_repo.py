"""Queries for activities, the ledger and the per-period scores. Services call these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
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
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    await session.execute(stmt)


async def unit_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Unit.id).order_by(Unit.id))).all())


async def units(session: AsyncSession, category: str | None = None) -> Sequence[Any]:
    """Active units as light rows (id, name, short_name, category): /rank reads every one of them."""
    stmt = (
        select(Unit.id, Unit.name, Unit.short_name, Unit.category)
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
    stmt = (
        select(LeadEvent)
        .where(LeadEvent.unit_id == unit_id)
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
    """The unit's leads reported, or with any history, at or after ``since``."""
    moved = select(LeadEvent.lead_id).where(LeadEvent.unit_id == unit_id, LeadEvent.at >= since)
    stmt = select(Lead).where(
        Lead.unit_id == unit_id, or_(Lead.reported_at >= since, Lead.id.in_(moved))
    )
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


async def lead_events_of(session: AsyncSession, lead_ids: Sequence[int]) -> list[LeadEvent]:
    found: list[LeadEvent] = []
    for i in range(0, len(lead_ids), 500):
        stmt = select(LeadEvent).where(LeadEvent.lead_id.in_(list(lead_ids[i : i + 500])))
        found += (await session.scalars(stmt)).all()
    found.sort(key=lambda e: (e.lead_id, e.at, e.id))
    return found


async def unit_weekly(session: AsyncSession, unit_id: int) -> Sequence[WeeklySubmission]:
    stmt = select(WeeklySubmission).where(
        WeeklySubmission.unit_id == unit_id, WeeklySubmission.outcome.is_not(None)
    )
    return (await session.scalars(stmt.order_by(WeeklySubmission.period_key))).all()


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


async def live_entries(session: AsyncSession, unit_id: int) -> Sequence[Any]:
    """The unit's live ledger lines as light rows (id, unit_id, rule_id, module, points, at, source, note, manual)."""
    stmt = select(*LIVE_COLUMNS).where(
        LedgerEntry.unit_id == unit_id, LedgerEntry.voided_at.is_(None)
    )
    return (await session.execute(stmt.order_by(LedgerEntry.at, LedgerEntry.id))).all()


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
        await session.execute(insert(LedgerEntry.__table__), rows[i : i + 1000])


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


async def recent_entries(session: AsyncSession, unit_id: int, limit: int) -> Sequence[LedgerEntry]:
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.unit_id == unit_id, LedgerEntry.voided_at.is_(None))
        .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


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


async def unit_score_keys(session: AsyncSession, unit_id: int) -> list[tuple[str, str]]:
    stmt = select(UnitScore.kind, UnitScore.key).where(UnitScore.unit_id == unit_id)
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
        await session.execute(insert(UnitScore.__table__), rows[i : i + 1000])


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
    if lock and session.bind.dialect.name == "postgresql":
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
