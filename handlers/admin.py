"""Admin commands: units, the unit sheet, invite links, group binding."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.catalog import Html
from bot.domain.enums import ChatKind
from bot.operations.sheets import MAX_BYTES as MAX_SHEET_BYTES
from bot.operations.sheets import SheetError, read_unit_sheet_off_loop
from bot.rendering.admin_text import (
    HowToJoin,
    import_report_text,
    invite_created_text,
    invites_text,
    members_text,
    revoked_text,
    units_text,
)
from bot.services import ServiceError, chats, invites, scoring, units
from handlers.base import LeadbotContext, command_args, reply, requires


@requires(leader=True)
async def list_units(update: Update, context: LeadbotContext) -> None:
    order = scoring.setup_for(context.services.settings).rules.categories
    async with context.session() as session:
        rows = await units.list_units(session, order)
    await reply(update, units_text(context.locale, rows))


@requires(admin=True)
async def list_members(update: Update, context: LeadbotContext) -> None:
    ref = command_args(context)
    try:
        async with context.session() as session:
            people = await units.list_members(session, ref)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, members_text(context.locale, people))


@requires(admin=True)
async def add_unit(update: Update, context: LeadbotContext) -> None:
    text = command_args(context)
    if not text:
        await reply(update, context.t("units.add_usage"))
        return
    name, short, category = units.parse_unit_words(text)
    try:
        async with context.session() as session:
            unit = await units.add_unit(
                session, context.now(), name, short, category, context.member.tg_user_id
            )
            added = (unit.name, unit.short_name or "—", unit.category or "—")
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, context.t("units.added", name=added[0], short=added[1], category=added[2]))


@requires(admin=True)
async def rename_unit(update: Update, context: LeadbotContext) -> None:
    text = command_args(context)
    parts = units.parse_rename_words(text)
    if parts is None:
        await reply(update, context.t("units.rename_usage"))
        return
    try:
        async with context.session() as session:
            old, new = await units.rename_unit(
                session, context.now(), parts[0], parts[1], context.member.tg_user_id
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, context.t("units.renamed", old=old, new=new))


@requires(admin=True, private=True)
async def import_help(update: Update, context: LeadbotContext) -> None:
    await reply(update, context.t("import.help"))


@requires(admin=True, private=True)
async def import_sheet(update: Update, context: LeadbotContext) -> None:
    """An admin sends an .xlsx/.csv in private chat: that is the unit sheet."""
    doc = update.effective_message.document if update.effective_message else None
    if doc is None:
        return
    try:
        if doc.file_size is not None and doc.file_size > MAX_SHEET_BYTES:  # before downloading
            raise SheetError("import.file_too_large", limit_mb=MAX_SHEET_BYTES // (1024 * 1024))
        data = bytes(await (await doc.get_file()).download_as_bytearray())
        rows = await read_unit_sheet_off_loop(data, doc.file_name or "")
        async with context.session() as session:
            report = await units.import_units(
                session, context.now(), rows, context.member.tg_user_id
            )
    except (SheetError, ServiceError) as err:
        await reply(update, context.t(err.code, **err.params))
        return
    await reply(update, render_import_report(context, report))


def render_import_report(context: LeadbotContext, report: units.ImportReport) -> Html:
    return import_report_text(context.locale, report)


@requires(admin=True, private=True)
async def invite(update: Update, context: LeadbotContext) -> None:
    """``/invite 招商引资部 专干×2 负责人 [once] [7d]``; ``/invite 领导`` needs no unit."""
    settings = context.services.settings
    try:
        command = invites.parse_invite_command(command_args(context))
        ttl = timedelta(days=command.days or 0) or timedelta(hours=settings.invite_ttl_hours)
        async with context.session() as session:
            created = await invites.create_invites(
                session,
                context.now(),
                context.member.tg_user_id,
                command.unit,
                list(command.requests),
                ttl,
                command.single,
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    text = invite_created_text(context.locale, settings.zone, created, _link(context))
    await reply(update, text)


def _link(context: LeadbotContext) -> HowToJoin:
    """On Telegram an invite is a link that opens the private chat with its token."""
    return lambda inv: f"https://t.me/{context.bot.username}?start={inv.token}"


@requires(admin=True, private=True)
async def list_invites(update: Update, context: LeadbotContext) -> None:
    async with context.session() as session:
        active = await invites.list_invites(session, context.now())
    zone = context.services.settings.zone
    await reply(update, invites_text(context.locale, zone, active, _link(context)))


@requires(admin=True)
async def revoke(update: Update, context: LeadbotContext) -> None:
    ref = command_args(context)
    if not ref:
        await reply(update, context.t("invite.revoke_usage"))
        return
    try:
        async with context.session() as session:
            inv = await invites.revoke_invite(
                session, context.now(), context.member.tg_user_id, ref
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, revoked_text(context.locale, inv))


@requires(admin=True)
async def bind(update: Update, context: LeadbotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    try:
        async with context.session() as session:
            result = await chats.bind(
                session,
                context.now(),
                context.member.tg_user_id,
                chat.id,
                chat.title,
                command_args(context),
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    if result.kind is ChatKind.LEADERS:
        await reply(update, context.t("bind.leaders"))
    else:
        await reply(update, context.t("bind.unit", unit=result.unit_name))


@requires(admin=True)
async def unbind(update: Update, context: LeadbotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    async with context.session() as session:
        removed = await chats.unbind(session, context.now(), context.member.tg_user_id, chat.id)
    await reply(update, context.t("bind.removed" if removed else "bind.nothing"))


SHEET = (
    filters.Document.FileExtension("xlsx")
    | filters.Document.FileExtension("csv")
    | filters.Document.FileExtension("xlsm")
)


def handlers() -> list:
    return [
        CommandHandler("units", list_units),
        CommandHandler("members", list_members),
        CommandHandler("addunit", add_unit),
        CommandHandler("renameunit", rename_unit),
        CommandHandler("importunits", import_help),
        CommandHandler("invite", invite),
        CommandHandler("invites", list_invites),
        CommandHandler("revoke", revoke),
        CommandHandler("bind", bind),
        CommandHandler("unbind", unbind),
        MessageHandler(filters.ChatType.PRIVATE & SHEET, import_sheet),
    ]
