"""Command menus per chat scope, in both languages, from the command registry."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from bot import catalog
from bot.assembly.commands import for_role
from bot.catalog import DEFAULT_LOCALE, LOCALES
from bot.domain.enums import Role

log = logging.getLogger(__name__)


def _commands(role: Role | None, locale: str, group: bool = False) -> list[BotCommand]:
    return [
        BotCommand(c.name, catalog.plain(f"cmd.{c.name}", locale)[:256])
        for c in for_role(role, group=group)
    ]


def _lang(locale: str) -> str | None:
    """Telegram keys menus by a two-letter language; the default menu has none."""
    return None if locale == DEFAULT_LOCALE else locale[:2]


async def set_default_menus(bot: Bot, admins: list[int]) -> None:
    """Strangers see /start and /help; members the liaison set; groups the group set."""
    for locale in LOCALES:
        lang = _lang(locale)
        await bot.set_my_commands(
            _commands(None, locale), scope=BotCommandScopeDefault(), language_code=lang
        )
        await bot.set_my_commands(
            _commands(Role.LIAISON, locale),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=lang,
        )
        await bot.set_my_commands(
            _commands(Role.LIAISON, locale, group=True),
            scope=BotCommandScopeAllGroupChats(),
            language_code=lang,
        )
    for admin in admins:
        await set_member_menu(bot, admin, Role.ADMIN, DEFAULT_LOCALE)


async def set_member_menu(bot: Bot, user_id: int, role: Role, locale: str) -> None:
    """A private chat's own menu for the member's role, in the member's language."""
    try:
        await bot.set_my_commands(_commands(role, locale), scope=BotCommandScopeChat(user_id))
    except TelegramError as exc:  # a user who never opened the chat: harmless
        log.info("menu for %s not set: %s", user_id, exc)


async def set_web_menu_button(bot: Bot, settings: Any) -> None:
    """Every private chat's menu button opens the web app (a Telegram Mini App)."""
    from telegram import MenuButtonWebApp, WebAppInfo

    try:
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(
                catalog.plain("web.menu.button", settings.locale)[:64],
                WebAppInfo(f"{settings.web_url}/app/"),
            )
        )
    except TelegramError as exc:
        log.warning("web app menu button not set: %s", exc)
