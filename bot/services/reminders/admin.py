"""The admins' notices: calendar years the holiday package does not cover, and the
report of messages that could not be delivered (Telegram's errors said plainly).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog
from bot.domain.enums import Role
from bot.services.reminders.rows import ADMIN_CALENDAR, ADMIN_UNDELIVERED, _row
from bot.services.weekly import WeeklyConfig
from storage import weekly_repo
from storage.models import OutboxMessage

CALENDAR_LOOKAHEAD_WEEKS = 8
REPORT_LINES = 20


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
