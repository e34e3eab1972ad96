"""``/export [本周|本月|本季|本年] [时段]``: leaders get the 台账 as an ``.xlsx``.

Private chat only: the workbook holds every lead's contact person and phone,
which a unit's work group must not see. The rows are read in one unit of work,
the file is built in a worker process (bot/operations/isolated.py: its memory goes back to
the system afterwards), then sent with sendDocument. ``/export all`` (the whole
台账) is read and built in the worker process too.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import CommandHandler

from bot.operations import isolated
from bot.rendering.export import build_workbook
from bot.services import ServiceError, export
from handlers.base import LeadbotContext, command_args, reply, requires


@requires(leader=True, private=True)
async def export_cmd(update: Update, context: LeadbotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    try:
        query = export.parse_export_args(command_args(context))
        await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
        setup = context.services.scoring
        url = context.services.db.url
        if query.whole and ":memory:" not in url:
            made = await isolated.export_file(
                context.services.workers,
                url,
                setup,
                context.now(),
                query.kind,
                query.key,
                whole=True,
            )
        else:
            async with context.session() as session:
                data = await export.collect(
                    session, setup, context.now(), query.kind, query.key, whole=query.whole
                )
            made = isolated.ExportFile(
                await context.services.workers.run(build_workbook, data),
                data.filename,
                data.span,
                len(data.leads),
                len(data.weekly),
                len(data.ledger),
                len(data.ranking),
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    caption = context.t(
        "export.caption",
        period=made.span.label(context.locale),
        leads=made.leads,
        weekly=made.weekly,
        ledger=made.ledger,
        units=made.units,
    )
    await chat.send_document(made.content, filename=made.filename, caption=caption)


def handlers() -> list[Any]:
    return [CommandHandler("export", export_cmd)]
