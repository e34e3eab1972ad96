"""``/status`` as text: a member's unit, or every unit for leaders (the overview).

The same words on every channel (Telegram, DingTalk): only the message catalog, the
locale and the zone the times are shown in. Each adapter adds its own buttons (the head's
审核 card, the way to open ``/weekly``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot import catalog
from bot.catalog import Html
from bot.domain.enums import Outcome, VersionStatus
from bot.services import weekly as wk
from bot.services.weekly import (
    DeadlineInfo,
    MyStatus,
    Overview,
    SkipResult,
    SubmissionState,
    WeeklyConfig,
)

__all__ = ["deadline_lines", "overview_text", "skip_result_text", "skips_text", "status_text"]


class _Words:
    """The catalog in one locale, and times in one zone."""

    def __init__(self, locale: str, zone: tzinfo) -> None:
        self.locale, self.zone = locale, zone

    def t(self, key: str, /, **values: Any) -> Html:
        return catalog.t(key, self.locale, **values)

    def label(self, key: str, /, **values: Any) -> str:
        return catalog.plain(key, self.locale, **values)

    def when(self, when: datetime) -> str:
        return wk.when_text(when.astimezone(self.zone), self.locale)


def deadline_lines(locale: str, now: datetime, info: DeadlineInfo) -> Html:
    """截止：11月19日（周四）17:00（还剩 2 天 7 小时） and the holiday note."""
    left = info.deadline - now
    key = "weekly.deadline_line" if left.total_seconds() > 0 else "weekly.deadline_passed"
    text = catalog.t(
        key,
        locale,
        when=wk.when_text(info.deadline, locale),
        left=wk.remaining_text(left, locale),
    )
    note = wk.shift_note(info, locale)
    return Html(text + ("\n" + catalog.t("weekly.shift_line", locale, note=note) if note else ""))


def _state_line(w: _Words, s: SubmissionState) -> Html:
    if s.skipped is not None:
        return w.t("weekly.state.skipped", reason=s.skipped or "—")
    if s.accepted:
        outcome = w.label(f"weekly.outcome.{s.outcome or Outcome.ON_TIME}")
        line = w.t(
            "weekly.state.done",
            number=s.latest_number,
            outcome=outcome,
            when=w.when(s.done_at) if s.done_at else "",
        )
        if s.latest_status == VersionStatus.SUBMITTED:
            line = Html(line + "\n" + w.t("weekly.state.newer_waiting", number=s.latest_number))
        return line
    if s.latest_status == VersionStatus.SUBMITTED:
        key = "weekly.state.waiting" if s.has_head else "weekly.state.waiting_no_head"
        return w.t(
            key,
            number=s.latest_number,
            by=s.latest_by or "",
            when=w.when(s.latest_at) if s.latest_at else "",
        )
    if s.latest_status == VersionStatus.RETURNED:
        return w.t("weekly.state.returned", number=s.latest_number, reason=s.return_reason or "—")
    if s.outcome == Outcome.MISSING:
        return w.t("weekly.state.missing")
    return w.t("weekly.state.none")


def status_text(locale: str, zone: tzinfo, now: datetime, mine: MyStatus) -> Html:
    """A member's /status: this week, the week still owed, a draft waiting."""
    w = _Words(locale, zone)
    lines: list[str] = [
        w.t(
            "weekly.status.title",
            unit=mine.current.unit_name,
            period=wk.period_label(mine.current.period.key, locale),
        ),
        _state_line(w, mine.current),
    ]
    if mine.current.skipped is None:
        lines.append(deadline_lines(locale, now, mine.current.info))
    if mine.overdue is not None and mine.late_until is not None:
        lines.append("")
        lines.append(
            w.t(
                "weekly.status.overdue",
                period=wk.period_label(mine.overdue.period.key, locale),
                until=w.when(mine.late_until),
            )
        )
        lines.append(_state_line(w, mine.overdue))
    if mine.draft_period:
        lines.append(w.t("weekly.status.draft", period=wk.period_label(mine.draft_period, locale)))
    return Html("\n".join(lines))


