"""Runs before every handler: drop redelivered updates, then learn who is talking."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.services import reach
from bot.services.access import resolve_actor
from handlers.base import LeadbotContext
from storage import inbox

log = logging.getLogger(__name__)
GROUP = -100


async def admit(update: Update, context: LeadbotContext) -> None:
    """This runs on every update, so it is kept cheap: an update not fed by the inbox
    (bot/assembly/inbox.py) has its id claimed (storage/claims.py says how), and the person is read from the database only
    when the cache has none."""
    user = update.effective_user
    handling = inbox.CURRENT.get()
    from_inbox = handling is not None and handling.update_id == update.update_id
    # an update from the inbox was stored once (a redelivery is not stored again);
    # one handed to the application directly is claimed by its id
    if not from_inbox and not await context.services.claims.claim(update.update_id, context.now()):
        log.info("update %s delivered again; ignored", update.update_id)
        raise ApplicationHandlerStop
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    context.actor = context.services.actors.get(user.id)
    if context.actor is None:
        async with context.session() as session:
            actor = await resolve_actor(
                session, context.services.settings, user.id, user.full_name, user.language_code
            )
        context.actor = context.services.actors.put(actor)
    if context.actor.notify_via is not None:  # a linked member writes on Telegram again
        async with context.session() as session:
            await reach.heard_on(session, context.actor, None)
        context.actor = context.services.actors.put(replace(context.actor, notify_via=None))


def handlers() -> list[TypeHandler[Update, Any, None]]:
    return [TypeHandler(Update, admit)]
