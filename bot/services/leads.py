"""Reporting leads: first report wins, human ids, who may see what.

The database decides who was first (unique ``first_key``, and unique
``first_credit`` for the unified social credit code), so two units racing with
the same company get one first report and one duplicate, whatever the timing.
Near matches (:mod:`bot.domain.company_match`) are advisory: the reporter confirms
"same company?"; a "different" answer is remembered for that pair of names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.company_match import MAX_BUCKET, NameIndex, db_fragments
from bot.domain.credit_code import CreditCodeError, parse_credit_code
from bot.domain.dedup import CompanyIndex, company_key
from bot.domain.enums import Review, lead_code
from bot.domain.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    clean_line,
    parse_phone,
)
from bot.operations import heap
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.scoring import refresh_after
from storage import dedup_repo, funds_repo, lead_repo
from storage.db import Database
from storage.models import Lead, LeadEvent, TaxRecord


@dataclass(frozen=True)
class FirstReport:
    lead_id: int
    code: str
    unit_name: str
    reported_at: datetime
    project: str


log = logging.getLogger(__name__)

NEAR_LIMIT = 3  # at most this many "same company?" buttons


@dataclass(frozen=True)
class NearCandidate:
    lead_id: int
    code: str
    project: str
    company: str
    unit_name: str
    score: float
    key: str = ""
    reason: str = "fuzzy"  # core | place | typo | spelling | fuzzy (bot.domain.company_match)


@dataclass(frozen=True)
class CompanyCheck:
    """The verdict of the company step: an exact first report (by credit code or
    by key), else up to three plausible candidates to ask about, else nothing."""

    key: str
    exact: FirstReport | None
    near: list[NearCandidate]
    credit_code: str | None = None
    by_credit: bool = False  # ``exact`` was found by the credit code


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
    credit_code: str | None = None  # 统一社会信用代码, checked again on save
    # seed 004 二(四): asked only when the rules read them (bot.rules.uses)
    outside_share: Decimal | None = None  # 县外投资比例, percent 0–100
    tax_wan: Decimal | None = None  # 服务业: tax paid so far, 万元: a record of this month


@dataclass(frozen=True)
class ReportResult:
    lead_id: int
    code: str
    unit_name: str
    first: FirstReport | None  # set when this report is a duplicate


@dataclass
class CompanyDirectory:
    """In-process indexes of first-report companies for fast near matching.

    It only ever grows from the database: the check's one lookup statement also
    returns the leads with an id above the last one seen, and the ids a read
    skipped (a transaction still open, on PostgreSQL ids come before the commit)
    are looked for again until :data:`SETTLE_S` has passed. A stale entry can at
    worst cause a question "same company?", never a wrong verdict, because exact
    duplicates are decided by the database. After a restart the
    one-off build runs in the background (:meth:`start_warming`), so the first
    report does not pay for it: a check during the build does not wait for it
    either, it asks the database for a bounded set of likely names
    (:func:`bot.domain.company_match.db_fragments`) and judges those alone.
    """

    index: CompanyIndex = field(default_factory=CompanyIndex)
    names: NameIndex = field(default_factory=NameIndex)
    last_id: int = 0
    build_ms: float | None = None  # how long the last background build took
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    # Ids below ``last_id`` no read returned yet → when first missed: a lead whose
    # transaction commits after a later one's (PostgreSQL sequences), looked for again
    # until SETTLE_S has passed.
    _gaps: dict[int, float] = field(default_factory=dict, repr=False)
    _warming: asyncio.Task[None] | None = field(default=None, repr=False)

    def start_warming(self, db: Database, hold: asyncio.Event | None = None) -> None:
        """Build the indexes off the hot path; call once at start-up. ``hold``: the build
        starts only once it is set (tests and the benchmark check during a build)."""
        if self._warming is None and self.last_id == 0:
            self._warming = asyncio.get_running_loop().create_task(self._warm(db, hold))

    @property
    def building(self) -> bool:
        """The background build is under way and nothing was indexed yet."""
        task = self._warming
        return task is not None and not task.done() and self.last_id == 0

    async def ready(self) -> None:
        """Wait for the background build, if one is under way."""
        task = self._warming
        if task is not None and not task.done():
            await asyncio.shield(task)

    async def stop_warming(self) -> None:
        task, self._warming = self._warming, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _warm(self, db: Database, hold: asyncio.Event | None = None) -> None:
        if hold is not None:
            await hold.wait()
        started = time.perf_counter()
        try:
            async with db.session() as session:
                rows = await dedup_repo.leads_after(session, 0)
            index, names = await asyncio.to_thread(_build, rows)
            missing = await asyncio.to_thread(_missing, rows, 0)
        except Exception:  # the check builds on demand instead
            log.exception("near-match index: background build failed, building on demand")
            return
        if self.last_id == 0:  # nobody synced meanwhile
            self.index, self.names = index, names
            self.last_id = max((lead_id for lead_id, _, _ in rows), default=0)
            self._gaps = dict.fromkeys(missing, self.clock())
            heap.settle()  # a long-lived index: later collections need not scan it
        self.build_ms = (time.perf_counter() - started) * 1000
        log.info("near-match index: %d companies in %.0f ms", len(names), self.build_ms)

    async def sync(self, session: AsyncSession) -> None:
        await self.ready()
        self.absorb(await dedup_repo.leads_after(session, self.last_id, list(self._gaps)))

    def sync_point(self) -> tuple[int, list[int]] | None:
        """(the id above which, the missing ids among which) the check's lookup reads new
        leads for :meth:`absorb`; None during the background build (the build reads them)."""
        if self.building:
            return None
        now = self.clock()
        for lead_id, since in list(self._gaps.items()):
            if now - since > SETTLE_S:  # rolled back (or deleted): no commit is coming
                del self._gaps[lead_id]
        return self.last_id, sorted(self._gaps)[-MAX_GAPS:]

    def absorb(self, rows: Sequence[dedup_repo.NewRow]) -> None:
        """Index the first reports among these leads (id, key or None, name); ones already
        indexed are skipped, so two checks absorbing the same new rows add each once. Ids
        above ``last_id`` the read did not return are remembered as gaps."""
        for lead_id, key, name in rows:
            self._gaps.pop(lead_id, None)
            if key and lead_id not in self.names:
                self.index.add(key, lead_id)
                self.names.add(name, lead_id)
        top = max((lead_id for lead_id, _, _ in rows), default=0)
        if top > self.last_id:
            now = self.clock()
            for lead_id in _missing(rows, self.last_id):
                if lead_id not in self.names:
                    self._gaps.setdefault(lead_id, now)
            self.last_id = top

    async def near(
        self, session: AsyncSession, key: str, threshold: float
    ) -> list[tuple[int, float]]:
        """The key-similarity hits (rapidfuzz ≥ ``threshold``): today's rule, kept."""
        await self.sync(session)
        return [(int(m.ref), m.score) for m in self.index.near(key, threshold=threshold, limit=3)]

    async def candidates(
        self,
        session: AsyncSession,
        company: str,
        key: str,
        threshold: float,
        synced: bool = False,
    ) -> dict[int, tuple[float, str]]:
        """Lead id → (score, reason) of every plausible other spelling, best first.

        ``synced``: the caller already :meth:`absorb`-ed the new first reports (its own
        lookup read them), so no query is needed here. During the background build: the
        same judgement over the names a database query finds (:meth:`_from_database`),
        so the check does not wait for the build.
        """
        if self.building:
            return await self._from_database(session, company, key, threshold)
        if not synced:
            await self.sync(session)
        return _judged(self.index, self.names, company, key, threshold)

    def judged(self, company: str, key: str, threshold: float) -> dict[int, tuple[float, str]]:
        """:meth:`candidates` from the index as it stands (no sync, no query)."""
        return _judged(self.index, self.names, company, key, threshold)

    async def _from_database(
        self, session: AsyncSession, company: str, key: str, threshold: float
    ) -> dict[int, tuple[float, str]]:
        """Candidates without the index: the active first reports whose key holds one of
        the name's fragments (at most :data:`DB_CANDIDATES`, and :data:`MAX_BUCKET` for a
        two-character core), judged by the index's own rules."""
        specific, short = db_fragments(company)
        rows = await dedup_repo.first_names_like(session, specific, DB_CANDIDATES)
        rows += await dedup_repo.first_names_like(session, short, MAX_BUCKET)
        index, names = _build(rows)
        return _judged(index, names, company, key, threshold)


