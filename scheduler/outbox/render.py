"""Turning an outbox row into what a channel shows, at send time.

A :class:`Renderers` holds the renderers a channel or a kind needs beyond the
default; every other row is rendered by the default, the outbox's catalog renderer
(the row's ``template`` with its params, button labels as catalog keys:
:func:`catalog_render`, which reminders and notices share). The sender calls the
registry as its one renderer. There is one registry per outbox, built where the
outbox is (``scheduler.reminders.install``) and reachable as ``app.weekly.outbox.render``;
nothing is registered at import time, so no module holds renderers.

The rows themselves are planned by :func:`bot.notifier.notify` (the channel in
``params["_channel"]``) and by the reminder planner; this module only reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.notifier import KIND_PREFIX, TELEGRAM
from bot.services.reminders import render as catalog_render
from storage.models import OutboxMessage

__all__ = ["Renderer", "Renderers", "catalog_render", "channel_of", "dispatching"]

Rendered = tuple[str, list[list[dict[str, str]]]]  # (HTML text, button rows)
Renderer = Callable[[OutboxMessage, datetime, str | None], Rendered]  # (row, now, bot username)


def channel_of(row: OutboxMessage) -> str:
    """The channel the row is for; rows planned before channels existed are Telegram's."""
    return str((row.params or {}).get("_channel") or TELEGRAM)


class Renderers:
    """The outbox's renderer: a registered one for (channel, kind), else ``default``
    (the catalog template with the row's params: reminders and notices alike)."""

    def __init__(self, default: Renderer) -> None:
        self.default = default
        self._by_kind: dict[tuple[str, str], Renderer] = {}

    def register(self, channel: str, kind: str) -> Callable[[Renderer], Renderer]:
        """``@renderers.register("dingtalk", "weekly.confirmed")`` over
        ``def render(row, now, username)``; ``kind`` is the notice kind, without ``notify:``."""

        def deco(func: Renderer) -> Renderer:
            self._by_kind[(channel, kind)] = func
            return func

        return deco

    def __call__(self, row: OutboxMessage, now: datetime, username: str | None) -> Rendered:
        kind = row.kind.removeprefix(KIND_PREFIX)
        found = self._by_kind.get((channel_of(row), kind))
        return (found or self.default)(row, now, username)


def dispatching(default: Renderer) -> Renderers:
    """A registry over ``default`` with nothing registered yet (the name the outbox's
    wiring used when the registry was a module global in bot/notifier.py)."""
    return Renderers(default)
