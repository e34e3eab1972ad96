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
from bot.domain.credit_code import CreditCodeError, parse_credit_code
from bot.domain.dedup import company_key
from bot.domain.enums import Review, lead_code
from bot.domain.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    clean_line,
    parse_phone,
)
from bot.domain.near import NEAR_LIMIT, Judged
from bot.operations import heap
from bot.operations.near_process import InlineMatcher, Matcher, NearIndexDown, NearProcess
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
    """The near-match index of first-report companies, kept in step with the database.

    It only ever grows from the database: the check's one lookup statement also
    returns the leads with an id above the last one seen, and the ids a read
    skipped (a transaction still open, on PostgreSQL ids come before the commit)
    are looked for again until :data:`SETTLE_S` has passed. A stale entry can at
    worst cause a question "same company?", never a wrong verdict, because exact
    duplicates are decided by the database. After a restart the
    one-off build runs in the background (:meth:`start_warming`), so the first
    report does not pay for it: a check during the build does not wait for it
    either, it asks the database for a bounded set of likely names
    (:func:`bot.domain.near_index.fragments`) and judges those alone.

    The index itself is held by :attr:`matcher`: in the bot's process, or with
    ``separate`` in a process of its own (:mod:`bot.operations.near_process`), which
    keeps its ~130 MB out of the bot's. When that process dies, another one is built
    the same way (and after :data:`MAX_RESTARTS`, the index moves into the bot's process).
    """

    matcher: Matcher = field(default_factory=InlineMatcher)
    separate: bool = False  # start_warming builds the index in a process of its own
    last_id: int = 0
    build_ms: float | None = None  # how long the last background build took
    restarts: int = 0  # index processes started again after theirs was gone
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    # Ids below ``last_id`` no read returned yet → when first missed: a lead whose
    # transaction commits after a later one's (PostgreSQL sequences), looked for again
    # until SETTLE_S has passed.
    _gaps: dict[int, float] = field(default_factory=dict, repr=False)
    _warming: asyncio.Task[None] | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)

    def start_warming(
        self, db: Database, hold: asyncio.Event | None = None, separate: bool | None = None
    ) -> None:
        """Build the index off the hot path; call once at start-up. ``hold``: the build
        starts only once it is set (tests and the benchmark check during a build);
        ``separate``: in a process of its own (None: as before)."""
        if separate is not None:
            self.separate = separate
        if self._warming is None and self.last_id == 0:
            self._db = db
            if self.separate and isinstance(self.matcher, InlineMatcher):
                self.matcher = NearProcess()  # checks from now on wait for its start
            self._warming = asyncio.get_running_loop().create_task(self._warm(db, hold))

    @property
    def building(self) -> bool:
        """The background build is under way and nothing was indexed yet."""
        task = self._warming
        return task is not None and not task.done() and self.last_id == 0

    async def ready(self) -> None:
        """Wait for the background build, if one is under way (and for the one that
        replaces it, if its index's process was found gone meanwhile)."""
        while (task := self._warming) is not None and not task.done():
            await asyncio.shield(task)

    async def stop_warming(self) -> None:
        """Stop a build under way and let the index's process go (at the bot's stop)."""
        task, self._warming = self._warming, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.matcher.close()

    async def _warm(self, db: Database, hold: asyncio.Event | None = None) -> None:
        try:
            await self.matcher.start()
        except (OSError, NotImplementedError) as exc:  # a host without processes
            log.warning("near-match index: no process of its own (%s), held in the bot", exc)
            self.matcher, self.separate = InlineMatcher(), False
        if hold is not None:
            await hold.wait()
        started = time.perf_counter()
        try:
            top, missing = await self._load(db, self.matcher)
            count = await self.matcher.finish()
        except NearIndexDown:
            await self._replace(self.matcher)
            return
        except Exception:  # the check builds on demand instead
            log.exception("near-match index: background build failed, building on demand")
            with contextlib.suppress(Exception):
                await self.matcher.reset()
            return
        self.last_id = top
        self._gaps = dict.fromkeys(missing, self.clock())
        heap.settle()  # the start-up heap is long-lived: later collections need not scan it
        self.build_ms = (time.perf_counter() - started) * 1000
        log.info("near-match index: %d companies in %.0f ms", count, self.build_ms)

    @staticmethod
    async def _load(db: Database, matcher: Matcher) -> tuple[int, list[int]]:
        """Every lead, streamed to the index in parts; the highest id and the ids below it
        that no row holds. A part is read while the index takes in the one before (and a
        check's request waits behind at most one part)."""
        top, missing = 0, list[int]()
        pending: asyncio.Future[None] | None = None
        try:
            async with db.session() as session:
                async for rows in dedup_repo.leads_in_parts(session, BUILD_PART):
                    missing += _missing(rows, top)  # parts come by id: each starts above top
                    top = max(top, rows[-1][0])
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(matcher.load(rows))
            if pending is not None:
                await pending
        finally:  # a failed read: the part in flight is not left to fail unheard
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
        return top, missing

    async def _replace(self, gone: Matcher) -> None:
        """The index's process is gone (killed, out of memory, stuck): start another and
        build it again, as after a restart; checks meanwhile ask the database."""
        if self.matcher is not gone:
            return  # another check replaced it already
        self.restarts += 1
        log.warning("near-match index: its process is gone, building it again (%d)", self.restarts)
        with contextlib.suppress(Exception):
            await gone.close()
        self.matcher = InlineMatcher()
        self.separate = self.separate and self.restarts <= MAX_RESTARTS
        self.last_id, self._gaps, self._warming = 0, {}, None
        if self._db is not None:
            self.start_warming(self._db)

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
        """Index the first reports among these leads (id, key or None, name); the index
        skips ones it holds, so two checks absorbing the same new rows add each once. Ids
        above ``last_id`` the read did not return are remembered as gaps."""
        firsts = []
        for row in rows:
            self._gaps.pop(row[0], None)
            if row[1]:
                firsts.append(row)
        if firsts:
            self.matcher.absorb(firsts)
        top = max((lead_id for lead_id, _, _ in rows), default=0)
        if top > self.last_id:
            now = self.clock()
            for lead_id in _missing(rows, self.last_id):
                self._gaps.setdefault(lead_id, now)
            self.last_id = top

    async def near(
        self, session: AsyncSession, key: str, threshold: float
    ) -> list[tuple[int, float]]:
        """The key-similarity hits (rapidfuzz ≥ ``threshold``): today's rule, kept."""
        await self.sync(session)
        matcher = self.matcher
        try:
            return await matcher.near(key, threshold)
        except NearIndexDown:
            await self._replace(matcher)
            return []

    async def judged(self, company: str, key: str, threshold: float) -> Judged | None:
        """:meth:`candidates` from the index as it stands (no sync, no query); None when
        it cannot answer now (it is being built, or its process was just found gone)."""
        if self.building:
            return None
        matcher = self.matcher
        try:
            return await matcher.judged(company, key, threshold)
        except NearIndexDown:
            await self._replace(matcher)
            return None

    async def candidates(
        self,
        session: AsyncSession,
        company: str,
        key: str,
        threshold: float,
        synced: bool = False,
    ) -> Judged:
        """Lead id → (score, reason) of every plausible other spelling, best first.

        ``synced``: the caller already :meth:`absorb`-ed the new first reports (its own
        lookup read them), so no query is needed here. During the background build: the
        same judgement over the names a database query finds (:meth:`_from_database`),
        so the check does not wait for the build.
        """
        if not self.building:
            if not synced:
                await self.sync(session)
            found = await self.judged(company, key, threshold)
            if found is not None:
                return found
        return await self._from_database(session, company, key, threshold)

    async def _from_database(
        self, session: AsyncSession, company: str, key: str, threshold: float
    ) -> Judged:
        """Candidates without the index: the active first reports whose key holds one of
        the name's fragments (a bounded number per query), judged by the index's rules."""
        matcher = self.matcher
        try:
            rows: list[dedup_repo.NewRow] = []
            for fragments, limit in await matcher.fragments(company):
                rows += await dedup_repo.first_names_like(session, fragments, limit)
            return await matcher.among(rows, company, key, threshold)
        except NearIndexDown:  # twice in one check: ask nothing this time
            await self._replace(matcher)
            return {}


def _missing(rows: Sequence[dedup_repo.NewRow], after: int) -> list[int]:
    """The ids above ``after`` and below the highest of ``rows`` that ``rows`` lack."""
    seen = {lead_id for lead_id, _, _ in rows}
    return [i for i in range(after + 1, max(seen, default=after)) if i not in seen]


SETTLE_S = 120.0  # a lead's transaction commits within this: its id is looked for until then
MAX_GAPS = 200  # the newest missing ids a check looks for (a burst of rollbacks stays cheap)
BUILD_PART = 500  # leads per part of the background build
MAX_RESTARTS = 3  # index processes started again before the index moves into the bot


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
    # With the index up, judge the name first (no query), so the candidates' details
    # come with the same one statement; the index's new rows are judged after it.
    early = await directory.judged(company, key, threshold) if point is not None else None
    if early is None:  # being built (or just found gone): the database is asked below
        point, early = None, {}
    after, gaps = point if point is not None else (None, [])
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