DB_CANDIDATES = 200  # names read from the database for one check during the build


def _judged(
    index: CompanyIndex, names: NameIndex, company: str, key: str, threshold: float
) -> dict[int, tuple[float, str]]:
    """Lead id → (score, reason): today's key similarity, then the name rules."""
    found = {int(m.ref): (m.score, "fuzzy") for m in index.near(key, threshold=threshold, limit=3)}
    for c in names.candidates(company, limit=NEAR_LIMIT, threshold=threshold):
        if c.verdict.score >= found.get(int(c.ref), (0.0, ""))[0]:
            found[int(c.ref)] = (c.verdict.score, c.verdict.reason)
    return found


def _build(rows: Sequence[dedup_repo.NewRow]) -> tuple[CompanyIndex, NameIndex]:
    """Both indexes of the first reports among ``rows``, each built in one bulk load (the
    name index sorts its lookup keys once instead of merging every few hundred names)."""
    firsts = [(lead_id, key, name) for lead_id, key, name in rows if key]
    index = CompanyIndex((key, lead_id) for lead_id, key, _ in firsts)
    names = NameIndex((name, lead_id) for lead_id, _, name in firsts)
    return index, names


def _missing(rows: Sequence[dedup_repo.NewRow], after: int) -> list[int]:
    """The ids above ``after`` and below the highest of ``rows`` that ``rows`` lack."""
    seen = {lead_id for lead_id, _, _ in rows}
    return [i for i in range(after + 1, max(seen, default=after)) if i not in seen]


