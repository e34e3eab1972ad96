"""Forms on Telegram: the adapter of the form engine (bot/forms).

:class:`EngineForms` renders a :class:`bot.forms.StepView` (text + inline keyboard)
and feeds answers (text, button, file) back to the engine; it touches no private
PTB API. It runs in :data:`GROUP`, before the commands of group 0, so a person's open
form takes their next private message. Every form's state is its draft in
``form_drafts`` (one per person: "one form at a time" is the engine's rule), nothing
is kept in python-telegram-bot's ``user_data``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    filters,
)

from bot.forms import (
    CODEC,
    FileRef,
    FormContext,
    FormEngine,
    Msg,
    Outcome,
    Status,
    StepView,
    label_text,
)
from bot.forms.store import DraftConflict
from handlers import notices
from handlers.aliases import alias_of_text
from handlers.base import LeadbotContext, reply

log = logging.getLogger(__name__)


def redirect_to_private(key: str) -> Callable[[Update, LeadbotContext], Coroutine[Any, Any, None]]:
    """``/<key>`` in a group: forms are filled in private, so a button opens the private
    chat at the form (``/start <key>``); texts ``<key>.in_private`` / ``.open_private``."""

    async def redirect(update: Update, context: LeadbotContext) -> None:
        if context.actor is None or not context.actor.is_member:
            return
        url = f"https://t.me/{context.bot.username}?start={key}"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(context.label(f"{key}.open_private"), url=url)]]
        )
        await reply(update, context.t(f"{key}.in_private"), markup)

    return redirect


# --- the form engine's Telegram adapter ----------------------------------------------------

GROUP = -1  # before group 0 (the lead prompts are engine forms too)

AfterClose = Callable[[Update, LeadbotContext], Awaitable[None]]


def person(user_id: int) -> str:
    return f"tg:{user_id}"


def markup_of(
    view: StepView | None, engine: FormEngine, locale: str
) -> InlineKeyboardMarkup | None:
    if view is None or not view.rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label_text(b.label, locale), callback_data=engine.encode(b.value)
                )
                for b in row
            ]
            for row in view.rows
        ]
    )


def links_markup(outcome: Outcome, engine: FormEngine, locale: str) -> InlineKeyboardMarkup | None:
    """The buttons under what a saved form said (``Outcome.links``), in one row."""
    if not outcome.links:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label_text(link.label, locale), callback_data=engine.codec.encode(link.value)
                )
                for link in outcome.links
            ]
        ]
    )


def _command(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    return head[1:].split("@", 1)[0].lower(), rest.strip()


class EngineForms(BaseHandler[Update, LeadbotContext, None]):
    """Every private message and every engine button goes through here first.

    ``entries`` maps a command (``report``) to the form it opens; ``/start <form>``
    opens it too. When the person has no engine form open (or a ConversationHandler
    form has the floor), the update passes on to the later groups untouched.
    Another command leaves a prompt (a ``stacks`` form) and passes on. When a form
    closes, ``after_close`` may send the notices its save planned (keyed by the
    update) and tell the sender what became of them (the lead review's count).
    """

    def __init__(self, entries: dict[str, str], after_close: AfterClose | None = None) -> None:
        super().__init__(self._handle)
        self.entries = entries
        self.after_close = after_close

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.effective_user is None:
            return False
        if update.callback_query is not None:
            return CODEC.handles(update.callback_query.data)
        message = update.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return False
        return not filters.StatusUpdate.ALL.check_update(update)

    async def _handle(self, update: Update, context: LeadbotContext) -> None:
        engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
        query = update.callback_query
        if query is not None:
            if not engine.owns(query.data):
                return  # another feature's button
            await self._press(update, context, engine)
            raise ApplicationHandlerStop
        message = update.message
        assert message is not None
        text = message.text or ""
        alias = alias_of_text(message.text)  # 周报, 取消 … (handlers/aliases.py)
        if text.startswith("/") or alias == "cancel":
            name, args = _command(text) if text.startswith("/") else ("cancel", "")
            form = self.entries.get(name) or (self.entries.get(args) if name == "start" else None)
            if form is not None:
                await self._start(update, context, engine, form)
                raise ApplicationHandlerStop
            if name != "cancel":  # any other command: a prompt is left, a form waits
                if context.actor is not None:
                    await self._run(context, lambda ctx: _left(engine, ctx))
                return
            outcome = await self._run(context, lambda ctx: engine.cancel(ctx))
            if outcome.status is Status.NONE:
                return
            await self._show(update, context, engine, outcome)
            raise ApplicationHandlerStop
        if message.document is not None or message.photo:
            ref = (
                FileRef(message.document.file_id, "document", message.document.file_name or "")
                if message.document is not None
                else FileRef(message.photo[-1].file_id, "photo")
            )
            outcome = await self._run(context, lambda ctx: engine.file(ctx, ref))
        elif message.text is not None:
            key = notices.key_of(update)
            outcome = await self._run(context, lambda ctx: engine.text(ctx, text), key)
        else:
            outcome = await self._run(context, lambda ctx: engine.other(ctx))
        if outcome.status is Status.NONE and alias in self.entries:
            await self._start(update, context, engine, self.entries[alias])  # no form was open
            raise ApplicationHandlerStop
        if outcome.status is Status.NONE:
            return  # no engine form: the commands' aliases, then the fallbacks answer
        await self._show(update, context, engine, outcome)
        raise ApplicationHandlerStop

    # -- steps --------------------------------------------------------------------------

    async def _start(
        self,
        update: Update,
        context: LeadbotContext,
        engine: FormEngine,
        form: str,
        values: dict[str, Any] | None = None,
        note: Msg | None = None,
    ) -> Outcome | None:
        if context.actor is None or not context.actor.is_member:  # as @requires(private=True)
            await reply(update, context.t("access.stranger"))
            return None
        outcome = await self._run(context, lambda ctx: engine.start(ctx, form, values, note))
        web = getattr(context.application, "web", None)
        if outcome.status is Status.SHOWN and web is not None and web.page_for(form):
            markup = markup_of(outcome.view, engine, context.locale)
            rows = [list(r) for r in markup.inline_keyboard] if markup else []
            rows.append(
                [
                    InlineKeyboardButton(
                        context.label("web.report.open_form"),
                        web_app=WebAppInfo(web.page_for(form)),
                    )
                ]
            )
            await reply(update, outcome.text(context.locale), InlineKeyboardMarkup(rows))
            return outcome
        await self._show(update, context, engine, outcome)
        return outcome

    async def _press(self, update: Update, context: LeadbotContext, engine: FormEngine) -> None:
        query = update.callback_query
        assert query is not None
        value = engine.codec.decode(query.data)
        key = notices.key_of(update)
        outcome = await self._run(context, lambda ctx: engine.press(ctx, value), key)
        if outcome.status in (Status.STALE, Status.NONE):
            said = outcome.said[0].plain(context.locale) if outcome.said else None
            await query.answer(said or context.label("fallback.stale_button"), show_alert=True)
            return
        await query.answer()
        if outcome.keys_only and outcome.view is not None:
            try:  # only the buttons changed (a toggle): redraw the keyboard it was pressed on
                await query.edit_message_reply_markup(
                    markup_of(outcome.view, engine, context.locale)
                )
                return
            except TelegramError:
                pass
        if outcome.replace and outcome.view is not None:
            await query.edit_message_text(
                outcome.text(context.locale),
                reply_markup=markup_of(outcome.view, engine, context.locale),
            )
            return
        if outcome.status is not Status.EXPIRED:
            try:  # a live button cannot be pressed twice
                await query.edit_message_reply_markup(None)
            except TelegramError:  # an older message whose buttons are gone already
                log.debug("buttons of message already removed")
        await self._show(update, context, engine, outcome)

    async def _run(self, context: LeadbotContext, call: Any, key: str = "") -> Outcome:
        return await run_engine(context, call, key)

    async def _show(
        self, update: Update, context: LeadbotContext, engine: FormEngine, outcome: Outcome
    ) -> None:
        await show_outcome(update, context, outcome)
        if outcome.status is Status.CLOSED and self.after_close is not None:
            await self.after_close(update, context)


async def _left(engine: FormEngine, ctx: FormContext) -> Outcome:
    """Leave a waiting prompt (CLOSED, silently) or let the form wait (NONE)."""
    return Outcome(Status.CLOSED) if await engine.leave(ctx) else Outcome(Status.NONE)


async def run_engine(context: LeadbotContext, call: Any, key: str = "") -> Outcome:
    """One transaction: the draft is committed when this returns, before any reply.
    ``key`` names the update, for the notices a save plans (once per update)."""
    actor = context.actor
    assert actor is not None
    for _attempt in range(2):
        try:
            async with context.session() as session:
                ctx = FormContext(
                    session=session,
                    services=context.services,
                    actor=actor,
                    person=person(actor.tg_user_id),
                    now=context.now(),
                    locale=context.locale,
                    key=key,
                )
                outcome: Outcome = await call(ctx)
            return outcome
        except DraftConflict:  # another instance moved the draft on: answer on its state
            log.info("form draft of %s changed under us; reading it again", actor.tg_user_id)
    return Outcome(Status.STALE)


async def show_outcome(update: Update, context: LeadbotContext, outcome: Outcome) -> None:
    """Reply with the outcome; what a save planned for other people (the notifier's rows)
    is sent now."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    markup = markup_of(outcome.view, engine, context.locale) or links_markup(
        outcome, engine, context.locale
    )
    await reply(update, outcome.text(context.locale), markup)
    if outcome.status is Status.CLOSED:
        await notices.deliver(context)


async def start_form(
    update: Update,
    context: LeadbotContext,
    name: str,
    *,
    values: dict[str, Any] | None = None,
    scratch: dict[str, Any] | None = None,
) -> Outcome:
    """Start engine form ``name`` from another handler (a button: the head's 退回); the caller renders the outcome (:func:`show_outcome`) or, when the form
    refused to open, answers the button with the refusal."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    outcome = await run_engine(
        context, lambda ctx: engine.start(ctx, name, values=values, scratch=scratch)
    )
    return outcome


async def open_form(
    update: Update,
    context: LeadbotContext,
    form: str,
    values: dict[str, Any] | None = None,
    note: Msg | None = None,
) -> Outcome | None:
    """Open an engine form from another feature's button (a planned trip, [❌ 驳回]), with
    ``values`` filled in: the same transaction and rendering as its command."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    adapter = EngineForms({})  # its methods keep no state: any instance renders the same
    return await adapter._start(update, context, engine, form, values, note)
