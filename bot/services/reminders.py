"""What the weekly cycle sends, and when: planned into the outbox, rendered at send time.

Planning happens when a reminder's time comes (not in advance), so the recipients
are the units that are not done *then*. Each ``(period, offset)`` is planned once
(a durable :class:`~storage.models.JobMark` in the same transaction as its rows),
and each row's ``(kind, period, chat)`` is unique, so a restart or a second
instance plans nothing twice. Delivery is :mod:`scheduler.outbox`'s job.

Kinds (``OutboxMessage.kind``):

* ``remind:<minutes>`` (``remind:<seconds>s`` when not whole minutes) — before the
  deadline: a private message to each liaison of a unit that has not submitted (to
  the head when only the confirmation is missing; to a substitute when the person
  is on leave), and one post in the unit's group. Private messages respect the
  quiet hours.
* ``leaders:missing`` — at ``leaders_missing_offset``: the units not done yet.
* ``leaders:summary`` — at the deadline: on time, late, missing.
* ``admin:calendar`` — once per uncovered year: deadlines are approximate.
* ``admin:undelivered`` — failures, reported once.

Texts are rendered when sent (:func:`render`), so "还剩 N 小时" is true even when a
message goes out late within its grace time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog
from bot.domain.enums import OutboxStatus, Role, VersionStatus
from bot.domain.periods import WeeklyPeriod
from bot.forms.buttons import WeeklyDecision
from bot.forms.callbacks import encode
from bot.services.weekly import (
    WeeklyConfig,
    close_period,
    day_text,
    deadline_info,
    period_label,
    remaining_text,
    shift_note,
    substitutes,
    when_text,
)
from storage import scoring_repo, weekly_repo
from storage.models import Member, OutboxMessage

REMIND = "remind:"
LEADERS_MISSING = "leaders:missing"
LEADERS_SUMMARY = "leaders:summary"
ADMIN_CALENDAR = "admin:calendar"
ADMIN_UNDELIVERED = "admin:undelivered"
CALENDAR_LOOKAHEAD_WEEKS = 8
REPORT_LINES = 20
START_PAYLOAD = "weekly"


# --------------------------------------------------------------------------------------
# Quiet hours
# --------------------------------------------------------------------------------------


def quiet_end(t: datetime, quiet: tuple[time, time] | None, zone: Any) -> datetime | None:
    """When the quiet hours around ``t`` end, or None when ``t`` is not in them."""
    if quiet is None:
        return None
    start, end = quiet
    local = t.astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= now_t < end
        end_day = local.date()
    else:  # wraps midnight: 22:00-08:00
        inside = now_t >= start or now_t < end
        end_day = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(t.tzinfo)


Gate = Callable[[OutboxMessage, datetime], tuple[Any, ...] | None]


def quiet_gate(cfg: WeeklyConfig) -> Gate:
    """Checked by the sender just before sending: a private reminder never goes out in
    the quiet hours; it waits for their end if that is still before the deadline,
    else it is skipped."""

    def gate(row: OutboxMessage, now: datetime) -> tuple[Any, ...] | None:
        params = row.params or {}
        if not params.get("_quiet"):
            return None
        end = quiet_end(now, cfg.quiet, cfg.zone)
        if end is None:
            return None
        deadline = (
            datetime.fromisoformat(params["deadline_at"])
            if params.get("deadline_at")
            else row.not_after
        )
        if end < deadline:
            return ("defer", end, min(end + cfg.grace, deadline))
        return ("skip", "quiet hours last until the deadline")

    return gate


# --------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------


def _row(
    *,
    kind: str,
    key: str,
    chat_id: int,
    template: str,
    params: dict[str, Any],
    locale: str,
    due: datetime,
    not_after: datetime,
    now: datetime,
    unit_id: int | None = None,
    recipient: str | None = None,
    buttons: list[Any] | None = None,
    status: str = OutboxStatus.PENDING,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "period_key": key,
        "chat_id": chat_id,
        "unit_id": unit_id,
        "recipient": (recipient or "")[:160] or None,
        "template": template,
        "params": params,
        "locale": locale,
        "buttons": buttons or [],
        "due_at": due,
        "not_after": not_after,
        "status": status,
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": error,
        "reported": False,
        "created_at": now,
    }


def _start_button() -> list[Any]:
    return [[{"label": "weekly.button.start", "start": START_PAYLOAD}]]


def _deadline_params(cfg: WeeklyConfig, period: WeeklyPeriod, locale: str) -> dict[str, Any]:
    info = deadline_info(cfg, period)
    note = shift_note(info, locale)
    return {
        "period": period_label(period.key, locale),
        "deadline": when_text(info.deadline, locale),
        "deadline_at": period.deadline.isoformat(),
        "shift": ("\n" + note) if note else "",
    }


def _offset_name(offset: timedelta) -> str:
    """Minutes (``1440``, the name of existing kinds and marks); an offset that is not a
    whole number of minutes gets seconds (``45s``), so ``45s`` and ``20s`` stay two reminders."""
    seconds = int(offset.total_seconds())
    return str(seconds // 60) if seconds % 60 == 0 else f"{seconds}s"


@dataclass
class Planned:
    rows: int = 0  # rows inserted (any kind)
    reminders: int = 0  # of which reminders to people and groups


async def plan_reminders(session: AsyncSession, now: datetime, cfg: WeeklyConfig) -> Planned:
    """Plan every reminder whose time has come in the current period (once each)."""
    planned = Planned()
    period = cfg.periods.week_of(now)
    if now >= period.deadline or await weekly_repo.skip_of(session, period.key):
        return planned
    for offset in cfg.offsets:
        at = period.deadline - offset
        if at > now or at <= period.start:
            continue
        if not await weekly_repo.take_mark(
            session, f"plan:{period.key}:{_offset_name(offset)}", now
        ):
            continue
        rows = await _unit_reminders(session, now, cfg, period, offset, at)
        added = await weekly_repo.enqueue(session, rows)
        planned.rows += added
        planned.reminders += added
    at = period.deadline - cfg.leaders_offset
    if period.start < at <= now and await weekly_repo.take_mark(
        session, f"plan:{period.key}:leaders", now
    ):
        planned.rows += await weekly_repo.enqueue(
            session, await _leaders_missing(session, now, cfg, period, at)
        )
    return planned


async def resume_week(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period_key: str
) -> int:
    """A skip was taken back: the week's reminders go on from here.

    A reminder whose time to be sent passed during the skip is moot: its plan mark
    is taken so it is neither sent late nor reported to admins as missed. Rows the
    skip cancelled that are still in time go out again; their number is returned.
    Closing the period is not touched: :func:`close_periods` closes an un-skipped
    period at its next tick, even after the deadline.
    """
    period = cfg.periods.by_key(period_key)
    due = [
        (period.deadline - offset, f"plan:{period.key}:{_offset_name(offset)}")
        for offset in cfg.offsets
    ]
    due.append((period.deadline - cfg.leaders_offset, f"plan:{period.key}:leaders"))
    for at, mark in due:
        if period.start < at and min(at + cfg.grace, period.deadline) <= now:
            await weekly_repo.take_mark(session, mark, now)
    return await weekly_repo.revive_cancelled(session, period.key, weekly_repo.SKIPPED_WEEK, now)


async def _unit_reminders(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    period: WeeklyPeriod,
    offset: timedelta,
    at: datetime,
) -> list[dict[str, Any]]:
    kind = REMIND + _offset_name(offset)
    subs = await weekly_repo.submissions_for(session, period.key)
    people = await weekly_repo.unit_people(session)
    by_unit: dict[int, list[Member]] = {}
    for m in people:
        by_unit.setdefault(m.unit_id or 0, []).append(m)
    groups = await weekly_repo.unit_groups(session)
    day = cfg.local(max(at, now)).date()
    leaves = await weekly_repo.leaves_on(session, day)
    not_after = min(at + cfg.grace, period.deadline)
    rows: list[dict[str, Any]] = []
    for unit in await weekly_repo.active_units(session):
        sub = subs.get(unit.id)
        if sub is not None and sub.accepted_version_id is not None:
            continue
        waiting = sub is not None and sub.latest_status == VersionStatus.SUBMITTED
        members = by_unit.get(unit.id, [])
        targets = [
            m for m in members if m.role == (Role.HEAD.value if waiting else Role.LIAISON.value)
        ]
        if waiting and not targets:
            targets = [m for m in members if m.role == Role.LIAISON.value]
        version_id = None
        if waiting:
            latest = await weekly_repo.latest_version(session, sub.id)  # type: ignore[union-attr]
            version_id = latest.id if latest else None
        for member, away in _recipients(targets, members, leaves, day):
            locale = member.locale or cfg.locale
            params = {
                **_deadline_params(cfg, period, locale),
                "unit": unit.name,
                "_quiet": True,
                "number": sub.latest_number if sub else 0,
                "leave": _leave_note(away, locale),
            }
            is_head_note = waiting and member.role == Role.HEAD.value
            template = (
                "weekly.remind.head"
                if is_head_note
                else ("weekly.remind.waiting" if waiting else "weekly.remind.liaison")
            )
            buttons = (
                [
                    [
                        {
                            "label": "weekly.button.review",
                            "data": encode(WeeklyDecision(version_id, "show")),
                        }
                    ]
                ]
                if is_head_note and version_id
                else _start_button()
            )
            due, status, error = (
                at,
                OutboxStatus.PENDING,
                None,
            )  # planned late: due at once, within grace
            end = quiet_end(max(at, now), cfg.quiet, cfg.zone)
            row_not_after = not_after
            if end is not None:
                if end < period.deadline:
                    due, row_not_after = end, min(end + cfg.grace, period.deadline)
                else:
                    status, error = OutboxStatus.SKIPPED, "quiet hours last until the deadline"
            rows.append(
                _row(
                    kind=kind,
                    key=period.key,
                    chat_id=member.tg_user_id,
                    template=template,
                    params=params,
                    locale=locale,
                    due=due,
                    not_after=row_not_after,
                    now=now,
                    unit_id=unit.id,
                    recipient=catalog.plain(
                        "weekly.recipient.person",
                        cfg.locale,
                        name=member.display_name,
                        unit=unit.name,
                    ),
                    buttons=buttons,
                    status=status,
                    error=error,
                )
            )
        chat = groups.get(unit.id)
        if chat is not None:
            params = {**_deadline_params(cfg, period, cfg.locale), "unit": unit.name}
            rows.append(
                _row(
                    kind=kind,
                    key=period.key,
                    chat_id=chat,
                    template="weekly.remind.group_waiting" if waiting else "weekly.remind.group",
                    params=params,
                    locale=cfg.locale,
                    due=at,
                    not_after=not_after,
                    now=now,
                    unit_id=unit.id,
                    recipient=catalog.plain("weekly.recipient.group", cfg.locale, unit=unit.name),
                    buttons=_start_button(),
                )
            )
    return rows


def _recipients(
    targets: Sequence[Member], members: Sequence[Member], leaves: dict[int, date], day: date
) -> list[tuple[Member, list[tuple[str, date]]]]:
    """(member, [(name, until) of those on leave they receive for]) — one entry per person."""
    found: dict[int, tuple[Member, list[tuple[str, date]]]] = {}
    for member in targets:
        until = leaves.get(member.id)
        if until is None or until < day:
            found.setdefault(member.tg_user_id, (member, []))
            continue
        for sub in substitutes(members, member, leaves, day):
            found.setdefault(sub.tg_user_id, (sub, []))[1].append((member.display_name, until))
    return list(found.values())


def _leave_note(away: list[tuple[str, date]], locale: str) -> str:
    if not away:
        return ""
    who = "、".join(
        catalog.plain("weekly.remind.away_one", locale, name=n, day=day_text(u, locale))
        for n, u in away
    )
    return "\n" + catalog.plain("weekly.remind.on_behalf", locale, who=who)


async def _leaders_targets(session: AsyncSession, cfg: WeeklyConfig) -> list[tuple[int, str, bool]]:
    """(chat id, locale, private?) — the leaders' group, or each leader privately when none is bound."""
    chat = await weekly_repo.leaders_chat(session)
    if chat is not None:
        return [(chat, cfg.locale, False)]
    return [
        (m.tg_user_id, m.locale or cfg.locale, True)
        for m in await weekly_repo.members_with_role(session, Role.LEADER)
    ]


