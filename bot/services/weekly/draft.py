"""The form's draft: one per person (``weekly_drafts``), saved on every answer.

Each answer function moves the draft on and returns the :class:`Form` the form
renders; the draft outlives a form timeout, so ``/weekly`` resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import lead_code
from bot.domain.periods import WeeklyPeriod
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.weekly.calendar import late_window_end, overdue_period, target_period
from bot.services.weekly.config import (
    LEADS_MAX,
    PICK_LEADS,
    PROGRESS_MAX,
    PROGRESS_PAGE_LEADS,
    PROGRESS_TEXT_MAX,
    SECTIONS,
    TRIP_MAX,
    TRIPS_MAX,
    WORK_MAX,
    DeadlineInfo,
    WeeklyConfig,
    clean_text,
    deadline_info,
)
from bot.services.weekly.status import SubmissionState, _require_unit_member, unit_state
from storage import weekly_repo
from storage.models import (
    Lead,
    WeeklyDraft,
)


def empty_content() -> dict[str, Any]:
    return dict.fromkeys(SECTIONS)


def next_section(content: dict[str, Any]) -> str | None:
    return next((s for s in SECTIONS if content.get(s) is None), None)


@dataclass(frozen=True)
class LeadOption:
    lead_id: int
    code: str
    project: str
    stage: str
    duplicate: bool = False


@dataclass
class Form:
    """What the form handler needs to draw the current step."""

    draft_id: int
    rev: int
    period: WeeklyPeriod
    info: DeadlineInfo
    unit_name: str
    late: bool
    late_until: datetime | None
    content: dict[str, Any]
    awaiting: str | None
    scratch: dict[str, Any]
    state: SubmissionState
    period_leads: list[LeadOption] = field(default_factory=list)
    unit_leads: list[LeadOption] = field(default_factory=list)
    lead_names: dict[int, LeadOption] = field(default_factory=dict)
    resumed: bool = False
    updated_at: datetime | None = None

    @property
    def next_section(self) -> str | None:
        return next_section(self.content)

    @property
    def complete(self) -> bool:
        return self.next_section is None


def _option(lead: Lead) -> LeadOption:
    return LeadOption(lead.id, lead.code, lead.project, lead.stage, lead.duplicate_of is not None)


async def open_form(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, *, current: bool = False
) -> Form:
    """Start or resume the actor's form. A draft of a period that can no longer be
    filed is dropped; a new draft starts from the unit's latest version, if any."""
    unit_id = _require_unit_member(actor)
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    resumed = False
    if draft is not None:
        still_valid = draft.unit_id == unit_id and await _draft_period_valid(
            session, now, cfg, unit_id, draft.period_key
        )
        wanted = (
            await target_period(session, now, cfg, unit_id, current=current) if current else None
        )
        if not still_valid or (wanted is not None and wanted.period.key != draft.period_key):
            await session.delete(draft)
            await session.flush()
            draft = None
        else:
            resumed = True
    if draft is None:
        target = await target_period(session, now, cfg, unit_id, current=current)
        content = empty_content()
        sub = await weekly_repo.submission(session, unit_id, target.period.key)
        if sub is not None and sub.latest_number:
            latest = await weekly_repo.latest_version(session, sub.id)
            if latest is not None:
                content = {**empty_content(), **dict(latest.content)}
        draft = WeeklyDraft(
            member_tg=actor.tg_user_id,
            unit_id=unit_id,
            period_key=target.period.key,
            content=content,
            awaiting=None,
            scratch={},
            rev=0,
            updated_at=now,
        )
        session.add(draft)
        await session.flush()
    else:
        draft.updated_at = now
    return await _form(session, now, cfg, actor, draft, resumed)


async def _draft_period_valid(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, unit_id: int, key: str
) -> bool:
    current = cfg.periods.week_of(now)
    if key == current.key:
        return True
    overdue = await overdue_period(session, now, cfg, unit_id)
    return overdue is not None and overdue.key == key


async def load_form(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor
) -> Form | None:
    """The actor's form in progress, or None (submitted, discarded, never opened)."""
    if actor.unit_id is None:
        return None
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    if draft is None or draft.unit_id != actor.unit_id:
        return None
    return await _form(session, now, cfg, actor, draft, True)


def idle(form: Form, now: datetime, cfg: WeeklyConfig) -> bool:
    """The form sat untouched longer than the form timeout (the draft itself is kept)."""
    return form.updated_at is not None and now - form.updated_at > cfg.form_timeout


