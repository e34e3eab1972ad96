"""Reporting leads: first report wins, human ids, who may see what.

The database decides who was first (unique ``first_key``), so two units racing
with the same company get one first report and one duplicate, whatever the
timing. Near matches are advisory: the reporter confirms "same company?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.dedup import CompanyIndex, company_key
from bot.leadfields import COMPANY_MAX, CONTACT_MAX, NOTES_MAX, PROJECT_MAX, clean_line, parse_phone
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.scoring import refresh_after
from storage import lead_repo
from storage.models import Lead, LeadEvent, Review, lead_code


@dataclass(frozen=True)
class FirstReport:
    lead_id: int
    code: str
    unit_name: str
    reported_at: datetime
    project: str


@dataclass(frozen=True)
class NearCandidate:
    lead_id: int
    code: str
    project: str
    company: str
    unit_name: str
    score: float


@dataclass(frozen=True)
class CompanyCheck:
    key: str
    exact: FirstReport | None
    near: list[NearCandidate]


@dataclass(frozen=True)
class LeadDraft:
    """Everything the form collected; values already parsed."""

    project: str
    company: str
    industry: str
    amount_wan: Decimal
    origin: str
    stage: str
    tags: tuple[str, ...] = ()
    foreign_usd: Decimal | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    channel: str | None = None
    notes: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    same_as: int | None = None  # the reporter confirmed a near match is this lead


@dataclass(frozen=True)
class ReportResult:
    lead_id: int
    code: str
    unit_name: str
    first: FirstReport | None  # set when this report is a duplicate


@dataclass
class CompanyDirectory:
    """An in-process index of first-report company keys for fast near matching.

    It only ever grows from the database (new ids since the last sync); a stale
    entry can at worst cause a question "same company?", never a wrong verdict,
    because exact duplicates are decided by the database.
    """

    index: CompanyIndex = field(default_factory=CompanyIndex)
    last_id: int = 0

    async def sync(self, session: AsyncSession) -> None:
        for lead_id, key in await lead_repo.first_keys_after(session, self.last_id):
            self.index.add(key, lead_id)
            self.last_id = max(self.last_id, lead_id)

    async def near(
        self, session: AsyncSession, key: str, threshold: float
    ) -> list[tuple[int, float]]:
        await self.sync(session)
        return [(int(m.ref), m.score) for m in self.index.near(key, threshold=threshold, limit=3)]


def validate_draft(draft: LeadDraft, settings: Settings) -> LeadDraft:
    """The service does not trust the form: every field is checked again."""
    try:
        project = clean_line(draft.project, PROJECT_MAX)
        company = clean_line(draft.company, COMPANY_MAX)
        contact = clean_line(draft.contact_name, CONTACT_MAX) if draft.contact_name else None
        phone = parse_phone(draft.contact_phone) if draft.contact_phone else None
        notes = clean_line(draft.notes, NOTES_MAX, multiline=True) if draft.notes else None
    except ValueError as err:
        raise ServiceError(
            getattr(err, "code", "field.empty"), **getattr(err, "params", {})
        ) from None
    if draft.industry not in settings.industries:
        raise ServiceError("lead.bad_choice", field=draft.industry)
    if draft.origin not in settings.origins or draft.stage not in settings.stages:
        raise ServiceError("lead.bad_choice", field=f"{draft.origin}/{draft.stage}")
    if draft.channel is not None and draft.channel not in settings.channels:
        raise ServiceError("lead.bad_choice", field=draft.channel)
    tags = tuple(t for t in settings.tags if t in set(draft.tags))
    if draft.amount_wan <= 0:
        raise ServiceError("lead.bad_amount")
    return LeadDraft(
        project,
        company,
        draft.industry,
        draft.amount_wan,
        draft.origin,
        draft.stage,
        tags,
        draft.foreign_usd,
        contact,
        phone,
        draft.channel,
        notes,
        draft.attachments,
        draft.same_as,
    )


async def check_company(
    session: AsyncSession, directory: CompanyDirectory, company: str, threshold: float
) -> CompanyCheck:
    key = company_key(company)
    first = await lead_repo.first_by_key(session, key)
    exact = _first(first) if first else None
    near: list[NearCandidate] = []
    if exact is None:
        found = await directory.near(session, key, threshold)
        for lead in await lead_repo.active_firsts(session, [lead_id for lead_id, _ in found]):
            score = next(s for i, s in found if i == lead.id)
            near.append(
                NearCandidate(lead.id, lead.code, lead.project, lead.company, lead.unit.name, score)
            )
        near.sort(key=lambda c: -c.score)
    return CompanyCheck(key, exact, near)


async def report_lead(
    session: AsyncSession, now: datetime, actor: Actor, draft: LeadDraft, settings: Settings
) -> ReportResult:
    if actor.member_id is None or actor.unit_id is None:
        raise ServiceError("lead.no_unit")
    draft = validate_draft(draft, settings)
    key = company_key(draft.company)
    same = await lead_repo.lead_by_id(session, draft.same_as) if draft.same_as else None
    lead = _new_lead(now, actor, draft, key)
    if same is not None and same.first_key is not None:
        lead.duplicate_of, lead.near_confirmed = same.id, True
        session.add(lead)
        await session.flush()
    else:
        lead.first_key = key
        try:
            async with session.begin_nested():
                session.add(lead)
                await session.flush()
        except IntegrityError:
            # Someone else is first: the database said so. Store ours as a duplicate.
            first = await lead_repo.first_by_key(session, key)
            lead = _new_lead(now, actor, draft, key)
            lead.duplicate_of = first.id if first else None
            session.add(lead)
            await session.flush()
    session.add(
        LeadEvent(
            lead_id=lead.id,
            unit_id=lead.unit_id,
            at=now,
            actor_tg_id=actor.tg_user_id,
            kind="report",
            to_value=draft.stage,
        )
    )
    first_lead = (
        await lead_repo.lead_by_id(session, lead.duplicate_of) if lead.duplicate_of else None
    )
    await refresh_after(
        session, lead.unit_id, now, settings, since=now
    )  # scoring: /rank moves at once
    return ReportResult(
        lead.id, lead.code, actor.unit_name or "", _first(first_lead) if first_lead else None
    )


def _new_lead(now: datetime, actor: Actor, draft: LeadDraft, key: str) -> Lead:
    return Lead(
        unit_id=actor.unit_id,
        reporter_id=actor.member_id,
        reported_at=now,
        updated_at=now,
        project=draft.project,
        company=draft.company,
        company_key=key,
        industry=draft.industry,
        amount_wan=draft.amount_wan,
        origin=draft.origin,
        stage=draft.stage,
        tags=list(draft.tags),
        foreign_usd=draft.foreign_usd,
        contact_name=draft.contact_name,
        contact_phone=draft.contact_phone,
        channel=draft.channel,
        notes=draft.notes,
        attachments=list(draft.attachments),
        review=Review.PENDING,
        near_confirmed=False,
    )


def _first(lead: Lead) -> FirstReport:
    return FirstReport(lead.id, lead.code, lead.unit.name, lead.reported_at, lead.project)


def parse_code(text: str) -> int | None:
    """``L0007``, ``l7``, ``7`` → 7."""
    raw = (text or "").strip().upper().lstrip("L")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 9 else None


@dataclass(frozen=True)
class LeadCard:
    """A lead as one person may see it: other units get the outline only."""

    code: str
    project: str
    unit_name: str
    stage: str
    full: bool
    company: str | None = None
    industry: str | None = None
    amount_wan: Decimal | None = None
    origin: str | None = None
    tags: tuple[str, ...] = ()
    foreign_usd: Decimal | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    channel: str | None = None
    notes: str | None = None
    attachments: int = 0
    reported_at: datetime | None = None
    reporter: str | None = None
    review: str | None = None
    review_note: str | None = None
    duplicate_of: str | None = None


def can_see_full(actor: Actor, lead: Lead) -> bool:
    return actor.is_leader or (actor.unit_id is not None and actor.unit_id == lead.unit_id)


def card(actor: Actor, lead: Lead) -> LeadCard:
    if not can_see_full(actor, lead):
        return LeadCard(lead.code, lead.project, lead.unit.name, lead.stage, full=False)
    return LeadCard(
        lead.code,
        lead.project,
        lead.unit.name,
        lead.stage,
        True,
        lead.company,
        lead.industry,
        lead.amount_wan,
        lead.origin,
        tuple(lead.tags or ()),
        lead.foreign_usd,
        lead.contact_name,
        lead.contact_phone,
        lead.channel,
        lead.notes,
        len(lead.attachments or []),
        lead.reported_at,
        lead.reporter.display_name if lead.reporter else None,
        lead.review,
        lead.review_note,
        lead_code(lead.duplicate_of) if lead.duplicate_of else None,
    )
