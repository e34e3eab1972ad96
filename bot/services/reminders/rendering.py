"""Rendering a planned row at send time, so "还剩 N 小时" is true even when a message
goes out late within its grace time.
"""

from __future__ import annotations

from datetime import datetime

from bot import catalog
from bot.services.weekly import remaining_text
from storage.models import OutboxMessage


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
