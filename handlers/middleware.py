"""Runs before every handler: drop redelivered updates, then learn who is talking."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.services.access import resolve_actor
from handlers.base import LeadbotContext
from storage import repo

log = logging.getLogger(__name__)
GROUP = -100


async def admit(update: Update, context: LeadbotContext) -> None:
    """This runs on every update, so it is kept cheap: one small write to claim the
    update id, and a database read for the person only when the cache has none."""
    user = update.effective_user
    if not await repo.claim_update_now(context.services.db.engine, update.update_id, context.now()):
        log.info("update %s delivered again; ignored", update.update_id)
        raise ApplicationHandlerStop
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    context.actor = context.services.actors.get(user.id)
    if context.actor is None:
        async with context.session() as session:
            actor = await resolve_actor(session, context.services.settings, user.id, user.full_name, user.language_code)
        context.actor = context.services.actors.put(actor)


def handlers() -> list[TypeHandler[Update, None]]:
    return [TypeHandler(Update, admit)]
