"""Turning an outbox row into what a channel shows, at send time.

:func:`dispatching` builds the one renderer the sender calls: the renderer a
service declared for the row's ``(channel, kind)`` (the read-only tables of
:func:`bot.notifier.renderers` the composition root passes in), else the default, the outbox's catalog
renderer (the row's ``template`` with its params, button labels as catalog keys:
:func:`catalog_render`, which reminders and notices share). The declarations stay
with the services because ``bot.notifier`` must not import the scheduler.

The rows themselves are planned by :func:`bot.notifier.notify` (the channel in
``params["_channel"]``) and by the reminder planner; this module only reads them.
"""

from __future__ import annotations

from datetime import datetime

from bot.notifier import KIND_PREFIX, TELEGRAM, Renderer, Renderers
from bot.services.reminders import render as catalog_render
from storage.models import OutboxMessage

__all__ = ["Renderer", "catalog_render", "channel_of", "dispatching"]


def channel_of(row: OutboxMessage) -> str:
    """The channel the row is for; rows planned before channels existed are Telegram's."""
    return str((row.params or {}).get("_channel") or TELEGRAM)


def dispatching(default: Renderer, *tables: Renderers) -> Renderer:
    """The outbox's renderer: the one a table declares for (channel, kind), else
    ``default`` (the catalog template with the row's params: reminders and notices alike)."""
    declared = {key: func for table in tables for key, func in table.items()}

    def render(
        row: OutboxMessage, now: datetime, username: str | None
    ) -> tuple[str, list[list[dict[str, str]]]]:
        kind = row.kind.removeprefix(KIND_PREFIX)
        found = declared.get((channel_of(row), kind))
        return (found or default)(row, now, username)

    return render
