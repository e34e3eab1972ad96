"""Queries for the leaders' periodic reports (bot/services/digests/). Services call these.

Everything comes back as light rows (tuples with named columns): a report reads
every lead of the jurisdiction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Review
from storage.models import Lead, LeadEvent, WeeklySubmission, WeeklyVersion

LEAD_COLUMNS = (
    Lead.id,
    Lead.unit_id,
    Lead.project,
    Lead.company,
    Lead.industry,
    Lead.amount_wan,
    Lead.origin,
    Lead.stage,
    Lead.review,
    Lead.duplicate_of,
    Lead.reported_at,
)


async def leads_reported_between(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[Any]:
    """Leads reported in ``[start, end)``, duplicates and rejected ones included, oldest first."""
    stmt = select(*LEAD_COLUMNS).where(Lead.reported_at >= start, Lead.reported_at < end)
    return (await session.execute(stmt.order_by(Lead.reported_at, Lead.id))).all()


async def verified_counts(session: AsyncSession, start: datetime, end: datetime) -> dict[int, int]:
    """Per unit, its counted leads (first reports, verified) verified in ``[start, end)``: at
    their review time, or their report without one (as bot.services.scoring.lead_timeline dates
    a verification). Counted in the database through the (review, reviewed_at) index: a year's
    verified leads are thousands of rows, and only their number per unit is shown."""
    counted = (Lead.review == Review.VERIFIED, Lead.duplicate_of.is_(None))
    reviewed = (
        select(Lead.unit_id, func.count())
        .where(*counted, Lead.reviewed_at >= start, Lead.reviewed_at < end)
        .group_by(Lead.unit_id)
    )
    unreviewed = (
        select(Lead.unit_id, func.count())
        .where(
            *counted, Lead.reviewed_at.is_(None), Lead.reported_at >= start, Lead.reported_at < end
        )
        .group_by(Lead.unit_id)
    )
    found: dict[int, int] = {}
    for unit_id, n in (await session.execute(union_all(reviewed, unreviewed))).all():
        found[unit_id] = found.get(unit_id, 0) + int(n)
    return found


async def stage_notes(session: AsyncSession, since: datetime, before: datetime) -> Sequence[Any]:
    """The notes of the stage moves made in ``[since, before)``: lead_id, at, note (a report's
    latest progress and problems; a year of moves, through the index of events by instant)."""
    stmt = select(LeadEvent.lead_id, LeadEvent.at, LeadEvent.note).where(
        LeadEvent.at >= since,
        LeadEvent.at < before,
        LeadEvent.kind == "stage",
        LeadEvent.note.is_not(None),
        LeadEvent.note != "",
    )
    return (await session.execute(stmt.order_by(LeadEvent.at, LeadEvent.id))).all()


async def accepted_progress(
    session: AsyncSession, since: datetime, before: datetime
) -> list[tuple[int, datetime, list[Any]]]:
    """The 项目进展 entries of the weekly versions that count, submitted in ``[since, before)``:
    (unit_id, submitted_at, entries: lead, text, stage, from), oldest first.

    Only a version whose ``content["progress"]`` is a non-empty list comes back, and only that
    list is read (the database picks it out of the JSON): most weeks report no project
    progress, and a year of 300 units' whole submissions is thousands of documents to parse.
    """
    progress = WeeklyVersion.content["progress"].as_string()  # the list's JSON text
    stmt = (
        select(WeeklySubmission.unit_id, WeeklyVersion.submitted_at, progress)
        .select_from(WeeklyVersion)
        .join(  # the versions of the span by time, then each one's submission by its key
            WeeklySubmission,
            (WeeklySubmission.id == WeeklyVersion.submission_id)
            & (WeeklySubmission.accepted_version_id == WeeklyVersion.id),
        )
        .where(
            WeeklyVersion.submitted_at >= since,
            WeeklyVersion.submitted_at < before,
            progress.is_not(None),
            progress != "[]",  # the common empty list; any other text is parsed below
        )
        .order_by(WeeklyVersion.submitted_at, WeeklyVersion.id)
    )
    found = []
    for unit_id, submitted_at, text in (await session.execute(stmt)).all():
        entries = json.loads(text) if isinstance(text, str) else text
        if isinstance(entries, list) and entries:
            found.append((unit_id, submitted_at, entries))
    return found