async def _leaders_missing(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period: WeeklyPeriod, at: datetime
) -> list[dict[str, Any]]:
    subs = await weekly_repo.submissions_for(session, period.key)
    missing: list[str] = []
    waiting: list[str] = []
    for unit in await weekly_repo.active_units(session):
        sub = subs.get(unit.id)
        if sub is not None and sub.accepted_version_id is not None:
            continue
        (
            waiting if sub is not None and sub.latest_status == VersionStatus.SUBMITTED else missing
        ).append(unit.name)
    rows = []
    for chat, locale, private in await _leaders_targets(session, cfg):
        lines = []
        if missing:
            lines.append(
                catalog.plain(
                    "weekly.leaders.not_submitted",
                    locale,
                    names="、".join(missing),
                    count=len(missing),
                )
            )
        if waiting:
            lines.append(
                catalog.plain(
                    "weekly.leaders.waiting", locale, names="、".join(waiting), count=len(waiting)
                )
            )
        if not lines:
            lines.append(catalog.plain("weekly.leaders.all_in", locale))
        params = {
            **_deadline_params(cfg, period, locale),
            "lines": "\n".join(lines),
            "_quiet": private,
        }
        rows.append(
            _row(
                kind=LEADERS_MISSING,
                key=period.key,
                chat_id=chat,
                template="weekly.leaders.missing",
                params=params,
                locale=locale,
                due=at,
                not_after=min(at + cfg.grace, period.deadline),
                now=now,
                recipient=catalog.plain("weekly.recipient.leaders", cfg.locale),
            )
        )
    return rows


