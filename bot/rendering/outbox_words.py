"""What an outbox row is, in words: ``remind:480`` + ``2026-W48`` → ``截止前 8 小时提醒 · 2026年第48周``.

For the people who read about messages rather than the messages themselves (/health's list
of failures). Kinds are the outbox's (scheduler/reminders.py,
bot/services/digests/); a kind this module does not know is shown as it is.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot import catalog
from bot.domain.periods import key_label
from bot.services.weekly import remaining_text

_REMIND = re.compile(r"remind:(\d+)(s?)")
_NAMED = {
    "leaders:missing": "rough.kind.leaders_missing",
    "leaders:summary": "rough.kind.leaders_summary",
    "admin:calendar": "rough.kind.admin_calendar",
    "admin:undelivered": "rough.kind.admin_undelivered",
    "digest:half": "rough.kind.digest_half",
    "digest:month": "rough.kind.digest_month",
    "digest:quarter": "rough.kind.digest_quarter",
    "digest:year": "rough.kind.digest_year",
}


def kind_words(kind: str, locale: str) -> str:
    if m := _REMIND.fullmatch(kind):
        amount = int(m.group(1))
        before = timedelta(seconds=amount) if m.group(2) else timedelta(minutes=amount)
        if before < timedelta(minutes=1):
            left = catalog.plain("rough.kind.seconds", locale, seconds=amount)
        else:
            left = remaining_text(before, locale)
        return catalog.plain("rough.kind.remind", locale, left=left)
    key = _NAMED.get(kind)
    return catalog.plain(key, locale) if key else kind


def period_words(key: str | None, locale: str) -> str:
    """``2026-W48`` → ``2026年第48周``; a year of the calendar notice as ``2027年``; ``#3-7`` as it is."""
    return key_label(key, locale) if key else ""


def message_words(kind: str, key: str | None, locale: str) -> str:
    period = period_words(key, locale)
    return f"{kind_words(kind, locale)} · {period}" if period else kind_words(kind, locale)
