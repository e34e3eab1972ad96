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
    """One session for both checks: this runs on every update, so keep it cheap."""
    user = update.effective_user
    async with context.session() as session:
        if not await repo.claim_update(session, update.update_id, context.now()):
            log.info("update %s delivered again; ignored", update.update_id)
            raise ApplicationHandlerStop
        if user is None or user.is_bot:
            raise ApplicationHandlerStop
        cached = context.services.actors.get(user.id)
        context.actor = cached or context.services.actors.put(
            await resolve_actor(session, context.services.settings, user.id, user.full_name, user.language_code)
        )


def handlers() -> list[TypeHandler[Update, None]]:
    return [TypeHandler(Update, admit)]
