"""Files sent again on Telegram: a lead's attachments, an activity's trip report.

A chat file goes by its Telegram file id; a file whose bytes we hold (uploaded on the web
page, or sent to the DingTalk robot: a ``web:`` ref) goes by its bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import InputFile
from telegram.error import BadRequest

from bot.services import ServiceError, attachments
from handlers.base import LeadbotContext

log = logging.getLogger(__name__)

PHOTO_MAX = 10 * 1024 * 1024  # larger pictures go as documents, as Telegram requires


async def send_again(
    chat_id: int, context: LeadbotContext, files: Sequence[attachments.AttachedFile]
) -> int:
    """Send each file to ``chat_id``; the number that could not be sent (a lapsed file id, a
    held file gone)."""
    failed = 0
    for f in files:
        try:
            await _send(chat_id, context, f.file_id, f.kind)
        except (BadRequest, ServiceError) as exc:
            log.info("attachment %s not sent again: %s", f.name or f.kind, exc)
            failed += 1
    return failed


async def _send(chat_id: int, context: LeadbotContext, file_id: str, kind: str) -> None:
    token = attachments.token_of(file_id)
    if token is None:
        if kind == "photo":
            await context.bot.send_photo(chat_id, file_id)
        else:
            await context.bot.send_document(chat_id, file_id)
        return
    assert context.actor is not None
    async with context.session() as session:
        found = await attachments.read(session, context.actor, token)
    upload = InputFile(found.data, filename=found.name)
    if found.is_photo and len(found.data) <= PHOTO_MAX:
        await context.bot.send_photo(chat_id, upload)
    else:
        await context.bot.send_document(chat_id, upload)
