"""Telling people things: ``notify(recipient, kind, payload)`` over the outbox.

A service (or an adapter on its behalf) that must tell someone other than the sender of
the update -- a confirmation, a return, a review result -- calls :func:`notify` inside
its own transaction. That writes one outbox row; the outbox sender
(scheduler/outbox/sender.py) delivers it exactly like a reminder: once, after a restart
too, paced, with failures reported to the admins. The row is keyed by ``(kind, key,
recipient)``, so handling one update twice (a crash before its done mark) plans the
notice once.

Rendering happens at send time, per channel. A service that needs more than the
catalog template for a kind declares its renderers as a read-only table
(:func:`renderers`, e.g. ``bot.services.weekly.notices.RENDERERS``); the composition root
hands every table to the outbox (scheduler/outbox/render.py), which looks the row's
``(channel, kind)`` up there and falls back to the catalog renderer (the row's
``template`` with its params, as reminders). No registry is filled by importing.
This module is core: it imports no channel library and not the scheduler, only
storage. docs/notifier.md is the guide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import weekly_repo
from storage.models import OutboxMessage

TELEGRAM = "telegram"
KIND_PREFIX = "notify:"
GRACE = timedelta(days=2)  # a notice not sent within this time is skipped and reported

# (row, now, bot username) -> (HTML text, button rows)
Renderer = Callable[[OutboxMessage, datetime, str | None], tuple[str, list[list[dict[str, str]]]]]

Renderers = Mapping[tuple[str, str], Renderer]  # (channel, kind) -> its renderer


@dataclass(frozen=True)
class Recipient:
    """Who is told, on which channel: a Telegram chat today; ``channel="dingtalk"`` with
    that channel's address in ``chat_id`` (or a member id resolved at send time) later."""

    channel: str
    chat_id: int
    label: str | None = None  # who, for /health and failure reports
    locale: str | None = None

    @classmethod
    def telegram(
        cls, chat_id: int, label: str | None = None, locale: str | None = None
    ) -> Recipient:
        return cls(TELEGRAM, chat_id, label, locale)


def renderers(table: dict[tuple[str, str], Renderer]) -> Renderers:
    """A feature's renderers as a read-only table: ``{(channel, kind): render}``, ``kind``
    the one given to :func:`notify`."""
    return MappingProxyType(dict(table))


async def notify(
    session: AsyncSession,
    recipient: Recipient,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    key: str,
    template: str,
    buttons: list[list[dict[str, str]]] | None = None,
    default_locale: str = "zh_CN",
) -> bool:
    """Plan one notice in the caller's transaction; False when ``(kind, key, recipient)``
    was planned already. ``template`` is the catalog key the default renderer uses,
    ``payload`` its values (plain JSON), ``buttons`` rows of ``{"label": catalog key,
    "data": callback data}`` or ``{"label", "start"}`` (a deep link)."""
    row = {
        "kind": (KIND_PREFIX + kind)[:32],
        "period_key": key[:32],
        "chat_id": recipient.chat_id,
        "unit_id": None,
        "recipient": recipient.label or str(recipient.chat_id),
        "template": template,
        "params": {**payload, "_channel": recipient.channel},
        "locale": recipient.locale or default_locale,
        "buttons": buttons or [],
        "due_at": now,
        "not_after": now + GRACE,
        "status": "pending",
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": now,
    }
    return await weekly_repo.enqueue(session, [row]) == 1