# --------------------------------------------------------------------------------------
# Closing periods: missing marks and the leaders' summary
# --------------------------------------------------------------------------------------


def _closing_candidates(cfg: WeeklyConfig, now: datetime) -> list[WeeklyPeriod]:
    current = cfg.periods.week_of(now)
    candidates = [
        cfg.periods.previous(cfg.periods.previous(current)),
        cfg.periods.previous(current),
    ]
    if now >= current.deadline:
        candidates.append(current)
    return candidates


SCORE_BATCH = 25  # units refreshed per transaction after a close: other writers get their turn


async def close_periods(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, *, score: bool = True
) -> int:
    """Close the periods whose deadline has passed (the last two, oldest first).

    ``score=False``: the missing units' points are left to :func:`score_closed_periods`, which
    the scheduler runs right after this transaction commits (the close itself stays short).
    """
    added = 0
    for period in _closing_candidates(cfg, now):
        if await weekly_repo.skip_of(session, period.key):
            continue  # asked again next tick: a skip taken back within the late window still closes
        if not await weekly_repo.take_mark(session, f"close:{period.key}", now):
            continue
        summary = await close_period(session, now, cfg, period, score=score)
        if score:
            await weekly_repo.take_mark(session, f"scored:{period.key}", now)
        if not (summary.on_time or summary.late or summary.missing):
            continue  # no unit existed then
        rows = []
        not_after = cfg.periods.next(period).deadline
        for chat, locale, private in await _leaders_targets(session, cfg):
            lines = []
            if summary.missing:
                lines.append(
                    catalog.plain(
                        "weekly.summary.missing", locale, names="、".join(summary.missing)
                    )
                )
            if summary.waiting:
                lines.append(
                    catalog.plain(
                        "weekly.summary.waiting", locale, names="、".join(summary.waiting)
                    )
                )
            if summary.late:
                lines.append(
                    catalog.plain("weekly.summary.late", locale, names="、".join(summary.late))
                )
            if summary.previous_late:
                lines.append(
                    catalog.plain(
                        "weekly.summary.previous_late",
                        locale,
                        names="、".join(summary.previous_late),
                    )
                )
            params = {
                **_deadline_params(cfg, period, locale),
                "on_time": len(summary.on_time),
                "late": len(summary.late),
                "missing": len(summary.missing),
                "lines": ("\n" + "\n".join(lines)) if lines else "",
                "_quiet": private,
            }
            rows.append(
                _row(
                    kind=LEADERS_SUMMARY,
                    key=period.key,
                    chat_id=chat,
                    template="weekly.leaders.summary",
                    params=params,
                    locale=locale,
                    due=period.deadline,
                    not_after=not_after,
                    now=now,
                    recipient=catalog.plain("weekly.recipient.leaders", cfg.locale),
                )
            )
        added += await weekly_repo.enqueue(session, rows)
    return added


