"""``/web``: a one-time link that signs the member in to the web app in any browser.

The link is personal (single use, ten minutes), so it is only ever sent in private
chat, and the reply says not to forward it.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from handlers.base import LeadbotContext, reply, requires
from handlers.web.auth import WebUser


@requires(private=True)
async def web_cmd(update: Update, context: LeadbotContext) -> None:
    web = getattr(context.application, "web", None)
    actor = context.actor
    if web is None or actor is None:
        await reply(update, context.t("web.link.off"))
        return
    url = await web.create_signin_link(
        WebUser("telegram", str(actor.tg_user_id), actor.display_name)
    )
    await reply(update, context.t("web.link.reply", url=url))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    return [CommandHandler("web", web_cmd)]
