"""``/rank``, ``/score``, ``/adjust``, ``/board`` and the monthly 红黑榜 job.

``/rank`` answers from the per-period score table (one row per unit); its
[本周] [本月] [本季] [本年] buttons edit the same message. The 红黑榜 goes to the
leaders' group on the first working day of each month: its text and picture as
one row of the weekly cycle's outbox (exactly once: the outbox key is the month
and the chat; the picture is the row's attachment).
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import catalog
from bot.board import Bar, render_png
from bot.catalog import Html
from bot.forms.buttons import RankButton
from bot.forms.callbacks import decode, encode
from bot.rules.describe import num
from bot.services import ServiceError, ranking, scoring
from bot.services.ranking import Board, RankTable, ScoreView
from handlers.base import LeadbotContext, command_args, reply, requires

BUTTON_KINDS = ("week", "month", "quarter", "year")
BOARD_HOUR = time(9, 0)  # the board goes out from 09:00 on the first working day


def _setup(context: LeadbotContext) -> scoring.ScoringSetup:
    return context.services.scoring


def pts(value: Decimal) -> str:
    return num(Decimal(value))


def signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + pts(value)


# --- /rank ------------------------------------------------------------------------------------


def render_rank(context: LeadbotContext, table: RankTable) -> Html:
    loc = context.locale
    head_key = "rank.title_category" if table.category else "rank.title"
    lines = [context.t(head_key, period=table.span.label(loc), category=table.category or "")]
    for row in table.rows:
        move = move_text(context.locale, row.compare, row.move)
        lines.append(
            context.t(
                "rank.line", rank=row.rank, unit=row.unit_name, points=pts(row.points), move=move
            )
        )
    if not table.rows:
        lines.append(context.t("rank.no_units"))
    compared = any(r.compare != "none" for r in table.rows)
    footer = "rank.footer" if compared or not table.rows else "rank.footer_none"
    lines.append(context.t(footer, previous=table.previous.label(loc)))
    return Html("\n".join(lines))


def move_text(locale: str, compare: str, move: int) -> str:
    """↑2 / ↓1 / – against the previous period; 新 for a unit new since; nothing without a comparison."""
    if compare == "new":
        return catalog.plain("rank.new", locale)
    if compare == "none":
        return ""
    return "–" if move == 0 else (f"↑{move}" if move > 0 else f"↓{-move}")


def rank_markup(context: LeadbotContext, table: RankTable) -> InlineKeyboardMarkup:
    category = table.category or ""
    buttons = [
        InlineKeyboardButton(
            ("• " if kind == table.kind else "") + context.label(f"rank.button.{kind}"),
            callback_data=encode(RankButton(kind, category)),
        )
        for kind in BUTTON_KINDS
    ]
    return InlineKeyboardMarkup([buttons])


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
    await reply(update, render_rank(context, table), rank_markup(context, table))


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
            render_rank(context, table), reply_markup=rank_markup(context, table)
        )
    except BadRequest as exc:  # "message is not modified": the same period pressed twice
        if "not modified" not in str(exc).lower():
            raise


# --- /score -----------------------------------------------------------------------------------


def render_score(context: LeadbotContext, view: ScoreView) -> Html:
    loc = context.locale
    zone = context.services.settings.zone
    out = [
        context.t(
            "score.title",
            unit=view.unit_name,
            period=view.span.label(loc),
            points=pts(view.total),
            rank=view.rank,
            units=view.of_units,
        )
    ]
    if view.modules:
        out.append(context.t("score.modules"))
        for m in view.modules:
            key = "score.module_capped" if m.capped != m.raw else "score.module"
            out.append(context.t(key, name=m.name, points=pts(m.capped), raw=pts(m.raw)))
    if view.rules:
        out.append(context.t("score.rules"))
        out += [context.t("score.rule", name=r.name, points=signed(r.points)) for r in view.rules]
    if view.caps:
        out.append(context.t("score.caps"))
        out += [
            context.t(
                "score.cap",
                label=c.label,
                cap=pts(c.cap),
                raw=pts(c.raw),
                capped=pts(c.capped),
                period=c.period_key,
            )
            for c in view.caps
        ]
    if not view.rules and not view.modules:
        out.append(context.t("score.nothing"))
    if view.recent:
        out.append(context.t("score.recent"))
        for e in view.recent:
            local = e.at.astimezone(zone)
            day = context.label("score.date", month=local.month, day=local.day)
            key = "score.entry" if e.note else "score.entry_bare"
            out.append(context.t(key, date=day, points=signed(e.points), name=e.name, note=e.note))
    if view.targets:
        out.append(context.t("score.targets", year=view.year))
        for t in view.targets:
            key = "score.target_done" if t.done >= t.target else "score.target"
            out.append(context.t(key, name=t.name, done=t.done, target=t.target))
    if view.funnel:
        out.append(context.t("score.funnel"))
        for f in view.funnel:
            if f.rate is None:
                out.append(
                    context.t(
                        "score.funnel_none",
                        a=f.from_stage,
                        b=f.to_stage,
                        benchmark=pts(f.benchmark),
                    )
                )
            else:
                key = "score.funnel_line_ok" if f.rate >= f.benchmark else "score.funnel_line"
                out.append(
                    context.t(
                        key,
                        a=f.from_stage,
                        b=f.to_stage,
                        rate=pts(f.rate),
                        reached=f.reached,
                        base=f.base,
                        benchmark=pts(f.benchmark),
                    )
                )
    return Html("\n".join(out))


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
    await reply(update, render_score(context, view))


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


def board_text(locale: str, board: Board) -> str:
    """Plain text (no markup): it also travels through the outbox, whose values are escaped."""

    def line(key: str, **values: Any) -> str:
        return catalog.plain(key, locale, **values)

    def listed(rows: tuple[ranking.RankRow, ...], tie: ranking.Tie | None) -> list[str]:
        out = [
            line("board.line", rank=r.rank, unit=r.unit_name, points=pts(r.points)) for r in rows
        ]
        if tie is not None:
            key = "board.tie" if rows else "board.tie_only"
            out.append(line(key, count=tie.count, points=pts(tie.points)))
        return out or [line("board.none")]

    out = [line("board.title", month=board.month.label(locale))]
    out.append(line("board.red"))
    out += listed(board.top, board.top_tie)
    out.append(line("board.black_streak" if board.black == "streak" else "board.black"))
    out += listed(board.bottom, board.bottom_tie)
    out.append(line("board.missing"))
    out += [line("board.missing_line", unit=name, count=n) for name, n in board.missing] or [
        line("board.none_missing")
    ]
    return "\n".join(out)


def board_bars(locale: str, board: Board) -> list[Bar]:
    """The picture's bars: exactly the units the text names, red then black, a tie as one bar."""
    bars = [Bar(r.unit_name, r.points, "red") for r in board.top]
    if board.top_tie is not None:
        label = catalog.plain("board.chart_tie", locale, count=board.top_tie.count)
        bars.append(Bar(label, board.top_tie.points, "red", summary=True))
    bars += [Bar(r.unit_name, r.points, "black") for r in board.bottom]
    if board.bottom_tie is not None:
        label = catalog.plain("board.chart_tie", locale, count=board.bottom_tie.count)
        bars.append(Bar(label, board.bottom_tie.points, "black", summary=True))
    return bars


