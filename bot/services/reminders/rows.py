"""What every planned outbox row shares: the kinds, the row dict itself, the start
button, the deadline's wording, the offset's name in kinds and marks, and where the
leaders' messages go.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import OutboxStatus, Role
from bot.domain.periods import WeeklyPeriod
from bot.services.weekly import (
    WeeklyConfig,
    deadline_info,
    period_label,
    shift_note,
    when_text,
)
from storage import weekly_repo

REMIND = "remind:"
LEADERS_MISSING = "leaders:missing"
LEADERS_SUMMARY = "leaders:summary"
ADMIN_CALENDAR = "admin:calendar"
ADMIN_UNDELIVERED = "admin:undelivered"
START_PAYLOAD = "weekly"


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


async def _leaders_targets(session: AsyncSession, cfg: WeeklyConfig) -> list[tuple[int, str, bool]]:
    """(chat id, locale, private?) — the leaders' group, or each leader privately when none is bound."""
    chat = await weekly_repo.leaders_chat(session)
    if chat is not None:
        return [(chat, cfg.locale, False)]
    return [
        (m.tg_user_id, m.locale or cfg.locale, True)
        for m in await weekly_repo.members_with_role(session, Role.LEADER)
    ]
