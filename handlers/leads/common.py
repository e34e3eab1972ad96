"""What the lead adapters share: reading a command's argument and a button, answering.

Button data is decoded by the one codec (:mod:`bot.forms.buttons`); a value of the
wrong kind is a stale (or forged) button and gets the usual popup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.catalog import Html
from bot.forms import Msg
from bot.forms.buttons import LeadCard
from bot.forms.callbacks import decode, encode
from bot.forms.lead_prompts import shown
from bot.services import ServiceError
from bot.services.leads import parse_code
from handlers.base import LeadbotContext, keyboard, reply


def raw_args(update: Update) -> str:
    """The text after the command, line breaks kept (notes may have several lines)."""
    text = update.effective_message.text if update.effective_message else None
    parts = (text or "").split(None, 1)
    return parts[1].strip() if len(parts) == 2 else ""


def lead_ref(args: str) -> int | None:
    return parse_code(args.split(None, 1)[0]) if args else None


def button_value(update: Update, kind: type[Any]) -> Any:
    """The button's typed value when it is a ``kind``, else None (stale or forged)."""
    value = decode(update.callback_query.data if update.callback_query else None)
    return value if isinstance(value, kind) else None


def display(context: LeadbotContext, field: str, value: Any) -> str:
    return shown(field, value, context.locale)


def lines(context: LeadbotContext, said: Sequence[Msg]) -> Html:
    """Catalog messages (a service result rendered by the core) as one reply."""
    return Html("\n".join(m.html(context.locale) for m in said))


async def stale(update: Update, context: LeadbotContext) -> None:
    if update.callback_query:
        await update.callback_query.answer(context.label("fallback.stale_button"), show_alert=True)


async def edit_or_reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Buttons change the message they sit on; commands get a new one."""
    query = update.callback_query
    if query is None or len(text) > 4000:
        await reply(update, text, markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def error(update: Update, context: LeadbotContext, err: ServiceError) -> None:
    if update.callback_query:
        await update.callback_query.answer()
    await reply(update, context.error_text(err))


def view_button(context: LeadbotContext, lead_id: int) -> InlineKeyboardMarkup:
    return keyboard([[(context.label("leads.button.view"), encode(LeadCard(lead_id)))]])


async def usage(update: Update, context: LeadbotContext, command: str, args: str) -> None:
    """``/lead`` without a code, or with something that is not one."""
    await reply(
        update, context.t(f"leads.usage.{command}" if not args else "leads.bad_ref", ref=args[:20])
    )