async def score_closed_periods(db: Any, now: datetime, cfg: WeeklyConfig) -> int:
    """The missing penalties of the periods closed with ``score=False``: each missing unit's year
    from the deadline on, :data:`SCORE_BATCH` units a transaction, then the mark ``scored:<key>``.

    Durable: a period closed but not yet marked scored (a crash in between) is scored again at
    the next tick -- a refresh that finds its lines written changes nothing. Returns units refreshed.
    """
    from bot.services.scoring import refresh_after

    done = 0
    for period in _closing_candidates(cfg, now):
        async with db.session() as session:
            if not await weekly_repo.has_mark(session, f"close:{period.key}"):
                continue
            if await weekly_repo.has_mark(session, f"scored:{period.key}"):
                continue
            units = sorted({u for u, _ in await scoring_repo.missing_weekly(session, [period.key])})
        for i in range(0, len(units), SCORE_BATCH):
            async with db.session() as session:
                for unit_id in units[i : i + SCORE_BATCH]:
                    await refresh_after(session, unit_id, now, cfg.rules, since=period.deadline)
            done += len(units[i : i + SCORE_BATCH])
        async with db.session() as session:
            await weekly_repo.take_mark(session, f"scored:{period.key}", now)
    return done


# --------------------------------------------------------------------------------------
# Admin notices: uncovered calendar years, undelivered messages
# --------------------------------------------------------------------------------------


