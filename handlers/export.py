"""``/export [本周|本月|本季|本年] [时段]``: leaders get the 台账 as an ``.xlsx``.

Private chat only: the workbook holds every lead's contact person and phone,
which a unit's work group must not see. The rows are read in one unit of work,
the file is built in a worker thread (10 000 leads take a few seconds of CPU),
then sent with sendDocument.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import CommandHandler

from bot.export import build_workbook
from bot.services import ServiceError, export, scoring
from handlers.base import LeadbotContext, command_args, reply, requires


@requires(leader=True, private=True)
async def export_cmd(update: Update, context: LeadbotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    try:
        query = export.parse_export_args(command_args(context))
        await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
        async with context.session() as session:
            data = await export.collect(
                session,
                scoring.setup_for(context.services.settings),
                context.now(),
                query.kind,
                query.key,
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    content = await asyncio.to_thread(build_workbook, data)
    caption = context.t(
        "export.caption",
        period=data.span.label(context.locale),
        leads=len(data.leads),
        weekly=len(data.weekly),
        ledger=len(data.ledger),
        units=len(data.ranking),
    )
    await chat.send_document(content, filename=data.filename, caption=caption)


def handlers() -> list[Any]:
    return [CommandHandler("export", export_cmd)]
