"""Reading leads: the browse list (one page of the unit's leads, leaders every unit),
one lead's card with the buttons the reader may use, and its stored files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.enums import lead_code
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.attachments import AttachedFile, attached
from bot.services.lead_updates.common import _lead, _owner, _require_member
from bot.services.leads import LeadCard, can_see_full, card
from storage import lead_repo

PAGE_SIZE = 10


@dataclass(frozen=True)
class LeadRow:
    lead_id: int
    code: str
    project: str
    unit_name: str
    stage: str
    review: str
    duplicate_of: str | None


@dataclass(frozen=True)
class LeadPage:
    rows: tuple[LeadRow, ...]
    total: int
    page: int  # 0-based, already clamped
    pages: int
    stage: str | None
    all_units: bool  # leaders: every unit, the unit shown on each line
    unit_name: str | None


@dataclass(frozen=True)
class LeadView:
    lead_id: int
    card: LeadCard
    can_stage: bool
    can_edit: bool
    can_review: bool
    # 逐节点认定 (rules file ``confirm_stages``): each node the lead has reached, and whether a
    # leader confirmed it -- what still waits for /confirm. Empty without such nodes.
    nodes: tuple[tuple[str, bool], ...] = ()


LeadFile = AttachedFile


async def browse(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    stage: str | None = None,
    page: int = 0,
    page_size: int = PAGE_SIZE,
) -> LeadPage:
    """The caller's unit's leads (leaders: every unit), newest first, one page."""
    _require_member(actor)
    if stage is not None and stage not in settings.stages:
        raise ServiceError("leads.stage.unknown", stage=stage, stages="、".join(settings.stages))
    all_units = actor.is_leader
    if not all_units and actor.unit_id is None:
        raise ServiceError("leads.no_unit")
    unit_id = None if all_units else actor.unit_id
    page = max(page, 0)
    rows, total = await lead_repo.unit_leads(session, unit_id, stage, page * page_size, page_size)
    pages = max(1, -(-total // page_size))
    if page >= pages:  # an old button, and leads went away: show the last page
        page = pages - 1
        rows, total = await lead_repo.unit_leads(
            session, unit_id, stage, page * page_size, page_size
        )
    return LeadPage(
        tuple(
            LeadRow(
                r.id,
                r.code,
                r.project,
                r.unit.name,
                r.stage,
                r.review,
                lead_code(r.duplicate_of) if r.duplicate_of else None,
            )
            for r in rows
        ),
        total,
        page,
        max(1, -(-total // page_size)),
        stage,
        all_units,
        actor.unit_name,
    )


async def view_lead(
    session: AsyncSession,
    actor: Actor,
    lead_id: int,
    stages: Sequence[str] = (),
    confirm_stages: Sequence[str] = (),
) -> LeadView:
    """``stages`` / ``confirm_stages``: the jurisdiction's stages and the nodes its rules file
    confirms one by one; given, the view lists the reached nodes and which are confirmed."""
    _require_member(actor)
    lead = await _lead(session, lead_id)
    owner = _owner(actor, lead)
    nodes: tuple[tuple[str, bool], ...] = ()
    if confirm_stages and lead.stage in stages:
        done = {
            e.to_value
            for e in await lead_repo.lead_history(session, lead.id)
            if e.kind == "confirm"
        }
        here = list(stages).index(lead.stage)
        nodes = tuple(
            (s, s in done) for s in confirm_stages if s in stages and list(stages).index(s) <= here
        )
    return LeadView(
        lead.id, card(actor, lead), owner or actor.is_leader, owner, actor.is_leader, nodes
    )


async def lead_files(session: AsyncSession, actor: Actor, lead_id: int) -> tuple[LeadFile, ...]:
    """The stored Telegram file ids, for those who may see the full card."""
    _require_member(actor)
    lead = await _lead(session, lead_id)
    if not can_see_full(actor, lead):
        raise ServiceError("leads.files.denied")
    files = attached(lead.attachments)
    if not files:
        raise ServiceError("leads.files.none", lead=lead.code)
    return files
