"""The lead library for the web app: search with filters, and a card with its stage history.

The same visibility as ``/lead``: a unit's members see its leads in full, other units
see id, project, unit and stage only; leaders and admins see everything. The outline
is built here, so no page or JSON endpoint can show more than this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.periods import Periods
from bot.services import ServiceError, attachments
from bot.services.access import Actor
from bot.services.leads import LeadCard, can_see_full, card
from storage import lead_repo, lead_search
from storage.lead_search import SearchFilter

PAGE_SIZE = 20
WORDS_MAX = 60


@dataclass(frozen=True)
class LibraryQuery:
    words: str = ""
    stage: str | None = None
    unit_id: int | None = None
    industry: str | None = None
    period: str | None = None  # a period key: 2026-11, 2026-Q4, 2026, 2026-W48
    page: int = 0


@dataclass(frozen=True)
class LibraryRow:
    code: str
    project: str
    unit_name: str
    stage: str
    full: bool
    company: str | None
    industry: str | None
    reported_at: datetime | None


@dataclass(frozen=True)
class LibraryPage:
    rows: tuple[LibraryRow, ...]
    total: int
    page: int
    pages: int
    units: tuple[tuple[int, str], ...]
    stages: tuple[str, ...]
    industries: tuple[str, ...]


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str
    from_value: str | None
    to_value: str | None
    note: str | None


@dataclass(frozen=True)
class LibraryFile:
    """One attachment as the page lists it: a web upload has a token to download it by;
    a file sent in chat lives on that platform, so the page can only say so."""

    name: str
    kind: str
    token: str | None


@dataclass(frozen=True)
class LibraryCard:
    card: LeadCard
    history: tuple[HistoryLine, ...]  # empty for an outline
    files: tuple[LibraryFile, ...] = ()  # empty for an outline


def _require_member(actor: Actor) -> None:
    if not actor.is_member:
        raise ServiceError("access.stranger")


async def search(
    session: AsyncSession, actor: Actor, settings: Settings, periods: Periods, query: LibraryQuery
) -> LibraryPage:
    _require_member(actor)
    if query.stage is not None and query.stage not in settings.stages:
        raise ServiceError(
            "leads.stage.unknown", stage=query.stage, stages="、".join(settings.stages)
        )
    since = until = None
    if query.period:
        try:
            kind = _period_kind(query.period)
            span = periods.span_by_key(kind, query.period)
        except ValueError:
            raise ServiceError("web.leads.bad_period", key=query.period[:20]) from None
        since, until = span.start, span.end
    words = " ".join(query.words.split())[:WORDS_MAX]
    f = SearchFilter(words, query.stage, query.unit_id, query.industry, since, until)
    page = max(query.page, 0)
    rows, total = await lead_search.search(
        session, f, actor.unit_id, actor.is_leader, page * PAGE_SIZE, PAGE_SIZE
    )
    units = tuple((u.id, u.name) for u in await lead_search.active_units(session))
    return LibraryPage(
        tuple(_row(actor, lead) for lead in rows),
        total,
        page,
        max(1, -(-total // PAGE_SIZE)),
        units,
        tuple(settings.stages),
        tuple(settings.industries),
    )


def _row(actor: Actor, lead: object) -> LibraryRow:
    from storage.models import Lead

    assert isinstance(lead, Lead)
    full = can_see_full(actor, lead)
    return LibraryRow(
        lead.code,
        lead.project,
        lead.unit.name,
        lead.stage,
        full,
        lead.company if full else None,
        lead.industry if full else None,
        lead.reported_at if full else None,
    )


async def lead_card(session: AsyncSession, actor: Actor, code: str) -> LibraryCard:
    _require_member(actor)
    raw = code.strip().upper().lstrip("L")
    lead = (
        await lead_repo.lead_by_id(session, int(raw)) if raw.isdigit() and len(raw) <= 9 else None
    )
    if lead is None:
        raise ServiceError("leads.not_found", lead=code[:12])
    shown = card(actor, lead)
    if not shown.full:
        return LibraryCard(shown, ())
    events = await lead_repo.lead_history(session, lead.id)
    return LibraryCard(
        shown,
        tuple(HistoryLine(e.at, e.kind, e.from_value, e.to_value, e.note) for e in events),
        tuple(_file(entry) for entry in lead.attachments or () if isinstance(entry, dict)),
    )


def _file(entry: dict[str, object]) -> LibraryFile:
    file_id = str(entry.get("file_id") or "")
    kind = str(entry.get("kind") or "document")
    return LibraryFile(str(entry.get("name") or ""), kind, attachments.token_of(file_id))


def _period_kind(key: str) -> str:
    k = key.strip().upper()
    if "-W" in k:
        return "week"
    if "-Q" in k:
        return "quarter"
    if "-" in k:
        return "month"
    return "year"
