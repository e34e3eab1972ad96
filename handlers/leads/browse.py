"""Browsing leads: ``/leads`` (a list, paged and filtered by stage in one message),
``/lead L0007`` or a bare ``L0007`` (the card, by role), and the attachments again."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update

from bot.catalog import Html
from bot.forms.buttons import LeadCard, LeadFiles, LeadList
from bot.forms.callbacks import encode
from bot.rendering import leads_text
from bot.services import ServiceError, lead_updates
from bot.services.lead_updates import LeadPage, LeadView
from handlers.base import LeadbotContext, keyboard, reply, requires
from handlers.files import send_again
from handlers.leads.common import (
    button_value,
    edit_or_reply,
    error,
    lead_ref,
    raw_args,
    stale,
    usage,
)

log = logging.getLogger(__name__)


def _encoded(rows: leads_text.Rows) -> InlineKeyboardMarkup:
    return keyboard([[(label, encode(value)) for label, value in row] for row in rows])


def render_list(context: LeadbotContext, page: LeadPage) -> tuple[Html, InlineKeyboardMarkup]:
    """bot/rendering/leads_text.py's list (DingTalk shows the same) as a Telegram message."""
    stages = context.services.settings.stages
    rows = leads_text.list_buttons(context.locale, stages, page)
    return leads_text.list_text(context.locale, page), _encoded(rows)


async def _list(update: Update, context: LeadbotContext, stage: str | None, page: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            found = await lead_updates.browse(
                session, context.actor, context.services.settings, stage, page
            )
    except ServiceError as err:
        await error(update, context, err)
        return
    text, markup = render_list(context, found)
    if update.callback_query:
        await update.callback_query.answer()
    await edit_or_reply(update, text, markup)


@requires(private=True)
async def leads_command(update: Update, context: LeadbotContext) -> None:
    await _list(update, context, raw_args(update) or None, 0)


@requires(private=True)
async def list_page(update: Update, context: LeadbotContext) -> None:
    query = update.callback_query
    assert query is not None
    pressed: LeadList | None = button_value(update, LeadList)
    stages = context.services.settings.stages
    if pressed is None or not (
        pressed.stage == "a" or (pressed.stage.isdigit() and int(pressed.stage) < len(stages))
    ):
        await stale(update, context)
        return
    stage = None if pressed.stage == "a" else stages[int(pressed.stage)]
    await _list(update, context, stage, min(pressed.page, 999_999))


# --- /lead: the card -----------------------------------------------------------------------------


def render_card(context: LeadbotContext, view: LeadView) -> Html:
    return leads_text.card_text(context.locale, context.services.settings.zone, view)


def card_keyboard(context: LeadbotContext, view: LeadView) -> InlineKeyboardMarkup | None:
    confirm = bool(context.services.scoring.rules.confirm_stages)
    rows = leads_text.card_buttons(context.locale, view, confirm)
    return _encoded(rows) if rows else None


async def _card(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            view = await lead_updates.view_lead(
                session,
                context.actor,
                lead_id,
                context.services.settings.stages,
                context.services.scoring.rules.confirm_stages,
            )
    except ServiceError as err:
        await error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    await reply(update, render_card(context, view), card_keyboard(context, view))


@requires(private=True)
async def lead_command(update: Update, context: LeadbotContext) -> None:
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "lead", args)
        return
    await _card(update, context, lead_id)


@requires(private=True)
async def lead_by_code(update: Update, context: LeadbotContext) -> None:
    """A bare ``L0007`` (or ``l7``) typed in private chat, outside any form, opens the card."""
    lead_id = lead_ref(update.effective_message.text or "" if update.effective_message else "")
    if lead_id is not None:
        await _card(update, context, lead_id)


@requires(private=True)
async def card_button(update: Update, context: LeadbotContext) -> None:
    pressed: LeadCard | None = button_value(update, LeadCard)
    if pressed is None:
        await stale(update, context)
        return
    await _card(update, context, pressed.lead)


@requires(private=True)
async def files_button(update: Update, context: LeadbotContext) -> None:
    """Send the lead's attachments again: chat files by file id, web uploads by bytes."""
    query = update.callback_query
    pressed: LeadFiles | None = button_value(update, LeadFiles)
    if query is None or pressed is None or update.effective_chat is None:
        await stale(update, context)
        return
    assert context.actor is not None
    try:
        async with context.session() as session:
            files = await lead_updates.lead_files(session, context.actor, pressed.lead)
    except ServiceError as err:
        await error(update, context, err)
        return
    await query.answer()
    failed = await send_again(update.effective_chat.id, context, files)
    if failed:
        await reply(update, context.t("leads.files.failed", failed=failed, total=len(files)))
