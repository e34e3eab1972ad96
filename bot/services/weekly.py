"""The weekly submission (周报): draft, submit, confirm or return, status, leave, skipped weeks.

Rules (SPEC § Weekly submission):

* A period is ``(previous deadline, deadline]`` (:mod:`bot.periods`). A unit files
  one submission per period; every submit is a new *version*, history is kept.
* With ``confirmation_required`` a liaison's version waits for the unit's head
  (确认 / 退回 with a reason); a head's own submission counts as confirmed.
* The version that counts is the newest accepted one (confirmed, or submitted when
  no confirmation is required). A newer version replaces it only once accepted,
  so a small fix after the head confirmed never turns an on-time unit into a
  missing one; the head is asked again.
* Outcome: accepted by the deadline → on time; accepted later, until the next
  period's deadline → late; nothing accepted at the deadline → missing (set by the
  scheduler's close job; a late submission then turns it into late).
* A skipped week (``/skipweek``) has no reminders and no missing marks.

Everything here takes a session, ``now`` and a :class:`WeeklyConfig`, and returns
plain data; handlers render it, the scheduler plans messages from it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog
from bot.config import Settings
from bot.periods import Periods, WeeklyPeriod
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.lead_updates import move_stage
from bot.services.scoring import refresh_after
from storage import repo, weekly_repo
from storage.models import (
    Lead,
    MemberLeave,
    Outcome,
    Role,
    Unit,
    VersionStatus,
    WeeklyDraft,
    WeeklySkip,
    WeeklySubmission,
    WeeklyVersion,
    lead_code,
)

SECTIONS = ("leads", "trips", "progress", "work")
TRIP_MAX = 500
TRIPS_MAX = 20
PROGRESS_TEXT_MAX = 1000
PROGRESS_MAX = 20
WORK_MAX = 2000
LEADS_MAX = 50
PICK_LEADS = 12  # how many of the unit's leads the progress picker offers as buttons
REASON_MAX = 500
NONE_WORDS = frozenset({"无", "没有", "暂无", "none", "no", "n/a", "-", "—"})
_HOLIDAY_NAMES = {h.value: h for h in Holiday}


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyConfig:
    """The weekly cycle's settings, with one shared :class:`Periods` (and its calendar)."""

    periods: Periods
    confirmation_required: bool = True
    offsets: tuple[timedelta, ...] = (
        timedelta(hours=24),
        timedelta(hours=8),
        timedelta(hours=2),
        timedelta(minutes=30),
    )
    leaders_offset: timedelta = timedelta(hours=2)
    quiet: tuple[time, time] | None = (time(22), time(8))
    grace: timedelta = timedelta(minutes=60)
    form_timeout: timedelta = timedelta(minutes=60)
    stages: tuple[str, ...] = ()
    locale: str = "zh_CN"
    admins: tuple[int, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings, periods: Periods) -> WeeklyConfig:
        return cls(
            periods=periods,
            confirmation_required=settings.confirmation_required,
            offsets=tuple(sorted(settings.reminder_offsets, reverse=True)),
            leaders_offset=settings.leaders_missing_offset,
            quiet=settings.quiet_window,
            grace=timedelta(minutes=settings.reminder_grace_minutes),
            form_timeout=timedelta(minutes=settings.form_timeout_minutes),
            stages=tuple(settings.stages),
            locale=settings.locale,
            admins=tuple(settings.admins),
        )

    @property
    def zone(self) -> ZoneInfo:
        return self.periods.schedule.zone

    def local(self, t: datetime) -> datetime:
        return t.astimezone(self.zone)

    def today(self, now: datetime) -> date:
        return self.local(now).date()


# --------------------------------------------------------------------------------------
# Deadlines and how to say them
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineInfo:
    key: str
    deadline: datetime  # local time
    shifted: bool
    nominal: date
    holiday_zh: str | None  # 国庆节 …, None when unknown (fallback years, configured days)
    holiday_en: str | None

    def holiday(self, locale: str) -> str | None:
        return self.holiday_zh if locale.startswith("zh") else self.holiday_en


