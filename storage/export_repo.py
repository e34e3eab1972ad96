"""Queries for the ledger export (``/export``, ``leadbot export``). Services call these.

Everything comes back as light rows (tuples with named columns), not ORM objects:
an export reads every lead of the jurisdiction, 10 000 and more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Lead,
    LeadEvent,
    Member,
    Unit,
    WeeklySkip,
    WeeklySubmission,
    WeeklyVersion,
)


async def units(session: AsyncSession) -> Sequence[Any]:
    """Every unit, active or not (old leads and ledger lines may name a closed one): id, name, category, active, created_at."""
    stmt = select(Unit.id, Unit.name, Unit.category, Unit.active, Unit.created_at).order_by(
        Unit.category.nulls_last(), Unit.id
    )
    return (await session.execute(stmt)).all()


async def member_names(session: AsyncSession) -> dict[int, str]:
    """Telegram user id → display name, for who moved a stage, confirmed a week, adjusted points."""
    stmt = select(Member.tg_user_id, Member.display_name)
    return dict((await session.execute(stmt)).all())


async def leads(
    session: AsyncSession,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    after: int = 0,
    limit: int | None = None,
) -> Sequence[Any]:
    """The leads reported in ``[start, end)`` or with any history then (None: every lead), oldest
    first, with their unit's and reporter's names; ``after``/``limit``: the next page by id
    (keyset), so the whole library is read a page at a time, never held at once."""
    stmt = (
        select(
            Lead.id,
            Lead.project,
            Lead.company,
            Lead.industry,
            Lead.amount_wan,
            Lead.origin,
            Lead.stage,
            Lead.tags,
            Lead.foreign_usd,
            Lead.contact_name,
            Lead.contact_phone,
            Lead.channel,
            Lead.notes,
            Lead.reported_at,
            Lead.review,
            Lead.duplicate_of,
            Lead.credit_code,
            Unit.name.label("unit_name"),
            Member.display_name.label("reporter_name"),
        )
        .join(Unit, Unit.id == Lead.unit_id)
        .outerjoin(Member, Member.id == Lead.reporter_id)
        .where(Lead.id > after)
        .order_by(Lead.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    if start is not None and end is not None:
        moved = select(LeadEvent.lead_id).where(LeadEvent.at >= start, LeadEvent.at < end)
        stmt = stmt.where(
            or_(and_(Lead.reported_at >= start, Lead.reported_at < end), Lead.id.in_(moved))
        )
    return (await session.execute(stmt)).all()


async def stage_moves(
    session: AsyncSession,
    lead_ids: Sequence[int] | None = None,
    *,
    id_range: tuple[int, int] | None = None,
) -> Sequence[Any]:
    """Every stage change of these leads (None: of every lead; ``id_range``: of the leads with
    ``lo <= id <= hi``, one page of the whole library), in order: lead_id, at, from_value,
    to_value, actor_tg_id."""
    if lead_ids is not None:
        found: list[Any] = []
        for i in range(0, len(lead_ids), 500):
            found += await _stage_moves(session, lead_ids[i : i + 500])
        return found
    return await _stage_moves(session, None, id_range)


async def _stage_moves(
    session: AsyncSession,
    lead_ids: Sequence[int] | None,
    id_range: tuple[int, int] | None = None,
) -> Sequence[Any]:
    stmt = (
        select(
            LeadEvent.lead_id,
            LeadEvent.at,
            LeadEvent.from_value,
            LeadEvent.to_value,
            LeadEvent.actor_tg_id,
        )
        .where(LeadEvent.kind == "stage")
        .where(LeadEvent.lead_id.in_(list(lead_ids)) if lead_ids is not None else true())
        .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)
    )
    if id_range is not None:
        stmt = stmt.where(LeadEvent.lead_id.between(*id_range))
    return (await session.execute(stmt)).all()


async def weekly(session: AsyncSession, period_keys: Sequence[str]) -> Sequence[Any]:
    """Submissions of these periods with the version that counts:
    unit_id, period_key, outcome, submitted_at, decided_by_tg, decided_at."""
    if not period_keys:
        return []
    stmt = (
        select(
            WeeklySubmission.unit_id,
            WeeklySubmission.period_key,
            WeeklySubmission.outcome,
            WeeklyVersion.submitted_at,
            WeeklyVersion.decided_by_tg,
            WeeklyVersion.decided_at,
        )
        .outerjoin(WeeklyVersion, WeeklyVersion.id == WeeklySubmission.accepted_version_id)
        .where(WeeklySubmission.period_key.in_(list(period_keys)))
    )
    return (await session.execute(stmt)).all()


async def skipped(session: AsyncSession, period_keys: Sequence[str]) -> set[str]:
    if not period_keys:
        return set()
    stmt = select(WeeklySkip.period_key).where(WeeklySkip.period_key.in_(list(period_keys)))
    return set((await session.scalars(stmt)).all())
