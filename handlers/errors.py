"""The last line of defence: log with the update id, apologise, keep serving."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from handlers.base import LeadbotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: LeadbotContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("unhandled error in update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await update.effective_chat.send_message(context.t("error.unexpected"))
    except (Forbidden, TelegramError):
        log.warning("could not send the apology for update %s", update_id)
    if update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