def board_picture(locale: str, board: Board) -> bytes:
    title = catalog.plain("board.chart_title", locale, month=board.month.label(locale))
    return render_png(title, board_bars(locale, board), catalog.plain("board.chart_axis", locale))


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


async def monthly_board(app: Any, now: datetime) -> None:
    """A JobRunner job: on the first working day of a month (from 09:00), last month's board, once."""
    settings = app.services.settings
    setup = app.services.scoring
    local = now.astimezone(settings.zone)
    first = setup.periods.first_workday_of_month(local.year, local.month)
    if local.date() < first or (local.date() == first and local.time() < BOARD_HOUR):
        return
    month_key = ranking.previous_month_key(setup, now)

    def picture(locale: str, board: Board) -> tuple[bytes, str]:
        caption = catalog.t("board.caption", locale, month=board.month.label(locale))
        return board_picture(locale, board), str(caption)

    async with app.services.db.session() as session:
        await ranking.plan_board(
            session,
            setup,
            now,
            month_key,
            settings.board_top_n,
            settings.locale,
            board_text,
            picture,
        )


def handlers() -> list[Any]:
    return [
        CommandHandler("rank", rank_cmd),
        CallbackQueryHandler(on_rank_button, pattern=r"^rk:"),
        CommandHandler("score", score_cmd),
        CommandHandler("adjust", adjust_cmd),
        CommandHandler("board", board_cmd),
    ]
