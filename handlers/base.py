"""What every handler shares: the context with the actor, replies, role guards.

Handlers stay thin: read the update, call a service inside ``context.session()``,
render through the catalog with :meth:`LeadbotContext.t`, reply with :func:`reply`.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackContext, ExtBot

from bot import catalog
from bot.catalog import Html
from bot.rendering.text import split_html
from bot.services import ServiceError, Services
from bot.services.access import Actor

if TYPE_CHECKING:
    from bot.assembly.app import LeadbotApplication

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class LeadbotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The PTB context plus who is talking (set once per update by the middleware)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.actor: Actor | None = None

    @property
    def services(self) -> Services:
        app: LeadbotApplication = self.application  # type: ignore[assignment]
        return app.services

    @property
    def member(self) -> Actor:
        """The actor, in a handler that ``@requires`` one (so the middleware has set it)."""
        if self.actor is None:
            raise RuntimeError("no actor: the handler is missing @requires")
        return self.actor

    @property
    def locale(self) -> str:
        return self.actor.locale if self.actor else self.services.settings.locale

    def now(self) -> datetime:
        return self.services.clock.now()

    def t(self, key: str, /, **values: Any) -> Html:
        return catalog.t(key, self.locale, **values)

    def label(self, key: str, /, **values: Any) -> str:
        return catalog.plain(key, self.locale, **values)

    def error_text(self, err: ServiceError) -> Html:
        return self.t(err.code, **err.params)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.services.db.session() as session:
            yield session


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat of the update; long text is split, buttons go on the last part."""
    chat = update.effective_chat
    if chat is None:
        return None
    parts = split_html(text)
    sent = None
    for i, part in enumerate(parts):
        sent = await chat.send_message(part, reply_markup=markup if i == len(parts) - 1 else None)
    return sent


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def is_private(update: Update) -> bool:
    return bool(update.effective_chat and update.effective_chat.type == ChatType.PRIVATE)


def command_args(context: LeadbotContext) -> str:
    return " ".join(context.args or []).strip()


async def _refuse_press(update: Update, context: LeadbotContext, key: str) -> None:
    query = update.callback_query
    assert query is not None
    text = re.sub(r"<[^>]+>", "", str(context.t(key)))
    await query.answer(html.unescape(text)[:200], show_alert=True)


async def _refuse(update: Update, context: LeadbotContext, key: str) -> None:
    if update.callback_query is not None:
        await _refuse_press(update, context, key)
    else:
        await reply(update, context.t(key))


def requires(
    *, member: bool = True, leader: bool = False, admin: bool = False, private: bool = False
) -> Callable[[F], F]:
    """Refuse politely before the handler runs: strangers see nothing at all."""

    def deco(func: F) -> F:
        @functools.wraps(func)
        async def wrapper(update: Update, context: LeadbotContext) -> Any:
            actor = context.actor
            if actor is None or (member and not actor.is_member):
                if update.callback_query is not None:  # the spinner stops, with the refusal
                    await _refuse_press(update, context, "access.stranger")
                elif is_private(update):
                    await reply(update, context.t("access.stranger"))
                return None
            if admin and not actor.is_admin:
                await _refuse(update, context, "access.admin_only")
                return None
            if leader and not actor.is_leader:
                await _refuse(update, context, "access.leader_only")
                return None
            if private and not is_private(update):
                await reply(update, context.t("access.private_only"), await _open_private(context))
                return None
            return await func(update, context)

        return wrapper  # type: ignore[return-value]

    return deco


async def _open_private(context: LeadbotContext) -> InlineKeyboardMarkup:
    """A button that opens the private chat with the bot (forms are filled there)."""
    url = f"https://t.me/{context.bot.username}?start=go"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(context.label("button.open_private"), url=url)]]
    )
