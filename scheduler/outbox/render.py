"""Turning an outbox row into what a channel shows, at send time.

The registry ``RENDERERS[(channel, kind)]`` holds the renderers a channel or a kind
needs beyond the default; every other row is rendered by the outbox's catalog
renderer (the row's ``template`` with its params, button labels as catalog keys:
:func:`catalog_render`, which reminders and notices share). :func:`dispatching`
combines the two into the one renderer the sender calls. The rows themselves are
planned by :func:`bot.notifier.notify` (the channel in ``params["_channel"]``) and by
the reminder planner; this module only reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.notifier import KIND_PREFIX, TELEGRAM
from bot.services.reminders import render as catalog_render
from storage.models import OutboxMessage

__all__ = ["RENDERERS", "Renderer", "catalog_render", "channel_of", "dispatching", "register"]

# (row, now, bot username) -> (HTML text, button rows)
Renderer = Callable[[OutboxMessage, datetime, str | None], tuple[str, list[list[dict[str, str]]]]]

RENDERERS: dict[tuple[str, str], Renderer] = {}


def register(channel: str, kind: str) -> Callable[[Renderer], Renderer]:
    """``@register("dingtalk", "weekly.confirmed")`` over ``def render(row, now, username)``."""

    def deco(func: Renderer) -> Renderer:
        RENDERERS[(channel, kind)] = func
        return func

    return deco


def channel_of(row: OutboxMessage) -> str:
    """The channel the row is for; rows planned before channels existed are Telegram's."""
    return str((row.params or {}).get("_channel") or TELEGRAM)


def dispatching(default: Renderer) -> Renderer:
    """The outbox's renderer: a registered one for (channel, kind), else ``default``
    (the catalog template with the row's params: reminders and notices alike)."""

    def render(
        row: OutboxMessage, now: datetime, username: str | None
    ) -> tuple[str, list[list[dict[str, str]]]]:
        kind = row.kind.removeprefix(KIND_PREFIX)
        found = RENDERERS.get((channel_of(row), kind))
        return (found or default)(row, now, username)

    return render
