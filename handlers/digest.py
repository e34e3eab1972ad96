"""``/digest`` (the leaders' periodic reports on demand) and ``/funds`` (到位资金).

``/digest half|month|quarter|year [period]`` answers with the report as a message
and the same report as an ``.xlsx`` (sendDocument). Leaders and admins, in private
chat or in the leaders' group: a unit's work group must not read other units'
verified leads. The scheduled sends are in scheduler/digests.py; both render
through :mod:`bot.rendering.digest_text` and :mod:`bot.rendering.digest_xlsx`.

``/funds L0007 3000万 [2026-11]`` records funds in place for a lead and month;
``/funds L0007`` shows the lead's figures. Private chat, like the other lead commands.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import CommandHandler

from bot import catalog
from bot.catalog import Html
from bot.rendering import digest_xlsx
from bot.rendering.digest_text import digest_text, title
from bot.rendering.funds_text import history_text, recorded_text
from bot.services import ServiceError, digests, funds
from handlers.base import LeadbotContext, command_args, reply, requires

# --------------------------------------------------------------------------- #
# /digest
# --------------------------------------------------------------------------- #


async def _place_refused(update: Update, context: LeadbotContext) -> bool:
    """A unit's work group must not read every unit's leads: private chat or the leaders' group only."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return False
    async with context.session() as session:
        leaders = await digests.leaders_chat(session)
    if chat.id == leaders:
        return False
    await reply(update, context.t("digest.group_refused"))
    return True


@requires(leader=True)
async def digest_cmd(update: Update, context: LeadbotContext) -> None:
    if await _place_refused(update, context):
        return
    chat = update.effective_chat
    assert chat is not None
    setup = context.services.scoring
    try:
        query = digests.parse_args(command_args(context))
        await chat.send_action(ChatAction.UPLOAD_DOCUMENT)
        async with context.session() as session:
            report = await digests.collect(session, setup, context.now(), query.kind, query.key)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    zone = context.services.settings.zone
    await reply(
        update,
        Html(
            catalog.t("digest.wrap", context.locale, text=digest_text(context.locale, report, zone))
        ),
    )
    content = await asyncio.to_thread(digest_xlsx.build_workbook, report, zone)
    caption = context.t("digest.caption", title=title(context.locale, report))
    await chat.send_document(content, filename=digest_xlsx.file_name(report), caption=caption)


# --------------------------------------------------------------------------- #
# /funds
# --------------------------------------------------------------------------- #


@requires(private=True)
async def funds_cmd(update: Update, context: LeadbotContext) -> None:
    await _monthly_figure(update, context, funds.FUNDS)


@requires(private=True)
async def tax_cmd(update: Update, context: LeadbotContext) -> None:
    """``/tax L0007 8万 [2026-11]``: the tax a project paid that month (seed 004 二(四)1②)."""
    await _monthly_figure(update, context, funds.TAX)


async def _monthly_figure(update: Update, context: LeadbotContext, book: funds.Book) -> None:
    assert context.actor is not None
    setup = context.services.scoring
    try:
        request = funds.parse_request(command_args(context), book)
        async with context.session() as session:
            if request.amount_text is None:
                found = await funds.history(session, context.actor, request.lead_id, book)
                text = history_text(context.locale, context.services.settings.zone, found, book)
            else:
                result = await funds.record(
                    session,
                    setup,
                    context.now(),
                    context.actor,
                    request.lead_id,
                    request.amount_text,
                    request.month_text,
                    book,
                )
                text = recorded_text(context.locale, result, book)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, text)


def handlers() -> list[Any]:
    return [
        CommandHandler("digest", digest_cmd),
        CommandHandler("funds", funds_cmd),
        CommandHandler("tax", tax_cmd),
    ]
