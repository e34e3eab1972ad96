"""The weekly submission (周报): draft, submit, confirm or return, status, leave, skipped weeks.

Rules (SPEC § Weekly submission):

* A period is ``(previous deadline, deadline]`` (:mod:`bot.domain.periods`). A unit files
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

The package: :mod:`.config` (settings, limits, wording), :mod:`.calendar` (which
period, leave, skipped weeks), :mod:`.draft` (the form's draft), :mod:`.submit`
(submit, confirm, return), :mod:`.status` (/status, the overview), :mod:`.close`
(the deadline's missing marks), :mod:`.notices` (the head's request and the
submitter's notice, through the notifier). Everything public is re-exported here, so
``from bot.services.weekly import X`` keeps working.
"""

from __future__ import annotations

from bot.services.weekly.calendar import (
    LeaveResult,
    SkipResult,
    Target,
    late_window_end,
    overdue_period,
    parse_leave,
    parse_week_ref,
    period_open,
    set_leave,
    skip_week,
    substitutes,
    target_period,
    upcoming_skips,
)
from bot.services.weekly.close import (
    PeriodSummary,
    close_period,
)
from bot.services.weekly.config import (
    LEADS_MAX,
    NONE_WORDS,
    PICK_LEADS,
    PROGRESS_MAX,
    PROGRESS_TEXT_MAX,
    REASON_MAX,
    SECTIONS,
    TRIP_MAX,
    TRIPS_MAX,
    WORK_MAX,
    DeadlineInfo,
    WeeklyConfig,
    clean_text,
    day_text,
    deadline_info,
    is_none_answer,
    parse_lead_ref,
    period_label,
    remaining_text,
    repo_audit,
    shift_note,
    when_text,
)
from bot.services.weekly.draft import (
    Form,
    LeadOption,
    add_trip,
    discard,
    empty_content,
    finish_section,
    forward_stages,
    idle,
    load_form,
    next_section,
    open_form,
    pick_progress_lead,
    progress_leads,
    reset_section,
    set_awaiting,
    set_none,
    set_progress_stage,
    set_progress_text,
    set_work,
    toggle_lead,
    undo_last,
)
from bot.services.weekly.notices import (
    ask_heads,
    tell_submitter,
    view_from_json,
    view_html,
    view_json,
    view_lines,
)
from bot.services.weekly.status import (
    MyStatus,
    Overview,
    SubmissionState,
    my_status,
    overview,
    pending_review,
    unit_state,
)
from bot.services.weekly.submit import (
    Decision,
    Person,
    ProgressLine,
    SubmissionView,
    SubmitResult,
    decide,
    review_card,
    submit,
    view_of,
)

__all__ = [
    "LEADS_MAX",
    "NONE_WORDS",
    "PICK_LEADS",
    "PROGRESS_MAX",
    "PROGRESS_TEXT_MAX",
    "REASON_MAX",
    "SECTIONS",
    "TRIPS_MAX",
    "TRIP_MAX",
    "WORK_MAX",
    "DeadlineInfo",
    "Decision",
    "Form",
    "LeadOption",
    "LeaveResult",
    "MyStatus",
    "Overview",
    "PeriodSummary",
    "Person",
    "ProgressLine",
    "SkipResult",
    "SubmissionState",
    "SubmissionView",
    "SubmitResult",
    "Target",
    "WeeklyConfig",
    "add_trip",
    "ask_heads",
    "clean_text",
    "close_period",
    "day_text",
    "deadline_info",
    "decide",
    "discard",
    "empty_content",
    "finish_section",
    "forward_stages",
    "idle",
    "is_none_answer",
    "late_window_end",
    "load_form",
    "my_status",
    "next_section",
    "open_form",
    "overdue_period",
    "overview",
    "parse_lead_ref",
    "parse_leave",
    "parse_week_ref",
    "pending_review",
    "period_label",
    "period_open",
    "pick_progress_lead",
    "progress_leads",
    "remaining_text",
    "repo_audit",
    "reset_section",
    "review_card",
    "set_awaiting",
    "set_leave",
    "set_none",
    "set_progress_stage",
    "set_progress_text",
    "set_work",
    "shift_note",
    "skip_week",
    "submit",
    "substitutes",
    "target_period",
    "tell_submitter",
    "toggle_lead",
    "undo_last",
    "unit_state",
    "upcoming_skips",
    "view_from_json",
    "view_html",
    "view_json",
    "view_lines",
    "view_of",
    "when_text",
]
