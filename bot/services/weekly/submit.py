"""Submitting a version, and the head's 确认 / 退回 (SPEC § Weekly submission)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.enums import Outcome, Role, VersionStatus, lead_code
from bot.domain.periods import WeeklyPeriod
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.lead_updates import move_stage
from bot.services.scoring import refresh_after
from bot.services.weekly.calendar import late_window_end, period_open
from bot.services.weekly.config import (
    LEADS_MAX,
    PROGRESS_MAX,
    PROGRESS_TEXT_MAX,
    REASON_MAX,
    TRIP_MAX,
    TRIPS_MAX,
    WORK_MAX,
    DeadlineInfo,
    WeeklyConfig,
    clean_text,
    deadline_info,
    period_label,
    repo_audit,
)
from bot.services.weekly.draft import Form, LeadOption, _draft_period_valid, _form, _option
from bot.services.weekly.status import _require_unit_member
from storage import weekly_repo
from storage.models import (
    WeeklySubmission,
    WeeklyVersion,
)


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
    late_until: datetime | None = None  # late: the head may confirm until then (next deadline)


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
        cfg.local(late_window_end(cfg, period)) if late else None,
    )


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
    # scoring: on time / late moves /rank at once
    await refresh_after(session, sub.unit_id, now, cfg.rules)
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
