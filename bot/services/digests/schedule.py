"""The schedule: when each kind is due, which kinds are on, and planning a due report
into the leaders' chat's outbox.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.domain.enums import OutboxStatus
from bot.domain.periods import Span
from bot.services.digests.collect import collect
from bot.services.digests.query import KINDS
from bot.services.digests.reports import Report
from bot.services.scoring import ScoringSetup
from storage import weekly_repo

GRACE = timedelta(
    days=3
)  # a report missed while the bot was down still goes out this long after its time
SETTING_OF = {
    "half": "digest_half_monthly",
    "month": "digest_monthly",
    "quarter": "digest_quarterly",
    "year": "digest_annual",
}


def due(setup: ScoringSetup, kind: str, now: datetime, hour: int) -> tuple[Span, datetime]:
    """The last complete period of ``kind`` and when its report is due: the half month's on the 1st
    or 16th, the others on the first working day of the next period (China's calendar: after
    National Day or Spring Festival it waits), from ``hour`` o'clock local time."""
    current = setup.periods.span(kind, now)
    first = current.start.astimezone(setup.zone)
    day = (
        first.date()
        if kind == "half"
        else setup.periods.first_workday_of_month(first.year, first.month)
    )
    return setup.periods.previous_span(current), datetime.combine(
        day, time(hour), tzinfo=setup.zone
    )


def enabled_kinds(settings: Any) -> list[str]:
    return [kind for kind in KINDS if getattr(settings, SETTING_OF[kind], True)]


@dataclass(frozen=True)
class Rendered:
    """What goes to the leaders' group: the message (plain text) and the workbook."""

    text: str
    filename: str
    workbook: bytes
    caption: str  # HTML


async def plan(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    kind: str,
    span: Span,
    until: datetime,
    locale: str,
    render: Callable[[Report], Rendered],
) -> bool:
    """Plan one report for the leaders' group, once: True when it was planned now.

    The job mark ``digest:<kind>:<key>`` and the outbox row are written in one
    transaction, so across restarts and instances the report is planned once; the
    outbox sends the text and then the workbook (``_document``), exactly once. No
    leaders' group bound: nothing is planned (and nothing marked), so binding one
    within the grace time still gets the report.
    """
    chat = await weekly_repo.leaders_chat(session)
    if chat is None or not await weekly_repo.take_mark(session, f"digest:{kind}:{span.key}", now):
        return False
    report = await collect(session, setup, now, kind, span.key)
    out = render(report)
    document = {
        "filename": out.filename,
        "data": base64.b64encode(out.workbook).decode("ascii"),
        "caption": out.caption,
    }
    row = {
        "kind": f"digest:{kind}",
        "period_key": span.key,
        "chat_id": chat,
        "unit_id": None,
        "recipient": "leaders",
        "template": "digest.outbox",
        "params": {"text": out.text, "_document": document},
        "locale": locale,
        "buttons": [],
        "due_at": now,
        "not_after": max(until, now + timedelta(minutes=10)),
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": now,
    }
    await weekly_repo.enqueue(session, [row])
    return True


async def leaders_chat(session: Any) -> int | None:
    """The bound leaders' group, where ``/digest`` may be asked besides the private chat."""
    return await weekly_repo.leaders_chat(session)