SETTLE_S = 120.0  # a lead's transaction commits within this: its id is looked for until then
MAX_GAPS = 200  # the newest missing ids a check looks for (a burst of rollbacks stays cheap)


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
    from bot.services.scoring import offered  # the rules file adds the tags its rules need

    if draft.industry not in offered(settings, "industries"):
        raise ServiceError("lead.bad_choice", field=draft.industry)
    if draft.origin not in offered(settings, "origins") or draft.stage not in settings.stages:
        raise ServiceError("lead.bad_choice", field=f"{draft.origin}/{draft.stage}")
    if draft.channel is not None and draft.channel not in offered(settings, "channels"):
        raise ServiceError("lead.bad_choice", field=draft.channel)
    tags = tuple(t for t in offered(settings, "tags") if t in set(draft.tags))
    if draft.amount_wan <= 0:
        raise ServiceError("lead.bad_amount")
    credit = _credit(draft.credit_code)
    if draft.outside_share is not None and not 0 <= draft.outside_share <= 100:
        raise ServiceError("leads.input.bad_percent")
    if draft.tax_wan is not None and draft.tax_wan < 0:
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
        credit,
        draft.outside_share,
        draft.tax_wan,
    )


def _credit(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return parse_credit_code(text)
    except CreditCodeError as err:
        raise ServiceError(err.code) from None


async def check_company(
    session: AsyncSession,
    directory: CompanyDirectory,
    company: str,
    threshold: float,
    credit_code: str | None = None,
) -> CompanyCheck:
    """The company step's check (chat and web): one service call, one dataclass.

    A credit code already on an active first report is the exact duplicate,
    whatever the name; then an equal key; otherwise up to three plausible
    other spellings, leaving out pairs a reporter already called different.
    """
    key = company_key(company)
    credit = _credit(credit_code)
    point = directory.sync_point()
    after, gaps = point if point is not None else (None, [])
    # With the index up, judge the name first (memory only), so the candidates' details
    # come with the same one statement; the index's new rows are judged after it.
    early = directory.judged(company, key, threshold) if point is not None else {}
    look = await dedup_repo.first_lookup(session, key, credit, after, gaps, list(early))
    if after is not None:
        directory.absorb(look.new)
    if look.by_credit is not None:
        return CompanyCheck(key, _first_row(look.by_credit), [], credit, by_credit=True)
    if look.by_key is not None:
        return CompanyCheck(key, _first_row(look.by_key), [], credit)
    if point is None or any(first_key for _, first_key, _ in look.new):  # the index grew
        found = await directory.candidates(session, company, key, threshold, point is not None)
        late = [lead_id for lead_id in found if lead_id not in early]
        rows = [r for r in look.near if r.lead_id in found]
        rows += await dedup_repo.near_firsts(session, key, late)
    else:
        found, rows = early, look.near
    near = [
        NearCandidate(
            row.lead_id,
            lead_code(row.lead_id),
            row.project,
            row.company,
            row.unit_name,
            found[row.lead_id][0],
            row.first_key,
            found[row.lead_id][1],
        )
        for row in rows
    ]
    near.sort(key=lambda c: (-c.score, c.lead_id))
    return CompanyCheck(key, None, near[:NEAR_LIMIT], credit)


def _first_row(row: dedup_repo.FirstRow) -> FirstReport:
    return FirstReport(
        row.lead_id, lead_code(row.lead_id), row.unit_name, row.reported_at, row.project
    )


async def remember_different(
    session: AsyncSession, now: datetime, actor: Actor, company: str, lead_ids: list[int]
) -> None:
    """The reporter said none of these leads is their company: never ask about
    these pairs again (for anyone)."""
    key = company_key(company)
    leads = await lead_repo.active_firsts(session, lead_ids)
    keys = [lead.first_key for lead in leads if lead.first_key]
    await dedup_repo.add_different(session, key, keys, now, actor.tg_user_id)


async def report_lead(
    session: AsyncSession, now: datetime, actor: Actor, draft: LeadDraft, settings: Settings
) -> ReportResult:
    if actor.member_id is None or actor.unit_id is None:
        raise ServiceError("lead.no_unit")
    draft = validate_draft(draft, settings)
    key = company_key(draft.company)
    same = await lead_repo.lead_by_id(session, draft.same_as) if draft.same_as else None
    lead = _new_lead(now, actor, draft, key)
    by_credit = (
        await dedup_repo.first_by_credit(session, draft.credit_code) if draft.credit_code else None
    )
    if by_credit is not None:  # one credit code, one company: whatever the name
        lead.duplicate_of = by_credit.id
        session.add(lead)
        await session.flush()
    elif same is not None and same.first_key is not None:
        lead.duplicate_of, lead.near_confirmed = same.id, True
        session.add(lead)
        await session.flush()
    else:
        lead.first_key, lead.first_credit = key, draft.credit_code
        try:
            async with session.begin_nested():
                session.add(lead)
                await session.flush()
        except IntegrityError:
            # Someone else is first: the database said so. Store ours as a duplicate.
            first = (
                await dedup_repo.first_by_credit(session, draft.credit_code)
                if draft.credit_code
                else None
            ) or await lead_repo.first_by_key(session, key)
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
    if draft.tax_wan and lead.duplicate_of is None:  # the form's 已缴税收: this month's record
        local = now.astimezone(settings.zone)
        funds_repo.add(
            session,
            TaxRecord,
            lead_id=lead.id,
            month=f"{local.year:04d}-{local.month:02d}",
            amount_wan=draft.tax_wan,
            counts_at=now,
            note=None,
            recorded_at=now,
            recorded_by=actor.tg_user_id,
            superseded_at=None,
            superseded_by=None,
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
        credit_code=draft.credit_code,
        outside_share=draft.outside_share,
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
    credit_code: str | None = None  # 统一社会信用代码


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
        lead.credit_code,
    )
