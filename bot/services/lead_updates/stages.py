"""Moving a lead's stage: the menu of stages the actor may pick, the early check before
the note is asked for, and the move itself (forwards, skipping allowed; backwards
only for leaders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.leadfields import NOTES_MAX
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.lead_updates.common import (
    LeadRef,
    _clean,
    _event,
    _lead,
    _owner,
    _require_member,
)
from bot.services.scoring import refresh_after
from storage.models import Lead


@dataclass(frozen=True)
class StageMenu:
    lead_id: int
    code: str
    project: str
    current: str
    choices: tuple[str, ...]  # what this actor may pick
    backwards_need_leader: bool  # earlier stages exist but need a leader


@dataclass(frozen=True)
class StageChange:
    lead_id: int
    code: str
    project: str
    from_stage: str
    to_stage: str
    skipped: tuple[str, ...]
    backwards: bool
    note: str | None


def _may_move(actor: Actor, lead: Lead) -> None:
    if not (_owner(actor, lead) or actor.is_leader):
        raise ServiceError("leads.stage.not_yours", lead=lead.code)


def _index(settings: Settings, stage: str) -> int:
    return settings.stages.index(stage) if stage in settings.stages else -1


async def stage_menu(
    session: AsyncSession, actor: Actor, lead_id: int, settings: Settings
) -> StageMenu:
    _require_member(actor)
    lead = await _lead(session, lead_id)
    _may_move(actor, lead)
    here = _index(settings, lead.stage)
    if actor.is_leader:
        choices = tuple(s for s in settings.stages if s != lead.stage)
    else:
        choices = tuple(s for i, s in enumerate(settings.stages) if i > here)
    return StageMenu(
        lead.id, lead.code, lead.project, lead.stage, choices, not actor.is_leader and here > 0
    )


def _plan(
    actor: Actor, lead: Lead, to_stage: str, settings: Settings
) -> tuple[tuple[str, ...], bool]:
    _may_move(actor, lead)
    if to_stage not in settings.stages:
        raise ServiceError("leads.stage.unknown", stage=to_stage, stages="、".join(settings.stages))
    if to_stage == lead.stage:
        raise ServiceError("leads.stage.same", lead=lead.code, stage=to_stage)
    here, there = _index(settings, lead.stage), _index(settings, to_stage)
    backwards = here > there
    if backwards and not actor.is_leader:
        raise ServiceError(
            "leads.stage.backwards", lead=lead.code, current=lead.stage, stage=to_stage
        )
    skipped = tuple(settings.stages[here + 1 : there]) if not backwards and here >= 0 else ()
    return skipped, backwards


async def check_stage(
    session: AsyncSession, actor: Actor, lead_id: int, to_stage: str, settings: Settings
) -> LeadRef:
    """Refuse early (before asking for a note) what :func:`move_stage` would refuse."""
    _require_member(actor)
    lead = await _lead(session, lead_id)
    _plan(actor, lead, to_stage, settings)
    return LeadRef(lead.id, lead.code, lead.project, lead.stage)


async def move_stage(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    to_stage: str,
    note: str | None,
    settings: Settings,
) -> StageChange:
    _require_member(actor)
    lead = await _lead(session, lead_id, lock=True)
    skipped, backwards = _plan(actor, lead, to_stage, settings)
    note = _clean(note, NOTES_MAX, multiline=True) if note is not None else None
    from_stage = lead.stage
    lead.stage, lead.updated_at = to_stage, now
    _event(session, lead, now, actor, "stage", from_stage, to_stage, note=note)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, settings)  # scoring: /rank moves at once
    return StageChange(
        lead.id, lead.code, lead.project, from_stage, to_stage, skipped, backwards, note
    )
