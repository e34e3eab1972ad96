"""One form at a time per person.

Several persistent ConversationHandlers (/report, /weekly, /activity, …) share
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

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, ConversationHandler

from bot import catalog
from bot.services.forms import close_idle_forms
from handlers.base import LeadbotContext, reply

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
        if result[2] in self.entry_points or self._floor_app is None:
            return result
        owner = self._floor_app.user_data.get(update.effective_user.id, {}).get(FLOOR)
        return None if owner not in (None, self.name) else result

    async def handle_update(
        self, update: Update, application: Any, check_result: Any, context: Any
    ) -> Any:
        if check_result[2] in self.entry_points and context.user_data is not None:
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
