"""Opening a lead prompt (an engine form of :mod:`bot.forms.lead_prompts`) from a button
or a command, and what the reviewer hears once the review notices went out.

Answers, the prompt's own buttons, /cancel, expiry and stale buttons are the form
engine's (``handlers.forms.EngineForms``); this module only starts the form and
renders its first question, in place of the message whose button opened it.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.catalog import Html
from bot.forms import FormContext, FormEngine, Status
from bot.rendering import leads_text
from bot.services import lead_notices
from handlers import notices
from handlers.base import LeadbotContext, reply
from handlers.forms import markup_of, person
from handlers.leads.common import edit_or_reply


async def open_prompt(
    update: Update, context: LeadbotContext, form: str, args: dict[str, Any], *, edit: bool
) -> None:
    """Start ``form`` with ``args`` (its draft is committed before the question goes out);
    ``edit``: the question replaces the message of the button that opened it."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    actor = context.actor
    assert actor is not None
    async with context.session() as session:
        ctx = FormContext(
            session,
            context.services,
            actor,
            person(actor.tg_user_id),
            context.now(),
            context.locale,
            key=notices.key_of(update),
        )
        outcome = await engine.start(ctx, form, scratch=args)
    if update.callback_query:
        await update.callback_query.answer()
    text, markup = outcome.text(context.locale), markup_of(outcome.view, engine, context.locale)
    if outcome.status is not Status.SHOWN:  # refused: the lead moved on, not allowed, …
        await reply(update, text)
        return
    if edit:
        await edit_or_reply(update, text, markup)
    else:
        await reply(update, text, markup)


def delivery_text(context: LeadbotContext, done: lead_notices.Delivery) -> Html:
    """「已通知该单位 2 人」 (bot/rendering/leads_text.py; DingTalk says the same)."""
    return leads_text.delivery_text(context.locale, done)


async def delivered(context: LeadbotContext, key: str) -> lead_notices.Delivery | None:
    """Send the review notices planned under ``key`` now; what became of them (None: none)."""
    async with context.session() as session:
        planned = await lead_notices.delivery(session, key)
    if not planned.planned:
        return None
    await notices.deliver(context)
    async with context.session() as session:
        return await lead_notices.delivery(session, key)


async def review_delivered(update: Update, context: LeadbotContext) -> None:
    """After an engine form closed (the rejection reason was the answer): the count."""
    done = await delivered(context, notices.key_of(update))
    if done is not None:
        await reply(update, delivery_text(context, done))