async def _form(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    actor: Actor,
    draft: WeeklyDraft,
    resumed: bool,
) -> Form:
    period = cfg.periods.by_key(draft.period_key)
    late = now > period.deadline
    state = await unit_state(session, now, cfg, draft.unit_id, period)
    until = min(now, period.deadline) if not late else period.deadline
    in_period = [
        _option(lead)
        for lead in await weekly_repo.period_leads(session, draft.unit_id, period.start, until)
    ]
    recent = [
        _option(lead)
        for lead in await weekly_repo.recent_unit_leads(session, draft.unit_id, PICK_LEADS)
    ]
    content = {**empty_content(), **dict(draft.content or {})}
    mentioned = set(content.get("leads") or []) | {
        int(p["lead"]) for p in content.get("progress") or [] if p.get("lead")
    }
    if draft.scratch.get("lead"):
        mentioned.add(int(draft.scratch["lead"]))
    names = {o.lead_id: o for o in in_period + recent}
    missing = [i for i in mentioned if i not in names]
    for lead in (await weekly_repo.leads_by_id(session, missing)).values():
        if lead.unit_id == draft.unit_id:
            names[lead.id] = _option(lead)
    return Form(
        draft.id,
        draft.rev,
        period,
        deadline_info(cfg, period),
        state.unit_name,
        late,
        late_window_end(cfg, period) if late else None,
        content,
        draft.awaiting,
        dict(draft.scratch or {}),
        state,
        in_period,
        recent,
        names,
        resumed,
        draft.updated_at,
    )


async def _draft_for(session: AsyncSession, actor: Actor) -> WeeklyDraft:
    if actor.unit_id is None:
        raise ServiceError("weekly.not_unit_member")
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    if draft is None or draft.unit_id != actor.unit_id:
        raise ServiceError("weekly.form.gone")
    return draft


def _save(
    draft: WeeklyDraft,
    now: datetime,
    content: dict[str, Any] | None = None,
    *,
    awaiting: str | bool | None = False,
    scratch: dict[str, Any] | None = None,
) -> None:
    """Assign fresh objects (JSON columns are not mutation-tracked) and bump the revision."""
    if content is not None:
        draft.content = dict(content)
    if awaiting is not False:
        draft.awaiting = awaiting  # type: ignore[assignment]
    if scratch is not None:
        draft.scratch = dict(scratch)
    draft.rev += 1
    draft.updated_at = now


async def set_awaiting(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, awaiting: str | None
) -> Form:
    draft = await _draft_for(session, actor)
    _save(draft, now, awaiting=awaiting, scratch={} if awaiting in (None, "progress") else None)
    return await _form(session, now, cfg, actor, draft, True)


async def toggle_lead(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, lead_id: int
) -> Form:
    draft = await _draft_for(session, actor)
    lead = (await weekly_repo.leads_by_id(session, [lead_id])).get(lead_id)
    if lead is None or lead.unit_id != draft.unit_id:
        raise ServiceError("weekly.lead.not_yours", lead=lead_code(lead_id))
    content = {**empty_content(), **dict(draft.content)}
    chosen = list(content.get("leads") or [])
    if lead_id in chosen:
        chosen.remove(lead_id)
    elif len(chosen) >= LEADS_MAX:
        raise ServiceError("weekly.lead.too_many", limit=LEADS_MAX)
    else:
        chosen.append(lead_id)
    content["leads"] = chosen
    _save(draft, now, content, awaiting="leads")
    return await _form(session, now, cfg, actor, draft, True)


async def set_none(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, section: str
) -> Form:
    """ "无" for a section."""
    if section not in SECTIONS:
        raise ServiceError("weekly.form.gone")
    draft = await _draft_for(session, actor)
    content = {**empty_content(), **dict(draft.content)}
    content[section] = "" if section == "work" else []
    _save(draft, now, content, awaiting=None, scratch={})
    return await _form(session, now, cfg, actor, draft, True)


async def finish_section(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, section: str
) -> Form:
    """[完成] on a list section: what was collected stands (nothing collected = 无)."""
    draft = await _draft_for(session, actor)
    content = {**empty_content(), **dict(draft.content)}
    if content.get(section) is None:
        content[section] = []
    _save(draft, now, content, awaiting=None, scratch={})
    return await _form(session, now, cfg, actor, draft, True)


async def reset_section(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, section: str
) -> Form:
    """Edit a section again from the preview: lists keep their items, 无 becomes unanswered."""
    draft = await _draft_for(session, actor)
    content = {**empty_content(), **dict(draft.content)}
    if section == "work" or not content.get(section):
        content[section] = None
    _save(draft, now, content, awaiting=section, scratch={})
    return await _form(session, now, cfg, actor, draft, True)