def deadline_info(cfg: WeeklyConfig, period: WeeklyPeriod) -> DeadlineInfo:
    zh = en = None
    if period.shifted:
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(period.nominal)
        except NotImplementedError:
            is_holiday, name = False, None
        if is_holiday and name in _HOLIDAY_NAMES:
            zh, en = _HOLIDAY_NAMES[name].chinese, str(name)
    return DeadlineInfo(
        period.key, cfg.local(period.deadline), period.shifted, period.nominal, zh, en
    )


def when_text(t: datetime, locale: str) -> str:
    """``11月19日（周四）17:00`` / ``Thu 19 Nov 17:00`` (``t`` already local)."""
    return catalog.plain(
        "weekly.when",
        locale,
        month=t.month,
        day=t.day,
        weekday=catalog.plain(f"weekly.wd.{t.weekday()}", locale),
        time=f"{t:%H:%M}",
    )


def day_text(d: date, locale: str) -> str:
    return catalog.plain("weekly.day", locale, month=d.month, day=d.day)


def shift_note(info: DeadlineInfo, locale: str) -> str:
    """ "截止时间因国庆节调整为 9月30日（周三）17:00。" or "" when not shifted."""
    if not info.shifted:
        return ""
    holiday = info.holiday(locale)
    when = when_text(info.deadline, locale)
    if holiday:
        return catalog.plain("weekly.shift.named", locale, holiday=holiday, when=when)
    return catalog.plain("weekly.shift.generic", locale, when=when)


