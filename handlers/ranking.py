"""``/rank``, ``/score``, ``/adjust`` and ``/board``.

``/rank`` answers from the per-period score table (one row per unit); its
[本周] [本月] [本季] [本年] buttons edit the same message. The 红黑榜's text and
picture are drawn by bot/rendering/board.py; the monthly post is a job (scheduler/board.py).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import catalog
from bot.catalog import Html
from bot.forms.buttons import RankButton
from bot.forms.callbacks import decode, encode
from bot.rendering.board import board_picture, board_text
from bot.rendering.rank_text import BUTTON_KINDS, rank_buttons, render_rank, render_score, signed
from bot.services import ServiceError, ranking, scoring
from bot.services.ranking import RankTable
from handlers.base import LeadbotContext, command_args, reply, requires


def _setup(context: LeadbotContext) -> scoring.ScoringSetup:
    return context.services.scoring


# --- /rank ------------------------------------------------------------------------------------


def rank_markup(context: LeadbotContext, table: RankTable) -> InlineKeyboardMarkup:
    rows = rank_buttons(context.locale, table)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=encode(v)) for label, v in row] for row in rows]
    )


@requires()
async def rank_cmd(update: Update, context: LeadbotContext) -> None:
    settings = context.services.settings
    setup = _setup(context)
    try:
        async with context.session() as session:
            categories = await ranking.categories(session)
            query = ranking.parse_rank_args(
                command_args(context), settings.rank_default_period, categories
            )
            table = await ranking.rank(
                session, setup, context.now(), query.kind, query.category, query.key
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, render_rank(context.locale, table), rank_markup(context, table))


async def on_rank_button(update: Update, context: LeadbotContext) -> None:
    query = update.callback_query
    assert query is not None
    if context.actor is None or not context.actor.is_member:
        await query.answer()
        return
    pressed = decode(query.data)
    kind = pressed.kind if isinstance(pressed, RankButton) else ""
    category = (pressed.category or None) if isinstance(pressed, RankButton) else None
    if kind not in BUTTON_KINDS:
        await query.answer(context.label("fallback.stale_button"), show_alert=True)
        return
    try:
        async with context.session() as session:
            table = await ranking.rank(session, _setup(context), context.now(), kind, category)
    except ServiceError as err:
        await query.answer(
            catalog.plain(err.code, context.locale, **err.params)[:190], show_alert=True
        )
        return
    await query.answer()
    try:
        await query.edit_message_text(
            render_rank(context.locale, table), reply_markup=rank_markup(context, table)
        )
    except BadRequest as exc:  # "message is not modified": the same period pressed twice
        if "not modified" not in str(exc).lower():
            raise


# --- /score -----------------------------------------------------------------------------------


@requires()
async def score_cmd(update: Update, context: LeadbotContext) -> None:
    assert context.actor is not None
    words = command_args(context).split()
    kind = "year"
    if words and words[-1].lower() in ranking.PERIOD_WORDS:
        kind = ranking.PERIOD_WORDS[words.pop().lower()]
    try:
        async with context.session() as session:
            view = await ranking.unit_score(
                session,
                _setup(context),
                context.now(),
                context.actor,
                " ".join(words) or None,
                kind,
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, render_score(context.locale, context.services.settings.zone, view))


# --- /adjust ----------------------------------------------------------------------------------


@requires(leader=True)
async def adjust_cmd(update: Update, context: LeadbotContext) -> None:
    assert context.actor is not None
    text = update.effective_message.text if update.effective_message else ""
    args = (text or "").split(None, 1)[1] if len((text or "").split(None, 1)) == 2 else ""
    try:
        async with context.session() as session:
            unit, points, reason = ranking.parse_adjust_args(args)
            done = await ranking.adjust(
                session, _setup(context), context.now(), context.actor, unit, points, reason
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(
        update,
        context.t(
            "adjust.done",
            unit=done.unit_name,
            points=signed(done.points),
            reason=done.reason,
            id=done.entry_id,
        ),
    )


# --- 红黑榜 -------------------------------------------------------------------------------------


@requires(leader=True)
async def board_cmd(update: Update, context: LeadbotContext) -> None:
    setup = _setup(context)
    key = command_args(context) or setup.periods.span("month", context.now()).key
    try:
        async with context.session() as session:
            board = await ranking.board(
                session, setup, key, context.services.settings.board_top_n, context.now()
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    chat = update.effective_chat
    assert chat is not None
    png = await context.services.workers.run(
        board_picture, context.locale, board
    )  # matplotlib: not in our memory
    await chat.send_photo(
        png,
        caption=catalog.plain(
            "board.caption", context.locale, month=board.month.label(context.locale)
        ),
    )
    await reply(
        update,
        Html(catalog.t("board.wrap", context.locale, text=board_text(context.locale, board))),
    )


def handlers() -> list[Any]:
    return [
        CommandHandler("rank", rank_cmd),
        CallbackQueryHandler(on_rank_button, pattern=r"^rk:"),
        CommandHandler("score", score_cmd),
        CommandHandler("adjust", adjust_cmd),
        CommandHandler("board", board_cmd),
    ]
