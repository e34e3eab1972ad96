"""The leaders' commands on DingTalk: ``/digest`` (the periodic report), ``/board`` (红黑榜)
and ``/adjust`` — the same services and words as Telegram (bot/rendering).

``/export`` (1:1 only: the 台账 holds every lead's contact) answers with the caption Telegram
shows, then the ``.xlsx`` as a DingTalk file, built in the render workers as on Telegram.
``/digest`` answers with its text, then the ``.xlsx`` workbook as a DingTalk file;
``/board`` with the list, then the 红黑榜 picture — rendered as Telegram renders them (the
workbook in a thread, the picture in the render workers). ``/digest`` and ``/board`` work
1:1 and in the bound leaders' group, never in a unit's group (it must not read every
unit's leads).
"""

from __future__ import annotations

import asyncio

from bot import catalog
from bot.forms import FormContext
from bot.operations import isolated
from bot.rendering import digest_xlsx
from bot.rendering.board import board_picture, board_text
from bot.rendering.digest_text import digest_text
from bot.rendering.export import build_workbook
from bot.rendering.rank_text import signed
from bot.services import ServiceError, digests, export, ranking
from handlers.dingtalk.reply import OutFile, Reply

__all__ = ["IN_LEADERS_GROUP", "LEADER_COMMANDS", "run"]

LEADER_COMMANDS = ("digest", "board", "adjust", "export")
IN_LEADERS_GROUP = ("digest", "board")


async def run(ctx: FormContext, name: str, args: str, group: int | None) -> Reply:
    """``group``: the principal of the group it was typed in (None: 1:1)."""
    locale = ctx.locale
    if not ctx.actor.is_leader:
        return Reply(catalog.t("access.leader_only", locale))
    if group is not None and (
        name not in IN_LEADERS_GROUP or group != await digests.leaders_chat(ctx.session)
    ):
        key = "digest.group_refused" if name in IN_LEADERS_GROUP else "access.private_only"
        return Reply(catalog.t(key, locale))
    try:
        if name == "digest":
            return await _digest(ctx, args)
        if name == "board":
            return await _board(ctx, args)
        if name == "export":
            return await _export(ctx, args)
        return await _adjust(ctx, args)
    except ServiceError as err:
        return Reply(catalog.t(err.code, locale, **err.params))


async def _digest(ctx: FormContext, args: str) -> Reply:
    query = digests.parse_args(args)
    setup, zone = ctx.services.scoring, ctx.services.settings.zone
    report = await digests.collect(ctx.session, setup, ctx.now, query.kind, query.key)
    text = catalog.t("digest.wrap", ctx.locale, text=digest_text(ctx.locale, report, zone))
    content = await asyncio.to_thread(digest_xlsx.build_workbook, report, zone)
    return Reply(text, files=(OutFile(digest_xlsx.file_name(report), content),))


async def _board(ctx: FormContext, args: str) -> Reply:
    setup, settings = ctx.services.scoring, ctx.services.settings
    key = args or setup.periods.span("month", ctx.now).key
    board = await ranking.board(ctx.session, setup, key, settings.board_top_n, ctx.now)
    text = catalog.t("board.wrap", ctx.locale, text=board_text(ctx.locale, board))
    png = await ctx.services.workers.run(board_picture, ctx.locale, board)  # matplotlib
    name = catalog.plain("board.caption", ctx.locale, month=board.month.label(ctx.locale))
    return Reply(text, files=(OutFile(f"{name}.png", png, as_photo=True),))


async def _export(ctx: FormContext, args: str) -> Reply:
    """The 台账 as on Telegram (handlers/export.py): the whole one read and built in a
    worker process, a period's rows read here and the workbook built in the workers."""
    query = export.parse_export_args(args)
    setup, url = ctx.services.scoring, ctx.services.db.url
    if query.whole and ":memory:" not in url:
        made = await isolated.export_file(
            ctx.services.workers, url, setup, ctx.now, query.kind, query.key, whole=True
        )
    else:
        data = await export.collect(
            ctx.session, setup, ctx.now, query.kind, query.key, whole=query.whole
        )
        content = await ctx.services.workers.run(build_workbook, data)
        made = isolated.ExportFile(
            content,
            data.filename,
            data.span,
            len(data.leads),
            len(data.weekly),
            len(data.ledger),
            len(data.ranking),
        )
    caption = catalog.t(
        "export.caption",
        ctx.locale,
        period=made.span.label(ctx.locale),
        leads=made.leads,
        weekly=made.weekly,
        ledger=made.ledger,
        units=made.units,
    )
    return Reply(caption, files=(OutFile(made.filename, made.content),))


async def _adjust(ctx: FormContext, args: str) -> Reply:
    unit, points, reason = ranking.parse_adjust_args(args)
    done = await ranking.adjust(
        ctx.session, ctx.services.scoring, ctx.now, ctx.actor, unit, points, reason
    )
    return Reply(
        catalog.t(
            "adjust.done",
            ctx.locale,
            unit=done.unit_name,
            points=signed(done.points),
            reason=done.reason,
            id=done.entry_id,
        )
    )
