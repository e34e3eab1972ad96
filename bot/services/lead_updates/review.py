"""Leaders' review: verifying and rejecting a lead (with the first-report claim released
on reject and reclaimed on a later verify), and confirming a stage node (逐节点认定).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.enums import Review, lead_code
from bot.domain.leadfields import NOTES_MAX
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.lead_updates.common import LeadRef, _clean, _event, _lead, _require_member
from bot.services.lead_updates.stages import _index
from bot.services.scoring import ScoringSetup, refresh_after
from storage import dedup_repo, lead_repo, repo
from storage.models import Lead

REASON_MAX = NOTES_MAX


@dataclass(frozen=True)
class Recipient:
    tg_user_id: int
    locale: str | None
    name: str


@dataclass(frozen=True)
class ReviewResult:
    lead_id: int
    code: str
    project: str
    unit_name: str
    review: str
    note: str | None
    released: bool  # the company's first-report claim was freed
    duplicate_of: str | None  # a re-verified lead found another first report
    recipients: tuple[Recipient, ...]


def _may_review(actor: Actor) -> None:
    if not actor.is_leader:
        raise ServiceError("leads.review.leaders_only")


async def check_reject(session: AsyncSession, actor: Actor, lead_id: int) -> LeadRef:
    """Before asking a leader for the reason: may this lead be rejected now?"""
    _require_member(actor)
    _may_review(actor)
    lead = await _lead(session, lead_id)
    if lead.review == Review.REJECTED:
        raise ServiceError("leads.review.already_rejected", lead=lead.code)
    return LeadRef(lead.id, lead.code, lead.project, lead.stage)


async def verify_lead(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    *,
    setup: ScoringSetup | Settings,
) -> ReviewResult:
    _require_member(actor)
    _may_review(actor)
    lead = await _lead(session, lead_id, lock=True)
    if lead.review == Review.VERIFIED:
        raise ServiceError("leads.review.already_verified", lead=lead.code)
    previous = lead.review
    if previous == Review.REJECTED and lead.duplicate_of is None:
        lead = await _reclaim(session, lead)
    _review(lead, now, actor, Review.VERIFIED, None)
    _event(session, lead, now, actor, "verify", previous, Review.VERIFIED)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, setup)  # scoring: /rank moves at once
    return await _review_result(session, lead, released=False)


@dataclass(frozen=True)
class NodeConfirmed:
    code: str
    project: str
    stage: str


async def confirm_node(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    stage: str | None,
    settings: Settings,
) -> NodeConfirmed:
    """逐节点认定 (seed 004 二(三)): a leader confirms that the lead passed a stage node, e.g. 决策咨询.

    Only the nodes the rules file lists in ``confirm_stages`` need it; they score from the
    confirmation on. ``stage`` None: the first such node the lead has reached and nobody confirmed.
    Confirming a node is not verifying the lead (有效信息), which stays a separate decision.
    """
    from bot.services.scoring import setup_for

    _require_member(actor)
    if not actor.is_leader:
        raise ServiceError("leads.confirm.leaders_only")
    nodes = setup_for(settings).rules.confirm_stages
    if not nodes:
        raise ServiceError("leads.confirm.none")
    lead = await _lead(session, lead_id, lock=True)
    if lead.review == Review.REJECTED or lead.duplicate_of is not None:
        raise ServiceError("leads.confirm.not_counted", lead=lead.code)
    done = {
        e.to_value for e in await lead_repo.lead_history(session, lead.id) if e.kind == "confirm"
    }
    here = _index(settings, lead.stage)
    reached = [s for s in nodes if 0 <= _index(settings, s) <= here]
    if stage is None:
        stage = next((s for s in reached if s not in done), None)
        if stage is None:
            raise ServiceError("leads.confirm.nothing", lead=lead.code, stages="、".join(nodes))
    if stage not in nodes:
        raise ServiceError("leads.confirm.not_a_node", stage=stage[:20], stages="、".join(nodes))
    if stage not in reached:
        raise ServiceError("leads.confirm.not_reached", lead=lead.code, stage=stage)
    if stage in done:
        raise ServiceError("leads.confirm.already", lead=lead.code, stage=stage)
    _event(session, lead, now, actor, "confirm", None, stage)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, settings)  # the node scores now
    return NodeConfirmed(lead.code, lead.project, stage)


async def reject_lead(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    reason: str | None,
    *,
    setup: ScoringSetup | Settings,
) -> ReviewResult:
    _require_member(actor)
    _may_review(actor)
    lead = await _lead(session, lead_id, lock=True)
    if lead.review == Review.REJECTED:
        raise ServiceError("leads.review.already_rejected", lead=lead.code)
    reason = _clean(reason, REASON_MAX, multiline=True, empty="leads.review.reason_missing")
    previous = lead.review
    released = lead.first_key is not None
    lead.first_key = None  # the company is free for a future first report
    lead.first_credit = None  # … and so is its credit code
    _review(lead, now, actor, Review.REJECTED, reason)
    _event(session, lead, now, actor, "reject", previous, Review.REJECTED, note=reason)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, setup)  # scoring: /rank moves at once
    return await _review_result(session, lead, released=released)


async def _reclaim(session: AsyncSession, lead: Lead) -> Lead:
    """A rejected first report verified after all: first again, its name key and its
    credit code both, unless either was taken meanwhile; then it is a duplicate of the
    one who took it (the code's holder before the key's: the code is the stronger key)."""
    holder = await _holder(session, lead)
    if holder is None:
        try:
            async with session.begin_nested():
                lead.first_key, lead.first_credit = lead.company_key, lead.credit_code
                await session.flush()
            return lead
        except IntegrityError:  # claimed in the same instant: the database decided
            lead = await _lead(session, lead.id, lock=True)  # reload what the rollback expired
            holder = await _holder(session, lead)
    lead.duplicate_of = holder.id if holder else None
    return lead


async def _holder(session: AsyncSession, lead: Lead) -> Lead | None:
    """The active first report on this lead's credit code, else on its name key."""
    by_credit = (
        await dedup_repo.first_by_credit(session, lead.credit_code) if lead.credit_code else None
    )
    return by_credit or await lead_repo.first_by_key(session, lead.company_key)


def _review(lead: Lead, now: datetime, actor: Actor, verdict: str, note: str | None) -> None:
    lead.review, lead.review_note = verdict, note
    lead.reviewed_by, lead.reviewed_at, lead.updated_at = actor.tg_user_id, now, now


async def _review_result(session: AsyncSession, lead: Lead, *, released: bool) -> ReviewResult:
    people = await repo.members(session, lead.unit_id)
    recipients = tuple(Recipient(m.tg_user_id, m.locale, m.display_name) for m in people)
    dup = lead_code(lead.duplicate_of) if lead.duplicate_of else None
    return ReviewResult(
        lead.id,
        lead.code,
        lead.project,
        lead.unit.name,
        lead.review,
        lead.review_note,
        released,
        dup,
        recipients,
    )