async def admin_recipients(session: AsyncSession, cfg: WeeklyConfig) -> list[tuple[int, str]]:
    found: dict[int, str] = dict.fromkeys(cfg.admins, cfg.locale)
    known = await weekly_repo.members_by_tg(session, found)
    for tg in found:
        if tg in known and known[tg].locale:
            found[tg] = known[tg].locale or cfg.locale
    for m in await weekly_repo.members_with_role(session, Role.ADMIN):
        found.setdefault(m.tg_user_id, m.locale or cfg.locale)
    return sorted(found.items())


def uncovered_years(
    cfg: WeeklyConfig, now: datetime, weeks: int = CALENDAR_LOOKAHEAD_WEEKS
) -> list[int]:
    """Years of the coming deadlines that China's calendar package does not know."""
    period = cfg.periods.week_of(now)
    years = set()
    for _ in range(weeks + 1):
        years.add(period.nominal.year)
        period = cfg.periods.next(period)
    return sorted(y for y in years if not cfg.periods.calendar.covers(date(y, 1, 1)))


async def warn_uncovered_calendar(session: AsyncSession, now: datetime, cfg: WeeklyConfig) -> int:
    """Tell the admins, once per year (the outbox key is the durable flag), that the
    deadlines of a year the calendar package does not cover count weekends only."""
    years = uncovered_years(cfg, now)
    if not years:
        return 0
    schedule = cfg.periods.schedule
    rows = []
    for year in years:
        extra = sum(
            1 for d in (*schedule.extra_holidays, *schedule.extra_workdays) if d.year == year
        )
        for chat, locale in await admin_recipients(session, cfg):
            note = (
                catalog.plain("weekly.admin.calendar_extra", locale, count=extra) if extra else ""
            )
            rows.append(
                _row(
                    kind=ADMIN_CALENDAR,
                    key=str(year),
                    chat_id=chat,
                    template="weekly.admin.calendar",
                    params={"year": year, "extra": note},
                    locale=locale,
                    due=now,
                    not_after=now + timedelta(days=7),
                    now=now,
                    recipient=catalog.plain("weekly.recipient.admin", cfg.locale, tg=chat),
                )
            )
    return await weekly_repo.enqueue(session, rows)


