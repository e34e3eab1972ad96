"""Forms on Telegram: the adapter of the form engine, and the older ConversationHandler rule.

:class:`EngineForms` renders a :class:`bot.forms.StepView` (text + inline keyboard)
and feeds answers (text, button, file) back to the engine; it touches no private
PTB API. It runs in :data:`GROUP`, before the ConversationHandlers of group 0.

The forms not yet on the engine keep the old rule. Several persistent ConversationHandlers (/report, /weekly, /activity, …) share
group 0, and PTB lets the first one that wants an update have it. Without a
rule, text meant for the form a liaison just opened could land in another form
left half-filled an hour ago. The rule: the form entered last has the floor;
the others keep their drafts and wait until they are entered again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    ConversationHandler,
    filters,
)

from bot import catalog
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
from bot.services.forms import close_idle_forms
from handlers import notices
from handlers.base import LeadbotContext, reply
from storage import repo

log = logging.getLogger(__name__)

FLOOR = "_form"  # user_data key: name of the form that has the floor


class ExclusiveForm(ConversationHandler):
    """A ConversationHandler that yields to the form its user entered last."""

    _floor_app: Application[Any, Any, Any, Any, Any, Any] | None = None

    def bind(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._floor_app = application

    def check_update(self, update: object) -> Any:
        result = super().check_update(update)
        if not result or not isinstance(update, Update) or update.effective_user is None:
            return result
        if self._floor_app is None or self._is_entry(update):
            return result
        owner = self._floor_app.user_data.get(update.effective_user.id, {}).get(FLOOR)
        return None if owner not in (None, self.name) else result

    def _is_entry(self, update: Update) -> bool:
        """Whether one of the entry points wants the update (public handler API only)."""
        return any(entry.check_update(update) not in (None, False) for entry in self.entry_points)

    async def handle_update(
        self, update: Update, application: Any, check_result: Any, context: Any
    ) -> Any:
        if context.user_data is not None and self._is_entry(update):
            context.user_data[FLOOR] = self.name
        return await super().handle_update(update, application, check_result, context)


def bind_forms(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, ExclusiveForm):
                handler.bind(application)


@dataclass(frozen=True)
class FormKit:
    """The bookkeeping every guided form shares, so each form only says its questions.

    A form keeps its draft (JSON only) under ``key`` in ``user_data``, stamps it
    with our clock on every answer, and expires it by that stamp — PTB's own
    conversation timeout is a wall-clock job a restart forgets. Its texts are
    the catalog keys ``<key>.expired``, ``.cancelled``, ``.in_private``,
    ``.open_private``; ``/start <key>`` opens it in the private chat.
    """

    key: str

    def draft(self, context: LeadbotContext) -> dict[str, Any] | None:
        data = context.user_data.get(self.key) if context.user_data is not None else None
        return data if isinstance(data, dict) else None

    def touch(self, context: LeadbotContext, draft: dict[str, Any]) -> None:
        draft["touched"] = context.now().isoformat()

    def expired(self, context: LeadbotContext, draft: dict[str, Any] | None) -> bool:
        if not draft or "touched" not in draft:
            return True
        limit = timedelta(minutes=context.services.settings.form_timeout_minutes)
        return context.now() - datetime.fromisoformat(draft["touched"]) > limit

    async def _close(self, update: Update, context: LeadbotContext, text_key: str) -> int:
        if context.user_data is not None:
            context.user_data.pop(self.key, None)
        if update.callback_query:
            await update.callback_query.answer()
        await reply(update, context.t(f"{self.key}.{text_key}"))
        return ConversationHandler.END

    async def gone(self, update: Update, context: LeadbotContext) -> int:
        """The draft expired or vanished (e.g. the sweep closed it): say so, end."""
        return await self._close(update, context, "expired")

    async def cancel(self, update: Update, context: LeadbotContext) -> int:
        return await self._close(update, context, "cancelled")

    async def from_group(self, update: Update, context: LeadbotContext) -> None:
        """Forms are filled in private: a button opens the private chat at the form."""
        if context.actor is None or not context.actor.is_member:
            return
        url = f"https://t.me/{context.bot.username}?start={self.key}"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(context.label(f"{self.key}.open_private"), url=url)]]
        )
        await reply(update, context.t(f"{self.key}.in_private"), markup)

    async def sweep(self, app: Any, now: datetime) -> None:
        """A JobRunner job: tell people whose form timed out, and drop the draft."""
        settings = app.services.settings
        async with app.services.db.session() as session:
            closed = await close_idle_forms(
                session, now, timedelta(minutes=settings.form_timeout_minutes), self.key
            )
        for form in closed:
            app.user_data.get(form.tg_user_id, {}).pop(self.key, None)  # the in-memory copy too
            try:
                await app.bot.send_message(
                    form.tg_user_id,
                    catalog.t(f"{self.key}.expired", form.locale or settings.locale),
                )
            except TelegramError as exc:
                log.info("idle-form notice to %s not sent: %s", form.tg_user_id, exc)


# --- the form engine's Telegram adapter ----------------------------------------------------

GROUP = -1  # after the lead prompts (handlers.leads.PROMPT_GROUP), before group 0


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


def _command(text: str) -> tuple[str, str]:
    head, _, rest = text.partition(" ")
    return head[1:].split("@", 1)[0].lower(), rest.strip()


class EngineForms(BaseHandler[Update, LeadbotContext, None]):
    """Every private message and every engine button goes through here first.

    ``entries`` maps a command (``report``) to the form it opens; ``/start <form>``
    opens it too. When the person has no engine form open (or a ConversationHandler
    form has the floor), the update passes on to the later groups untouched.
    """

    def __init__(self, entries: dict[str, str]) -> None:
        super().__init__(self._handle)
        self.entries = entries

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
        if text.startswith("/"):
            name, args = _command(text)
            form = self.entries.get(name) or (self.entries.get(args) if name == "start" else None)
            if form is not None:
                await self._start(update, context, engine, form)
                raise ApplicationHandlerStop
            if name != "cancel" or not self._has_floor(context, engine):
                return  # any other command: the form waits
            outcome = await self._run(context, lambda ctx: engine.cancel(ctx))
            if outcome.status is Status.NONE:
                return
            await self._show(update, context, engine, outcome)
            raise ApplicationHandlerStop
        if not self._has_floor(context, engine):
            return
        if message.document is not None or message.photo:
            ref = (
                FileRef(message.document.file_id, "document", message.document.file_name or "")
                if message.document is not None
                else FileRef(message.photo[-1].file_id, "photo")
            )
            outcome = await self._run(context, lambda ctx: engine.file(ctx, ref))
        elif message.text is not None:
            outcome = await self._run(context, lambda ctx: engine.text(ctx, text))
        else:
            outcome = await self._run(context, lambda ctx: engine.other(ctx))
        if outcome.status is Status.NONE:
            return  # no engine form: the fallbacks answer
        await self._show(update, context, engine, outcome)
        raise ApplicationHandlerStop

    # -- steps --------------------------------------------------------------------------

    def _has_floor(self, context: LeadbotContext, engine: FormEngine) -> bool:
        floor = context.user_data.get(FLOOR) if context.user_data is not None else None
        return floor is None or floor in engine.forms

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
        if outcome.status is Status.SHOWN and context.user_data is not None:
            context.user_data[FLOOR] = form  # the ConversationHandler forms yield
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
        if not self._has_floor(context, engine):
            await query.answer(context.label("fallback.stale_button"), show_alert=True)
            return
        value = engine.codec.decode(query.data)
        outcome = await self._run(context, lambda ctx: engine.press(ctx, value))
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

    async def _run(self, context: LeadbotContext, call: Any) -> Outcome:
        return await run_engine(context, call)

    async def _show(
        self, update: Update, context: LeadbotContext, engine: FormEngine, outcome: Outcome
    ) -> None:
        await show_outcome(update, context, outcome)


async def run_engine(context: LeadbotContext, call: Any) -> Outcome:
    """One transaction: the draft is committed when this returns, before any reply."""
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
                )
                outcome: Outcome = await call(ctx)
            return outcome
        except DraftConflict:  # another instance moved the draft on: answer on its state
            log.info("form draft of %s changed under us; reading it again", actor.tg_user_id)
    return Outcome(Status.STALE)


async def show_outcome(update: Update, context: LeadbotContext, outcome: Outcome) -> None:
    """Reply with the outcome; a form that ended gives the floor back, and what its save
    planned for other people (the notifier's rows) is sent now."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    data = context.user_data
    ended = outcome.status in (Status.CLOSED, Status.EXPIRED)
    if ended and data is not None and data.get(FLOOR) in engine.forms:
        data.pop(FLOOR, None)
    await reply(
        update, outcome.text(context.locale), markup_of(outcome.view, engine, context.locale)
    )
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
    """Start engine form ``name`` from another handler (a button: the head's 退回) and give
    it the floor; the caller renders the outcome (:func:`show_outcome`) or, when the form
    refused to open, answers the button with the refusal."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    outcome = await run_engine(
        context, lambda ctx: engine.start(ctx, name, values=values, scratch=scratch)
    )
    if outcome.status is Status.SHOWN and context.user_data is not None:
        context.user_data[FLOOR] = name
    return outcome


async def open_form(
    update: Update,
    context: LeadbotContext,
    form: str,
    values: dict[str, Any] | None = None,
    note: Msg | None = None,
) -> Outcome | None:
    """Open an engine form from another feature's button (a planned trip, [❌ 驳回]), with
    ``values`` filled in: the same transaction, floor and rendering as its command."""
    engine: FormEngine = context.application.forms  # type: ignore[attr-defined]
    adapter = EngineForms({})  # its methods keep no state: any instance renders the same
    return await adapter._start(update, context, engine, form, values, note)


async def sweep_engine_forms(app: Any, now: datetime) -> None:
    """A JobRunner job: close forms idle past the timeout and tell their owners."""
    settings = app.services.settings
    async with app.services.db.session() as session:
        idle = await app.forms.sweep(session, now)
        members = {i.person: await repo.member_by_tg(session, int(i.person[3:])) for i in idle}
    for form in idle:
        if not form.person.startswith("tg:"):
            continue
        user_id = int(form.person[3:])
        data = app.user_data.get(user_id, {})
        if data.get(FLOOR) == form.form:
            data.pop(FLOOR, None)
        member = members.get(form.person)
        locale = (member.locale if member else None) or settings.locale
        try:
            await app.bot.send_message(user_id, form.said.html(locale))
        except TelegramError as exc:
            log.info("idle-form notice to %s not sent: %s", user_id, exc)