def remaining_text(delta: timedelta, locale: str) -> str:
    minutes = max(0, int((delta.total_seconds() + 30) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return (
            catalog.plain("weekly.left.days", locale, days=days, hours=hours)
            if hours
            else catalog.plain("weekly.left.days_only", locale, days=days)
        )
    hours += days * 24
    if hours and mins:
        return catalog.plain("weekly.left.hours_minutes", locale, hours=hours, minutes=mins)
    if hours:
        return catalog.plain("weekly.left.hours", locale, hours=hours)
    return catalog.plain("weekly.left.minutes", locale, minutes=mins)


def period_label(key: str, locale: str) -> str:
    year, week = key.split("-W")
    return catalog.plain("weekly.period", locale, year=int(year), week=int(week))


# --------------------------------------------------------------------------------------
# Text input
# --------------------------------------------------------------------------------------


def is_none_answer(text: str) -> bool:
    return unicodedata.normalize("NFKC", text or "").strip().lower().rstrip("。.") in NONE_WORDS


def clean_text(text: str | None, limit: int) -> str:
    """Multi-line free text: control characters dropped, blank lines folded, length checked."""
    raw = unicodedata.normalize("NFC", text or "")
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    cleaned = "\n".join(line for line in lines if line)
    cleaned = "".join(ch for ch in cleaned if ch == "\n" or unicodedata.category(ch)[0] != "C")
    if not cleaned:
        raise ServiceError("weekly.input.empty")
    if len(cleaned) > limit:
        raise ServiceError("weekly.input.too_long", limit=limit, length=len(cleaned))
    return cleaned


_CODE = re.compile(r"^\s*[lL]?\s*0*(\d{1,9})\s*$")


def parse_lead_ref(text: str) -> int | None:
    match = _CODE.match(unicodedata.normalize("NFKC", text or ""))
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


# --------------------------------------------------------------------------------------
# Which period a unit works on
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    period: WeeklyPeriod
    late: bool  # the deadline has passed: accepted until ``late_until``
    late_until: datetime | None


def late_window_end(cfg: WeeklyConfig, period: WeeklyPeriod) -> datetime:
    """A period's late submissions are accepted until the next period's deadline."""
    return cfg.periods.next(period).deadline


def period_open(cfg: WeeklyConfig, period: WeeklyPeriod, now: datetime) -> bool:
    return now <= late_window_end(cfg, period)


async def _unit_created(session: AsyncSession, unit_id: int) -> datetime | None:
    unit = await session.get(Unit, unit_id)
    return unit.created_at if unit else None


async def overdue_period(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, unit_id: int
) -> WeeklyPeriod | None:
    """The previous period when the unit still owes it (late window open), else None."""
    current = cfg.periods.week_of(now)
    previous = cfg.periods.previous(current)
    created = await _unit_created(session, unit_id)
    if created is None or created >= previous.deadline:
        return None
    if await weekly_repo.skip_of(session, previous.key):
        return None
    sub = await weekly_repo.submission(session, unit_id, previous.key)
    if sub is not None and sub.accepted_version_id is not None:
        return None
    return previous


async def target_period(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, unit_id: int, *, current: bool = False
) -> Target:
    if not current:
        overdue = await overdue_period(session, now, cfg, unit_id)
        if overdue is not None:
            return Target(overdue, True, late_window_end(cfg, overdue))
    return Target(cfg.periods.week_of(now), False, None)


# --------------------------------------------------------------------------------------
# The form: a draft per person, saved on every answer
# --------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class SubmissionState:
    """Where a unit stands for one period."""

    unit_id: int
    unit_name: str
    period: WeeklyPeriod
    info: DeadlineInfo
    skipped: str | None  # the reason, when the week is skipped (may be "")
    latest_number: int
    latest_status: str | None  # submitted / confirmed / returned
    latest_at: datetime | None
    latest_by: str | None
    return_reason: str | None
    accepted: bool
    outcome: str | None  # on_time / late / missing
    done_at: datetime | None
    has_head: bool = True

    @property
    def done(self) -> bool:
        return self.accepted or self.skipped is not None


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


def _require_unit_member(actor: Actor) -> int:
    if actor.unit_id is None or actor.role not in (Role.LIAISON, Role.HEAD):
        raise ServiceError("weekly.not_unit_member")
    return actor.unit_id


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


# --------------------------------------------------------------------------------------
# Submitting, confirming, returning
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    tg_user_id: int
    name: str
    locale: str | None


@dataclass(frozen=True)
class ProgressLine:
    code: str
    project: str
    text: str
    from_stage: str | None
    to_stage: str | None


@dataclass(frozen=True)
class SubmissionView:
    """A version as everyone sees it: the preview, the head's card, /status."""

    unit_name: str
    period_key: str
    number: int
    submitted_by: str
    submitted_at: datetime | None
    late: bool
    leads: tuple[LeadOption, ...]
    trips: tuple[str, ...]
    progress: tuple[ProgressLine, ...]
    work: str


@dataclass(frozen=True)
class SubmitResult:
    version_id: int
    number: int
    status: str  # submitted (waits for the head) or confirmed
    late: bool
    outcome: str | None
    info: DeadlineInfo
    heads: tuple[Person, ...]  # to ask for confirmation
    view: SubmissionView
    stage_changes: tuple[tuple[str, str, str], ...]  # (code, from, to)
    stage_refused: tuple[str, ...]  # lead codes whose stage change was refused
    replaced: bool  # an earlier version exists


def view_of(form: Form, submitted_by: str, number: int = 0) -> SubmissionView:
    return _view(
        form.unit_name,
        form.period.key,
        number,
        submitted_by,
        None,
        form.late,
        form.content,
        form.lead_names,
    )


def _view(
    unit_name: str,
    key: str,
    number: int,
    by: str,
    at: datetime | None,
    late: bool,
    content: dict[str, Any],
    names: dict[int, LeadOption],
) -> SubmissionView:
    def lead(i: int) -> LeadOption:
        return names.get(int(i)) or LeadOption(int(i), lead_code(int(i)), "", "")

    progress = tuple(
        ProgressLine(
            lead(p["lead"]).code,
            lead(p["lead"]).project,
            p.get("text", ""),
            p.get("from"),
            p.get("stage"),
        )
        for p in content.get("progress") or []
    )
    return SubmissionView(
        unit_name,
        key,
        number,
        by,
        at,
        late,
        tuple(lead(i) for i in content.get("leads") or []),
        tuple(content.get("trips") or []),
        progress,
        content.get("work") or "",
    )


async def submit(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    actor: Actor,
    draft_id: int,
    rev: int,
    settings: Settings,
) -> SubmitResult:
    unit_id = _require_unit_member(actor)
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    if draft is None or draft.id != draft_id:
        raise ServiceError("weekly.submit.already")
    if draft.rev != rev:
        raise ServiceError("weekly.submit.stale")
    form = await _form(session, now, cfg, actor, draft, True)
    if not await _draft_period_valid(session, now, cfg, unit_id, draft.period_key):
        raise ServiceError("weekly.closed", period=period_label(draft.period_key, actor.locale))
    if await weekly_repo.skip_of(session, draft.period_key):
        raise ServiceError(
            "weekly.skipped_week", period=period_label(draft.period_key, actor.locale)
        )
    if not form.complete:
        raise ServiceError("weekly.submit.incomplete")
    content = _validated(form)
    if not await weekly_repo.delete_draft(session, draft.id, rev):
        raise ServiceError("weekly.submit.already")  # a second press of the same button

    period = form.period
    sub = await weekly_repo.ensure_submission(session, unit_id, period.key, now)
    replaced = sub.latest_number > 0
    await weekly_repo.supersede_pending(session, sub.id)
    is_head = actor.role is Role.HEAD
    status = (
        VersionStatus.CONFIRMED
        if (is_head or not cfg.confirmation_required)
        else VersionStatus.SUBMITTED
    )
    late = now > period.deadline
    version = WeeklyVersion(
        submission_id=sub.id,
        number=sub.latest_number + 1,
        content=content,
        submitted_by_tg=actor.tg_user_id,
        submitted_by_name=actor.display_name[:128],
        submitted_at=now,
        status=status,
        late=late,
        decided_at=now if status == VersionStatus.CONFIRMED else None,
        decided_by_tg=actor.tg_user_id if status == VersionStatus.CONFIRMED else None,
    )
    session.add(version)
    sub.latest_number, sub.latest_status, sub.updated_at = version.number, status, now
    await session.flush()
    if status == VersionStatus.CONFIRMED:
        _accept(sub, version, now, period)
    # Whatever was planned for this unit is out of date now: the next offset plans afresh.
    await weekly_repo.cancel_pending(session, period.key, unit_id=unit_id, kind_prefix="remind:")
    changes, refused = await _apply_stage_changes(session, now, actor, content, settings)
    heads: tuple[Person, ...] = ()
    if status == VersionStatus.SUBMITTED:
        people = await weekly_repo.unit_people(session, [unit_id])
        heads = tuple(
            Person(m.tg_user_id, m.display_name, m.locale)
            for m in people
            if m.role == Role.HEAD.value and m.tg_user_id != actor.tg_user_id
        )
    repo_audit(
        session,
        now,
        actor.tg_user_id,
        "weekly.submit",
        unit_id=unit_id,
        period=period.key,
        version=version.number,
    )
    await refresh_after(
        session, unit_id, now, settings
    )  # scoring: on time / late moves /rank at once
    view = _view(
        form.unit_name,
        period.key,
        version.number,
        actor.display_name,
        now,
        late,
        content,
        form.lead_names,
    )
    return SubmitResult(
        version.id,
        version.number,
        status,
        late,
        sub.outcome,
        form.info,
        heads,
        view,
        changes,
        refused,
        replaced,
    )


def repo_audit(
    session: AsyncSession, now: datetime, actor: int | None, action: str, **detail: Any
) -> None:
    repo.audit(session, now, actor, action, **detail)


def _validated(form: Form) -> dict[str, Any]:
    """The service does not trust the draft: leads must be the unit's, texts within limits."""
    content = form.content
    leads = [int(i) for i in content.get("leads") or [] if int(i) in form.lead_names][:LEADS_MAX]
    trips = [clean_text(t, TRIP_MAX) for t in content.get("trips") or []][:TRIPS_MAX]
    progress = []
    for p in (content.get("progress") or [])[:PROGRESS_MAX]:
        if int(p.get("lead", 0)) in form.lead_names:
            progress.append(
                {
                    "lead": int(p["lead"]),
                    "text": clean_text(p.get("text"), PROGRESS_TEXT_MAX),
                    "stage": p.get("stage"),
                    "from": p.get("from"),
                }
            )
    work = clean_text(content["work"], WORK_MAX) if content.get("work") else ""
    return {"leads": leads, "trips": trips, "progress": progress, "work": work}


async def _apply_stage_changes(
    session: AsyncSession, now: datetime, actor: Actor, content: dict[str, Any], settings: Settings
) -> tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]:
    """Stage changes named in 项目进展 go through the lead's stage history.

    :func:`bot.services.lead_updates.move_stage` (the /stage command's use case) records
    the LeadEvent and checks who may move what; a change already made (the lead is
    at that stage, e.g. a resubmitted version) is skipped silently.
    """
    changes: list[tuple[str, str, str]] = []
    refused: list[str] = []
    for entry in content.get("progress") or []:
        stage = entry.get("stage")
        if not stage:
            continue
        lead = (await weekly_repo.leads_by_id(session, [entry["lead"]])).get(int(entry["lead"]))
        if lead is None or lead.stage == stage:
            continue
        try:
            async with session.begin_nested():
                moved = await move_stage(
                    session, now, actor, lead.id, stage, entry.get("text"), settings
                )
        except ServiceError:
            refused.append(lead.code)
            continue
        changes.append((moved.code, moved.from_stage, moved.to_stage))
    return tuple(changes), tuple(refused)


def _accept(
    sub: WeeklySubmission, version: WeeklyVersion, now: datetime, period: WeeklyPeriod
) -> None:
    sub.accepted_version_id = version.id
    sub.latest_status = (
        VersionStatus.CONFIRMED if sub.latest_number == version.number else sub.latest_status
    )
    if sub.outcome in (None, Outcome.MISSING):
        sub.outcome = Outcome.ON_TIME if now <= period.deadline else Outcome.LATE
        sub.done_at = now


@dataclass(frozen=True)
class Decision:
    version_id: int
    number: int
    confirmed: bool
    unit_name: str
    period_key: str
    info: DeadlineInfo
    outcome: str | None
    late: bool
    reason: str | None
    submitter: Person
    decided_by: str


async def review_card(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, version_id: int
) -> tuple[SubmissionView, str]:
    """A version for its unit's head to decide on: (view, status)."""
    version = await weekly_repo.version(session, version_id)
    if version is None:
        raise ServiceError("weekly.confirm.gone")
    _may_decide(actor, version)
    return await _version_view(session, version), version.status


async def _version_view(session: AsyncSession, version: WeeklyVersion) -> SubmissionView:
    content = dict(version.content)
    ids = set(content.get("leads") or []) | {int(p["lead"]) for p in content.get("progress") or []}
    names = {i: _option(lead) for i, lead in (await weekly_repo.leads_by_id(session, ids)).items()}
    sub = version.submission
    return _view(
        sub.unit.name,
        sub.period_key,
        version.number,
        version.submitted_by_name,
        version.submitted_at,
        version.late,
        content,
        names,
    )


def _may_decide(actor: Actor, version: WeeklyVersion) -> None:
    if actor.role is not Role.HEAD or actor.unit_id != version.submission.unit_id:
        raise ServiceError("weekly.confirm.not_head")


async def decide(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    actor: Actor,
    version_id: int,
    *,
    confirm: bool,
    reason: str | None = None,
) -> Decision:
    version = await weekly_repo.version(session, version_id)
    if version is None:
        raise ServiceError("weekly.confirm.gone")
    _may_decide(actor, version)
    sub = version.submission
    period = cfg.periods.by_key(sub.period_key)
    if version.status != VersionStatus.SUBMITTED:
        raise ServiceError(f"weekly.confirm.already_{version.status}", number=version.number)
    if not period_open(cfg, period, now):
        raise ServiceError("weekly.closed", period=period_label(period.key, actor.locale))
    if not confirm:
        reason = clean_text(reason, REASON_MAX)
    status = VersionStatus.CONFIRMED if confirm else VersionStatus.RETURNED
    if not await weekly_repo.decide_version(
        session, version.id, status, now, actor.tg_user_id, reason
    ):
        raise ServiceError("weekly.confirm.already_confirmed", number=version.number)
    await session.refresh(version)
    await session.refresh(sub)
    if confirm:
        _accept(sub, version, now, period)
        await weekly_repo.cancel_pending(
            session, period.key, unit_id=sub.unit_id, kind_prefix="remind:"
        )
    elif sub.latest_number == version.number:
        sub.latest_status = VersionStatus.RETURNED
    sub.updated_at = now
    await refresh_after(session, sub.unit_id, now)  # scoring: on time / late moves /rank at once
    submitter = (await weekly_repo.members_by_tg(session, [version.submitted_by_tg])).get(
        version.submitted_by_tg
    )
    person = Person(
        version.submitted_by_tg, version.submitted_by_name, submitter.locale if submitter else None
    )
    repo_audit(
        session,
        now,
        actor.tg_user_id,
        "weekly.confirm" if confirm else "weekly.return",
        unit_id=sub.unit_id,
        period=period.key,
        version=version.number,
        note=reason,
    )
    return Decision(
        version.id,
        version.number,
        confirm,
        sub.unit.name,
        period.key,
        deadline_info(cfg, period),
        sub.outcome,
        now > period.deadline,
        reason,
        person,
        actor.display_name,
    )


# --------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------


async def unit_state(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    unit_id: int,
    period: WeeklyPeriod,
    *,
    sub: WeeklySubmission | None = None,
    skip: WeeklySkip | bool | None = False,
    unit_name: str | None = None,
    has_head: bool | None = None,
) -> SubmissionState:
    if sub is None:
        sub = await weekly_repo.submission(session, unit_id, period.key)
    if skip is False:
        skip = await weekly_repo.skip_of(session, period.key)
    if unit_name is None:
        unit = await session.get(Unit, unit_id)
        unit_name = unit.name if unit else "?"
    latest = (
        await weekly_repo.latest_version(session, sub.id)
        if sub is not None and sub.latest_number
        else None
    )
    if has_head is None:
        has_head = any(
            m.role == Role.HEAD.value for m in await weekly_repo.unit_people(session, [unit_id])
        )
    return SubmissionState(
        unit_id,
        unit_name,
        period,
        deadline_info(cfg, period),
        (skip.reason or "") if isinstance(skip, WeeklySkip) else None,
        sub.latest_number if sub else 0,
        sub.latest_status if sub else None,
        latest.submitted_at if latest else None,
        latest.submitted_by_name if latest else None,
        latest.return_reason if latest and latest.status == VersionStatus.RETURNED else None,
        bool(sub and sub.accepted_version_id),
        sub.outcome if sub else None,
        sub.done_at if sub else None,
        has_head,
    )


@dataclass(frozen=True)
class MyStatus:
    current: SubmissionState
    overdue: SubmissionState | None  # last period, still owed (late window open)
    late_until: datetime | None
    draft_period: str | None


async def my_status(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor
) -> MyStatus:
    unit_id = _require_unit_member(actor)
    current = await unit_state(session, now, cfg, unit_id, cfg.periods.week_of(now))
    overdue_period_ = await overdue_period(session, now, cfg, unit_id)
    overdue = (
        await unit_state(session, now, cfg, unit_id, overdue_period_) if overdue_period_ else None
    )
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    return MyStatus(
        current,
        overdue,
        late_window_end(cfg, overdue_period_) if overdue_period_ else None,
        draft.period_key if draft else None,
    )


@dataclass(frozen=True)
class Overview:
    period: WeeklyPeriod
    info: DeadlineInfo
    skipped: str | None
    units: tuple[SubmissionState, ...]
    previous_key: str
    previous_counts: dict[str, int]  # outcome → units, for the previous period


async def overview(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period: WeeklyPeriod | None = None
) -> Overview:
    """Every unit's state for a period (default: the current one), for leaders."""
    period = period or cfg.periods.week_of(now)
    skip = await weekly_repo.skip_of(session, period.key)
    subs = await weekly_repo.submissions_for(session, period.key)
    people = await weekly_repo.unit_people(session)
    heads = {m.unit_id for m in people if m.role == Role.HEAD.value}
    states = []
    for unit in await weekly_repo.active_units(session):
        states.append(
            await unit_state(
                session,
                now,
                cfg,
                unit.id,
                period,
                sub=subs.get(unit.id),
                skip=skip,
                unit_name=unit.name,
                has_head=unit.id in heads,
            )
        )
    previous = cfg.periods.previous(period)
    counts: dict[str, int] = {}
    for sub in (await weekly_repo.submissions_for(session, previous.key)).values():
        if sub.outcome:
            counts[sub.outcome] = counts.get(sub.outcome, 0) + 1
    return Overview(
        period,
        deadline_info(cfg, period),
        (skip.reason or "") if skip else None,
        tuple(states),
        previous.key,
        counts,
    )


# --------------------------------------------------------------------------------------
# Closing a period (the scheduler, at the deadline)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSummary:
    period: WeeklyPeriod
    on_time: tuple[str, ...]
    late: tuple[str, ...]
    missing: tuple[str, ...]
    waiting: tuple[str, ...]  # missing, but a version waits for the head
    previous_late: tuple[str, ...]  # units that filed the previous period late since


async def close_period(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period: WeeklyPeriod
) -> PeriodSummary:
    """Mark units without an accepted version missing; return the period's summary."""
    subs = await weekly_repo.submissions_for(session, period.key)
    on_time, late, missing, waiting = [], [], [], []
    for unit in await weekly_repo.active_units(session):
        if unit.created_at >= period.deadline:
            continue  # did not exist when the period ended
        sub = subs.get(unit.id)
        if sub is None:
            sub = await weekly_repo.ensure_submission(session, unit.id, period.key, now)
        if sub.accepted_version_id is None:
            sub.outcome, sub.missing_marked_at, sub.updated_at = Outcome.MISSING, now, now
            await refresh_after(session, unit.id, now)  # scoring: the missing penalty, at once
            missing.append(unit.name)
            if sub.latest_status == VersionStatus.SUBMITTED:
                waiting.append(unit.name)
        elif sub.outcome == Outcome.LATE:
            late.append(unit.name)
        else:
            on_time.append(unit.name)
    previous = cfg.periods.previous(period)
    previous_late = [
        s.unit.name
        for s in (await weekly_repo.submissions_for(session, previous.key)).values()
        if s.outcome == Outcome.LATE and s.done_at is not None and s.done_at > previous.deadline
    ]
    return PeriodSummary(
        period, tuple(on_time), tuple(late), tuple(missing), tuple(waiting), tuple(previous_late)
    )


# --------------------------------------------------------------------------------------
# Leave and skipped weeks
# --------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_MONTH_DAY = re.compile(r"(\d{1,2})[-/.月](\d{1,2})[日号]?")
_OFF = frozenset({"off", "end", "cancel", "stop", "结束", "取消", "销假", "返岗"})


def parse_leave(text: str, today: date) -> date | bool | None:
    """``until 2026-12-03`` / ``12月3日`` / ``2026年12月3日`` → the date; ``off`` → None; else False."""
    raw = unicodedata.normalize("NFKC", text or "").strip().lower()
    raw = re.sub(r"^(until|till|to|至|到|直到)\s*", "", raw).strip()
    if raw in _OFF:
        return None
    match = _ISO_DATE.fullmatch(raw)
    try:
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _MONTH_DAY.fullmatch(raw)
        if match:
            found = date(today.year, int(match.group(1)), int(match.group(2)))
            return found if found >= today else date(today.year + 1, found.month, found.day)
    except ValueError:
        return False
    return False


@dataclass(frozen=True)
class LeaveResult:
    until: date | None  # None: leave ended
    substitutes: tuple[str, ...]


async def set_leave(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> LeaveResult:
    if actor.member_id is None or actor.unit_id is None:
        raise ServiceError("weekly.not_unit_member")
    today = cfg.today(now)
    parsed = parse_leave(text, today)
    if parsed is False:
        raise ServiceError("weekly.leave.usage")
    if parsed is None:
        await weekly_repo.clear_leave(session, actor.member_id)
        repo_audit(session, now, actor.tg_user_id, "weekly.leave_off")
        return LeaveResult(None, ())
    assert isinstance(parsed, date)
    if parsed < today:
        raise ServiceError("weekly.leave.past", day=day_text(parsed, actor.locale))
    if parsed > today + timedelta(days=366):
        raise ServiceError("weekly.leave.too_far")
    existing = await weekly_repo.leave_of(session, actor.member_id)
    if existing is None:
        session.add(MemberLeave(member_id=actor.member_id, until=parsed, set_at=now))
    else:
        existing.until, existing.set_at = parsed, now
    repo_audit(session, now, actor.tg_user_id, "weekly.leave", until=parsed.isoformat())
    people = await weekly_repo.unit_people(session, [actor.unit_id])
    leaves = await weekly_repo.leaves_on(session, today)
    me = next((m for m in people if m.id == actor.member_id), None)
    subs = substitutes(people, me, leaves, today) if me else []
    return LeaveResult(parsed, tuple(m.display_name for m in subs))


def substitutes(people: Any, member: Any, leaves: dict[int, date], day: date) -> list[Any]:
    """Who receives a member's reminders while they are away: the unit's other
    members of the same role, else those of the other role (liaison ↔ head)."""
    present = [
        m
        for m in people
        if m.unit_id == member.unit_id and m.id != member.id and leaves.get(m.id, date.min) < day
    ]
    same = [m for m in present if m.role == member.role]
    return same or [m for m in present if m.role != member.role]


def parse_week_ref(cfg: WeeklyConfig, text: str, now: datetime) -> WeeklyPeriod:
    """``2027-W06``, a date in the week (``2027-02-11``), ``本周`` / ``下周``."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if raw.lower() in ("本周", "this", "this week", "current"):
        return cfg.periods.week_of(now)
    if raw.lower() in ("下周", "next", "next week"):
        return cfg.periods.next(cfg.periods.week_of(now))
    try:
        return cfg.periods.by_key(raw)
    except ValueError:
        pass
    match = _ISO_DATE.fullmatch(raw)
    if match:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise ServiceError("weekly.skip.usage") from None
        return cfg.periods.week_of(datetime.combine(day, time(12), tzinfo=cfg.zone))
    raise ServiceError("weekly.skip.usage")


@dataclass(frozen=True)
class SkipResult:
    info: DeadlineInfo
    reason: str
    skipped: bool  # False: un-skipped
    cancelled: int


async def skip_week(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> SkipResult:
    """``2027-W06 春节`` skips the week; ``2027-W06 off`` takes the skip back."""
    if not actor.is_admin:
        raise ServiceError("access.admin_only")
    words = (text or "").split(maxsplit=1)
    if not words:
        raise ServiceError("weekly.skip.usage")
    period = parse_week_ref(cfg, words[0], now)
    rest = words[1].strip() if len(words) > 1 else ""
    if now > late_window_end(cfg, period):
        raise ServiceError("weekly.skip.past", period=period_label(period.key, actor.locale))
    if rest.lower() in ("off", "undo", "取消", "撤销"):
        removed = await weekly_repo.remove_skip(session, period.key)
        if not removed:
            raise ServiceError(
                "weekly.skip.not_skipped", period=period_label(period.key, actor.locale)
            )
        repo_audit(session, now, actor.tg_user_id, "weekly.unskip", period=period.key)
        return SkipResult(deadline_info(cfg, period), "", False, 0)
    reason = rest[:200]
    existing = await weekly_repo.skip_of(session, period.key)
    if existing is None:
        session.add(
            WeeklySkip(period_key=period.key, reason=reason or None, by_tg=actor.tg_user_id, at=now)
        )
    else:
        existing.reason, existing.by_tg, existing.at = reason or None, actor.tg_user_id, now
    cancelled = 0
    for prefix in ("remind:", "leaders:"):
        cancelled += await weekly_repo.cancel_pending(
            session, period.key, kind_prefix=prefix, why=weekly_repo.SKIPPED_WEEK
        )
    repo_audit(session, now, actor.tg_user_id, "weekly.skip", period=period.key, note=reason)
    return SkipResult(deadline_info(cfg, period), reason, True, cancelled)


async def upcoming_skips(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig
) -> list[tuple[DeadlineInfo, str]]:
    first = cfg.periods.previous(cfg.periods.week_of(now))
    return [
        (deadline_info(cfg, cfg.periods.by_key(s.period_key)), s.reason or "")
        for s in await weekly_repo.skips_from(session, first.key)
    ]
