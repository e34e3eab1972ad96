"""The quiet hours: when they end around a moment, and the sender's gate that holds a
private reminder back until then (or skips it when they last past the deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from bot.services.weekly import WeeklyConfig
from storage.models import OutboxMessage


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
