"""/start (and invite links), /help by role, /lang, and what strangers see."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.assembly.commands import alias_of, for_role, group_only
from bot.catalog import LOCALES, Html
from bot.forms.buttons import LanguageButton
from bot.forms.callbacks import decode, encode
from bot.services import ServiceError, invites
from bot.services.invites import TOKEN_RE
from handlers.base import LeadbotContext, command_args, is_private, keyboard, reply, requires
from handlers.menus import set_member_menu
from storage import repo


async def start(update: Update, context: LeadbotContext) -> None:
    payload = command_args(context)
    if payload and TOKEN_RE.fullmatch(payload) and is_private(update):
        await _join(update, context, payload)
        return
    actor = context.actor
    if actor is None or not actor.is_member:
        await _refuse(update, context)
        return
    await reply(
        update, context.t("start.hello", name=actor.display_name) + "\n\n" + _command_list(context)
    )


async def _join(update: Update, context: LeadbotContext, token: str) -> None:
    user = update.effective_user
    assert user is not None
    try:
        async with context.session() as session:
            joined = await invites.redeem(
                session, context.now(), token, user.id, user.full_name, user.username
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    role = context.label(f"role.{joined.role.value}")
    key = "start.joined" if joined.changed else "start.already_joined"
    text = context.t(
        key,
        name=joined.display_name,
        unit=joined.unit_name or context.label("unit.none"),
        role=role,
    )
    await _refresh_actor(update, context)
    await reply(update, text + "\n\n" + _command_list(context))
    await set_member_menu(context.bot, user.id, joined.role, context.locale)


async def _refresh_actor(update: Update, context: LeadbotContext) -> None:
    from bot.services.access import resolve_actor

    user = update.effective_user
    assert user is not None
    async with context.session() as session:
        context.actor = context.services.actors.put(
            await resolve_actor(
                session, context.services.settings, user.id, user.full_name, user.language_code
            )
        )


def _channels(context: LeadbotContext) -> frozenset[str]:
    return frozenset({"dingtalk"}) if context.services.settings.dingtalk_enabled else frozenset()


def _shown(name: str, *, private: bool) -> str:
    """``/weekly（周报）``: in private the alias works too (handlers/aliases.py)."""
    alias = alias_of(name) if private else None
    return f"/{name}（{alias}）" if alias else f"/{name}"


def _command_list(context: LeadbotContext, group: bool = False) -> Html:
    role = context.actor.role if context.actor else None
    lines = [
        context.t(
            "help.line",
            command=_shown(c.name, private=not group),
            description=context.label(f"cmd.{c.name}"),
        )
        for c in for_role(role, group=group, enabled=_channels(context))
        if c.name != "start"
    ]
    in_groups = [] if group else group_only(role)
    if in_groups:  # /bind, /unbind: they work only in a group, say so where people read /help
        lines.append(Html("\n" + context.t("rough.help.in_groups")))
        lines += [
            context.t("help.line", command=f"/{c.name}", description=context.label(f"cmd.{c.name}"))
            for c in in_groups
        ]
    return Html("\n".join(lines))


async def help_command(update: Update, context: LeadbotContext) -> None:
    actor = context.actor
    if actor is None or not actor.is_member:
        await _refuse(update, context)
        return
    role = context.label(f"role.{actor.role.value}") if actor.role else ""
    header = context.t("help.header", role=role, unit=actor.unit_name or context.label("unit.none"))
    await reply(update, header + "\n" + _command_list(context, group=not is_private(update)))


@requires()
async def lang(update: Update, context: LeadbotContext) -> None:
    buttons = [[(context.label(f"lang.{code}"), encode(LanguageButton(code))) for code in LOCALES]]
    await reply(update, context.t("lang.choose"), keyboard(buttons))


@requires()
async def lang_chosen(update: Update, context: LeadbotContext) -> None:
    query = update.callback_query
    assert query is not None and context.actor is not None
    pressed = decode(query.data)
    code = pressed.code if isinstance(pressed, LanguageButton) else ""
    if code not in LOCALES or context.actor.member_id is None:
        await query.answer(context.label("lang.unavailable"), show_alert=True)
        return
    async with context.session() as session:
        member = await repo.member_by_tg(session, context.actor.tg_user_id)
        if member is not None:
            member.locale = code
    await _refresh_actor(update, context)
    await query.answer()
    await query.edit_message_text(context.t("lang.set"))
    if context.actor and context.actor.role:
        await set_member_menu(context.bot, context.actor.tg_user_id, context.actor.role, code)


async def _refuse(update: Update, context: LeadbotContext) -> None:
    """Strangers learn only how to get in; in groups we stay silent."""
    if is_private(update):
        await reply(update, context.t("access.stranger"))


async def fallback_text(update: Update, context: LeadbotContext) -> None:
    """Any private message no form or command took."""
    if context.actor is None or not context.actor.is_member:
        await _refuse(update, context)
        return
    await reply(update, context.t("fallback.text"))


async def unknown_command(update: Update, context: LeadbotContext) -> None:
    if context.actor is None or not context.actor.is_member:
        await _refuse(update, context)
        return
    await reply(update, context.t("fallback.unknown_command"))


async def stale_button(update: Update, context: LeadbotContext) -> None:
    """A button nobody handles any more (an old message, a finished form)."""
    query = update.callback_query
    if query is not None:
        await query.answer(context.label("fallback.stale_button"), show_alert=True)


def handlers() -> list:
    return [
        CommandHandler("start", start),
        CommandHandler("help", help_command),
        CommandHandler("lang", lang),
        CallbackQueryHandler(lang_chosen, pattern=r"^lang:"),
    ]


def fallbacks() -> list:
    """Registered last, in a later group, so every feature gets its chance first."""
    return [
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command),
        MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND, fallback_text),
        CallbackQueryHandler(stale_button),
    ]
