"""``/link``: a one-time code that makes the member's DingTalk account the same person.

Sent in private chat only: whoever holds the code for ten minutes can claim the identity.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.services import linking
from handlers.base import LeadbotContext, reply, requires


@requires(private=True)
async def link_cmd(update: Update, context: LeadbotContext) -> None:
    actor = context.actor
    assert actor is not None
    if not context.services.settings.dingtalk_enabled:
        await reply(update, context.t("link.off"))
        return
    async with context.session() as session:
        code = await linking.new_code(session, context.services.clock.now(), actor)
    await reply(update, context.t("link.reply", code=code))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CommandHandler("link", link_cmd)]