_ERRORS = (
    ("missed:", "weekly.error.missed"),
    ("interrupted while sending", "weekly.error.unknown"),
    ("bot was blocked", "weekly.error.blocked"),
    ("can't initiate conversation", "weekly.error.not_started"),
    ("chat not found", "weekly.error.chat_not_found"),
    ("bot was kicked", "weekly.error.kicked"),
    ("not a member", "weekly.error.kicked"),
    ("group moved", "weekly.error.migrated"),
)


def error_text(error: str | None, locale: str) -> str:
    """Telegram's English error, said plainly for admins (the original kept in brackets)."""
    raw = (error or "").strip()
    for needle, key in _ERRORS:
        if needle in raw:
            return catalog.plain(key, locale, raw=raw[:160])
    return raw[:200] or "?"


def _what(row: OutboxMessage, locale: str) -> str:
    family = row.kind.split(":", 1)[0]
    key = {"remind": "weekly.kind.remind", "leaders": "weekly.kind.leaders"}.get(
        family, "weekly.kind.other"
    )
    return catalog.plain(key, locale, period=row.period_key)


async def plan_failure_report(session: AsyncSession, now: datetime, cfg: WeeklyConfig) -> int:
    """One message per admin listing messages that could not be delivered; each failure
    is reported once (``reported`` is set in the same transaction)."""
    failures = list(await weekly_repo.unreported_failures(session))
    if not failures:
        return 0
    rows = []
    for chat, locale in await admin_recipients(session, cfg):
        lines = []
        for row in failures[:REPORT_LINES]:
            lines.append(
                catalog.plain(
                    "weekly.admin.undelivered_line",
                    locale,
                    who=row.recipient or str(row.chat_id),
                    what=_what(row, locale),
                    error=error_text(row.error or row.status, locale),
                )
            )
        if len(failures) > REPORT_LINES:
            lines.append(
                catalog.plain(
                    "weekly.admin.undelivered_more", locale, count=len(failures) - REPORT_LINES
                )
            )
        rows.append(
            _row(
                kind=ADMIN_UNDELIVERED,
                key=f"#{failures[0].id}-{failures[-1].id}",
                chat_id=chat,
                template="weekly.admin.undelivered",
                params={"count": len(failures), "lines": "\n".join(lines)},
                locale=locale,
                due=now,
                not_after=now + timedelta(days=2),
                now=now,
                recipient=catalog.plain("weekly.recipient.admin", cfg.locale, tg=chat),
            )
        )
    await weekly_repo.mark_reported(session, [r.id for r in failures])
    await weekly_repo.enqueue(session, rows)
    return len(failures)


# --------------------------------------------------------------------------------------
# Rendering at send time
# --------------------------------------------------------------------------------------


def render(
    row: OutboxMessage, now: datetime, bot_username: str | None
) -> tuple[str, list[list[dict[str, str]]]]:
    """(HTML text, button rows as dicts with ``text`` and ``url`` or ``callback_data``)."""
    params = {k: v for k, v in (row.params or {}).items() if not k.startswith("_")}
    if "deadline_at" in params:
        params["remaining"] = remaining_text(
            datetime.fromisoformat(params["deadline_at"]) - now, row.locale
        )
    text = catalog.t(row.template, row.locale, **params)
    buttons = []
    for spec_row in row.buttons or []:
        out = []
        for spec in spec_row:
            label = catalog.plain(spec["label"], row.locale)
            if "start" in spec:
                out.append(
                    {"text": label, "url": f"https://t.me/{bot_username}?start={spec['start']}"}
                )
            elif "data" in spec:
                out.append({"text": label, "callback_data": spec["data"]})
        if out:
            buttons.append(out)
    return text, buttons
