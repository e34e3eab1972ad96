"""The admin commands on DingTalk: ``/invite``, ``/invites``, ``/revoke``, ``/units``,
``/addunit``, ``/renameunit``, ``/members``, ``/skipweek`` and the unit sheet — so a DingTalk-only deployment is set up from the chat, as Telegram's is.

The same services and words (bot/rendering/admin_text.py). An invite on DingTalk is its
code: the admin hands it to the person, who sends it to the robot in a 1:1 chat
(``handlers.dingtalk.adapter`` joins a bare code). 1:1 only: codes are not for groups.
"""

from __future__ import annotations

from datetime import timedelta

from bot import catalog
from bot.forms import FormContext
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
from bot.rendering.weekly_status import skip_result_text, skips_text
from bot.services import ServiceError, invites, units
from bot.services import weekly as wk
from bot.services.invites import InviteInfo
from bot.services.reminders import resume_week
from bot.services.weekly import WeeklyConfig
from handlers.dingtalk.reply import Reply

__all__ = ["ADMIN_COMMANDS", "run"]

ADMIN_COMMANDS = (
    "invite",
    "invites",
    "revoke",
    "units",
    "addunit",
    "renameunit",
    "members",
    "skipweek",
    "importunits",
)
LEADER_COMMANDS = ("units",)  # leaders may list the units too, as on Telegram


async def run(ctx: FormContext, name: str, args: str) -> Reply:
    """One of :data:`ADMIN_COMMANDS`, refused politely to whoever may not."""
    actor, locale = ctx.actor, ctx.locale
    if not (actor.is_admin or (name in LEADER_COMMANDS and actor.is_leader)):
        key = "access.leader_only" if name in LEADER_COMMANDS else "access.admin_only"
        return Reply(catalog.t(key, locale))
    try:
        return await _run(ctx, name, args)
    except ServiceError as err:
        return Reply(catalog.t(err.code, locale, **err.params))


async def _run(ctx: FormContext, name: str, args: str) -> Reply:
    s, now, locale = ctx.session, ctx.now, ctx.locale
    settings = ctx.services.settings
    if name == "invite":
        command = invites.parse_invite_command(args)
        ttl = timedelta(days=command.days or 0) or timedelta(hours=settings.invite_ttl_hours)
        by, requests = ctx.actor.tg_user_id, list(command.requests)
        created = await invites.create_invites(
            s, now, by, command.unit, requests, ttl, command.single
        )
        return Reply(invite_created_text(locale, settings.zone, created, _how(locale)))
    if name == "invites":
        active = await invites.list_invites(s, now)
        return Reply(invites_text(locale, settings.zone, active, _how(locale)))
    if name == "revoke":
        if not args:
            return Reply(catalog.t("invite.revoke_usage", locale))
        revoked = await invites.revoke_invite(s, now, ctx.actor.tg_user_id, args)
        return Reply(revoked_text(locale, revoked))
    if name == "units":
        rows = await units.list_units(s, ctx.services.scoring.rules.categories)
        return Reply(units_text(locale, rows))
    if name == "skipweek":
        return await _skipweek(ctx, args)
    if name == "importunits":  # the sheet itself is a file sent to the robot 1:1
        return Reply(catalog.t("import.help", locale))
    if name == "members":
        return Reply(members_text(locale, await units.list_members(s, args)))
    if name == "renameunit":
        names = units.parse_rename_words(args)
        if names is None:
            return Reply(catalog.t("units.rename_usage", locale))
        old, new = await units.rename_unit(s, now, names[0], names[1], ctx.actor.tg_user_id)
        return Reply(catalog.t("units.renamed", locale, old=old, new=new))
    if not args:
        return Reply(catalog.t("units.add_usage", locale))
    unit_name, short, category = units.parse_unit_words(args)
    unit = await units.add_unit(s, now, unit_name, short, category, ctx.actor.tg_user_id)
    return Reply(
        catalog.t(
            "units.added",
            locale,
            name=unit.name,
            short=unit.short_name or "—",
            category=unit.category or "—",
        )
    )


async def _skipweek(ctx: FormContext, args: str) -> Reply:
    """``/skipweek 2027-W06 春节`` (again: taken back, the reminders planned again)."""
    s = ctx.services
    cfg = WeeklyConfig.from_settings(s.settings, s.periods, s.scoring)
    if not args:
        skips = await wk.upcoming_skips(ctx.session, ctx.now, cfg)
        return Reply(skips_text(ctx.locale, skips))
    result = await wk.skip_week(ctx.session, ctx.now, cfg, ctx.actor, args)
    restored = 0
    if not result.skipped:
        restored = await resume_week(ctx.session, ctx.now, cfg, result.info.key)
    return Reply(skip_result_text(ctx.locale, ctx.now, cfg, result, restored))


def _how(locale: str) -> HowToJoin:
    def how(inv: InviteInfo) -> str:
        return catalog.plain("dingtalk.invite_code", locale, token=inv.token)

    return how


SHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv")


def is_unit_sheet(actor_is_admin: bool, file_name: str | None) -> bool:
    """An admin's ``.xlsx``/``.csv`` sent 1:1 (no form waiting for it) is the unit sheet."""
    return actor_is_admin and (file_name or "").lower().endswith(SHEET_SUFFIXES)


async def import_sheet(ctx: FormContext, data: bytes, file_name: str) -> Reply:
    """Read the sheet (bounded, off the loop) and add its units, as Telegram does."""
    try:
        rows = await read_unit_sheet_off_loop(data, file_name)
        report = await units.import_units(ctx.session, ctx.now, rows, ctx.actor.tg_user_id)
    except (SheetError, ServiceError) as err:
        return Reply(catalog.t(err.code, ctx.locale, **err.params))
    return Reply(import_report_text(ctx.locale, report))