def _icon(s: SubmissionState) -> str:
    if s.accepted:
        return "✅"
    if s.latest_status == VersionStatus.SUBMITTED:
        return "⏳"
    return "↩️" if s.latest_status == VersionStatus.RETURNED else "❌"


def overview_text(locale: str, zone: tzinfo, now: datetime, ov: Overview) -> Html:
    """The leaders' /status: every unit's state for the period, and last period's counts."""
    w = _Words(locale, zone)
    lines = [
        w.t("weekly.overview.title", period=wk.period_label(ov.period.key, locale)),
        deadline_lines(locale, now, ov.info),
    ]
    if ov.skipped is not None:
        lines.append(w.t("weekly.state.skipped", reason=ov.skipped or "—"))
        return Html("\n".join(lines))
    done = sum(1 for s in ov.units if s.accepted)
    waiting = sum(
        1 for s in ov.units if not s.accepted and s.latest_status == VersionStatus.SUBMITTED
    )
    lines.append(
        w.t(
            "weekly.overview.counts",
            done=done,
            waiting=waiting,
            missing=len(ov.units) - done - waiting,
            total=len(ov.units),
        )
    )
    for s in ov.units:
        state = _short_state(w, s)
        lines.append(w.t("weekly.overview.line", icon=_icon(s), unit=s.unit_name, state=state))
    if ov.previous_counts:
        c = ov.previous_counts
        lines.append(
            w.t(
                "weekly.overview.previous",
                period=wk.period_label(ov.previous_key, locale),
                on_time=c.get(Outcome.ON_TIME, 0),
                late=c.get(Outcome.LATE, 0),
                missing=c.get(Outcome.MISSING, 0),
            )
        )
    return Html("\n".join(lines))


def _short_state(w: _Words, s: SubmissionState) -> str:
    if s.accepted:
        outcome = w.label(f"weekly.outcome.{s.outcome or Outcome.ON_TIME}")
        return w.label(
            "weekly.short.done", outcome=outcome, when=w.when(s.done_at) if s.done_at else ""
        )
    if s.latest_status == VersionStatus.SUBMITTED:
        return w.label("weekly.short.waiting" if s.has_head else "weekly.short.waiting_no_head")
    if s.latest_status == VersionStatus.RETURNED:
        return w.label("weekly.short.returned")
    return w.label("weekly.short.none")


def skips_text(locale: str, skips: Sequence[tuple[DeadlineInfo, str]]) -> Html:
    """``/skipweek`` alone: how to use it, and the weeks skipped ahead."""
    lines = [catalog.t("weekly.skip.usage", locale)]
    if skips:
        lines.append(catalog.t("weekly.skip.list_header", locale))
        lines += [
            catalog.t(
                "weekly.skip.list_line",
                locale,
                period=wk.period_label(i.key, locale),
                key=i.key,
                reason=r or "—",
            )
            for i, r in skips
        ]
    return Html("\n".join(lines))


def skip_result_text(
    locale: str, now: datetime, cfg: WeeklyConfig, result: SkipResult, restored: int
) -> Html:
    """A week skipped, or the skip taken back (before the deadline: reminders restored)."""
    key = result.info.key
    period = wk.period_label(key, locale)
    if result.skipped:
        return catalog.t(
            "weekly.skip.done",
            locale,
            period=period,
            key=key,
            deadline=wk.when_text(result.info.deadline, locale),
            reason=result.reason or "—",
        )
    if now >= result.info.deadline:
        late_end = wk.late_window_end(cfg, cfg.periods.by_key(key))
        return catalog.t(
            "weekly.skip.undone_late",
            locale,
            period=period,
            key=key,
            until=wk.when_text(late_end, locale),
        )
    lines = [catalog.t("weekly.skip.undone", locale, period=period, key=key)]
    if restored:
        lines.append(catalog.t("weekly.skip.restored", locale, count=restored))
    return Html("\n".join(lines))
