"""The lead library's search: what the web app's /app/leads lists.

Visibility is part of the query, not a filter after it: a liaison's words and the
industry filter only ever match leads of the liaison's own unit (matching another
unit's company or industry would tell what its outline hides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Lead, Unit


@dataclass(frozen=True)
class SearchFilter:
    words: str = ""
    stage: str | None = None
    unit_id: int | None = None
    industry: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(
    session: AsyncSession,
    f: SearchFilter,
    own_unit: int | None,
    see_all: bool,
    offset: int,
    limit: int,
) -> tuple[Sequence[Lead], int]:
    """Newest first. ``see_all`` (leaders) searches every field of every lead;
    otherwise company words and industry match only ``own_unit``'s leads."""
    conds = []
    full = Lead.unit_id == own_unit if not see_all else None
    if f.words:
        pattern = _like(f.words)
        project = Lead.project.ilike(pattern, escape="\\")
        company = Lead.company.ilike(pattern, escape="\\")
        code = Lead.id == int(f.words.upper().lstrip("L")) if _is_code(f.words) else None
        hidden = company if full is None else and_(full, company)
        options = [project, hidden] + ([code] if code is not None else [])
        conds.append(or_(*options))
    if f.stage:
        conds.append(Lead.stage == f.stage)
    if f.unit_id is not None:
        conds.append(Lead.unit_id == f.unit_id)
    if f.industry:
        conds.append(
            Lead.industry == f.industry if full is None else and_(full, Lead.industry == f.industry)
        )
    if f.since is not None:
        conds.append(Lead.reported_at >= f.since)
    if f.until is not None:
        conds.append(Lead.reported_at < f.until)
    total = await session.scalar(select(func.count()).select_from(Lead).where(*conds)) or 0
    stmt = (
        select(Lead)
        .where(*conds)
        .options(selectinload(Lead.unit))
        .order_by(Lead.reported_at.desc(), Lead.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all(), total


async def active_units(session: AsyncSession) -> Sequence[Unit]:
    return (await session.scalars(select(Unit).where(Unit.active).order_by(Unit.id))).all()


def _is_code(words: str) -> bool:
    raw = words.strip().upper().lstrip("L")
    return raw.isdigit() and 0 < len(raw) <= 9