async def add_trip(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> Form:
    draft = await _draft_for(session, actor)
    content = {**empty_content(), **dict(draft.content)}
    trips = list(content.get("trips") or [])
    if len(trips) >= TRIPS_MAX:
        raise ServiceError("weekly.trips.too_many", limit=TRIPS_MAX)
    trips.append(clean_text(text, TRIP_MAX))
    content["trips"] = trips
    _save(draft, now, content, awaiting="trips")
    return await _form(session, now, cfg, actor, draft, True)


async def undo_last(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, section: str
) -> Form:
    draft = await _draft_for(session, actor)
    content = {**empty_content(), **dict(draft.content)}
    items = list(content.get(section) or [])
    if items:
        items.pop()
    content[section] = items
    _save(draft, now, content, awaiting=section)
    return await _form(session, now, cfg, actor, draft, True)


async def pick_progress_lead(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, lead_id: int
) -> Form:
    draft = await _draft_for(session, actor)
    lead = (await weekly_repo.leads_by_id(session, [lead_id])).get(lead_id)
    if lead is None or lead.unit_id != draft.unit_id:
        raise ServiceError("weekly.lead.not_yours", lead=lead_code(lead_id))
    content = {**empty_content(), **dict(draft.content)}
    if len(content.get("progress") or []) >= PROGRESS_MAX:
        raise ServiceError("weekly.progress.too_many", limit=PROGRESS_MAX)
    _save(draft, now, awaiting="progress_text", scratch={"lead": lead.id})
    return await _form(session, now, cfg, actor, draft, True)


async def set_progress_text(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> Form:
    draft = await _draft_for(session, actor)
    if not draft.scratch.get("lead"):
        raise ServiceError("weekly.form.gone")
    _save(
        draft,
        now,
        awaiting="progress_stage",
        scratch={**draft.scratch, "text": clean_text(text, PROGRESS_TEXT_MAX)},
    )
    return await _form(session, now, cfg, actor, draft, True)


def forward_stages(cfg: WeeklyConfig, current: str) -> list[str]:
    """The stages a liaison may move a lead to from the form (going back needs a leader)."""
    if current not in cfg.stages:
        return list(cfg.stages)
    return list(cfg.stages[cfg.stages.index(current) + 1 :])


async def progress_leads(session: AsyncSession, actor: Actor) -> list[LeadOption]:
    """Every lead of the actor's unit a progress line may be about (not duplicates), newest
    first: a page that lists them all at once needs no picker, the chat offers the first
    :data:`PICK_LEADS` as buttons and takes any other one typed as its L-code."""
    if actor.unit_id is None:
        return []
    leads = await weekly_repo.recent_unit_leads(session, actor.unit_id, PROGRESS_PAGE_LEADS)
    return [_option(lead) for lead in leads]


async def set_progress_stage(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, stage: str | None
) -> Form:
    """Close the progress entry being built; ``stage`` None keeps the lead's stage."""
    draft = await _draft_for(session, actor)
    scratch = dict(draft.scratch or {})
    if not scratch.get("lead") or not scratch.get("text"):
        raise ServiceError("weekly.form.gone")
    lead = (await weekly_repo.leads_by_id(session, [int(scratch["lead"])])).get(
        int(scratch["lead"])
    )
    if lead is None or lead.unit_id != draft.unit_id:
        raise ServiceError("weekly.form.gone")
    if stage is not None and stage not in forward_stages(cfg, lead.stage):
        raise ServiceError("weekly.progress.bad_stage", stage=stage, current=lead.stage)
    content = {**empty_content(), **dict(draft.content)}
    entries = [dict(p) for p in content.get("progress") or []]
    entries.append({"lead": lead.id, "text": scratch["text"], "stage": stage, "from": lead.stage})
    content["progress"] = entries
    _save(draft, now, content, awaiting="progress", scratch={})
    return await _form(session, now, cfg, actor, draft, True)


async def set_work(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> Form:
    draft = await _draft_for(session, actor)
    content = {**empty_content(), **dict(draft.content)}
    content["work"] = clean_text(text, WORK_MAX)
    _save(draft, now, content, awaiting=None)
    return await _form(session, now, cfg, actor, draft, True)


async def discard(session: AsyncSession, actor: Actor) -> bool:
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    if draft is None:
        return False
    return await weekly_repo.delete_draft(session, draft.id)
