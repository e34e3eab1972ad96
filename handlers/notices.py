"""Notices to people other than the sender of the update, through the notifier.

Handlers plan them with :func:`bot.notifier.notify` inside the transaction of the
decision they announce, then :func:`deliver` asks the outbox to send what is due
at once (the scheduler's next tick would send it too, after a restart as well).
"""

from __future__ import annotations

import logging

from telegram import Update

from handlers.base import LeadbotContext

log = logging.getLogger(__name__)


def key_of(update: Update, what: str = "") -> str:
    """The notice's key: one update plans each notice once, even when handled twice."""
    return f"u{update.update_id}{':' + what if what else ''}"


async def deliver(context: LeadbotContext) -> None:
    weekly = getattr(context.application, "weekly", None)
    if weekly is None:
        return
    try:
        await weekly.outbox.drain()
    except Exception:  # planned and committed: the scheduler sends it on its next tick
        log.exception("outbox: sending notices now failed; the scheduler will")
