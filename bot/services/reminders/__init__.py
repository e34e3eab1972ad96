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

The package: :mod:`.planning` (the reminders and the leaders' list before the
deadline, resuming a skipped week), :mod:`.closing` (the close and its summary, the
batched scoring after), :mod:`.admin` (calendar and undelivered notices),
:mod:`.quiet` (quiet hours and the sender's gate), :mod:`.rendering` (texts at send
time), :mod:`.rows` (the kinds and the row every planner writes). Everything public is
re-exported here, so ``from bot.services.reminders import render`` keeps working.
"""

from __future__ import annotations

from bot.services.reminders.admin import (
    CALENDAR_LOOKAHEAD_WEEKS,
    REPORT_LINES,
    admin_recipients,
    error_text,
    plan_failure_report,
    uncovered_years,
    warn_uncovered_calendar,
)
from bot.services.reminders.closing import (
    SCORE_BATCH,
    close_periods,
    score_closed_periods,
)
from bot.services.reminders.planning import (
    Planned,
    plan_reminders,
    resume_week,
)
from bot.services.reminders.quiet import (
    Gate,
    quiet_end,
    quiet_gate,
)
from bot.services.reminders.rendering import render
from bot.services.reminders.rows import (
    ADMIN_CALENDAR,
    ADMIN_UNDELIVERED,
    LEADERS_MISSING,
    LEADERS_SUMMARY,
    REMIND,
    START_PAYLOAD,
)

__all__ = [
    "ADMIN_CALENDAR",
    "ADMIN_UNDELIVERED",
    "CALENDAR_LOOKAHEAD_WEEKS",
    "LEADERS_MISSING",
    "LEADERS_SUMMARY",
    "REMIND",
    "REPORT_LINES",
    "SCORE_BATCH",
    "START_PAYLOAD",
    "Gate",
    "Planned",
    "admin_recipients",
    "close_periods",
    "error_text",
    "plan_failure_report",
    "plan_reminders",
    "quiet_end",
    "quiet_gate",
    "render",
    "resume_week",
    "score_closed_periods",
    "uncovered_years",
    "warn_uncovered_calendar",
]
