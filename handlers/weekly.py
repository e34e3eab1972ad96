"""The weekly adapter: the head's 确认 / 退回, ``/status``, ``/leave``, ``/skipweek``, ``/health``.

``/weekly`` itself and the head's return reason are forms on the engine
(:mod:`bot.forms.weekly`, run by ``handlers.forms.EngineForms``); what they tell
other people (the heads' requests, the submitter's notice) goes through the notifier
in the same transaction as the change (:mod:`bot.services.weekly.notices`).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import catalog
from bot.catalog import Html
from bot.domain.enums import Outcome, VersionStatus
from bot.forms import Status, weekly_return
from bot.forms.buttons import WeeklyDecision
from bot.forms.callbacks import decode, encode
from bot.rendering.health_text import health_text
from bot.rendering.weekly_status import (
    overview_text,
    skip_result_text,
    skips_text,
    status_text,
)
from bot.services import ServiceError
from bot.services import weekly as wk
from bot.services.health import outbox_health
from bot.services.reminders import resume_week
from bot.services.weekly import SubmissionView, WeeklyConfig
from handlers import notices
from handlers.base import LeadbotContext, command_args, reply, requires
from handlers.forms import show_outcome, start_form

if TYPE_CHECKING:
    from bot.assembly.app import LeadbotApplication

log = logging.getLogger(__name__)
HEALTH_LINES = 10


def _cfg(context: LeadbotContext) -> WeeklyConfig:
    app: LeadbotApplication = context.application  # type: ignore[assignment]
    return app.weekly.cfg


def _deep_link(context: LeadbotContext) -> str:
    return f"https://t.me/{context.bot.username}?start=weekly"


def _local(context: LeadbotContext, when: datetime) -> datetime:
    return when.astimezone(_cfg(context).zone)


async def _answer(update: Update, text: str | None = None, alert: bool = False) -> None:
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(text[:200] if text else None, show_alert=alert)


# --------------------------------------------------------------------------------------
# Rendering a submission
# --------------------------------------------------------------------------------------


def render_view(
    context: LeadbotContext,
    view: SubmissionView,
    *,
    title: str = "weekly.view.title",
    locale: str | None = None,
) -> Html:
    """A submission as text, in ``locale`` (default: the person talking)."""
    return wk.view_html(view, locale or context.locale, title=title, zone=_cfg(context).zone)


def _decision_markup(
    context: LeadbotContext, version_id: int, locale: str | None = None
) -> InlineKeyboardMarkup:
    loc = locale or context.locale
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.plain("weekly.button.confirm", loc),
                    callback_data=encode(WeeklyDecision(version_id, "ok")),
                ),
                InlineKeyboardButton(
                    catalog.plain("weekly.button.return", loc),
                    callback_data=encode(WeeklyDecision(version_id, "ret")),
                ),
            ]
        ]
    )


# --------------------------------------------------------------------------------------
# /weekly in a group, and the head decides
# --------------------------------------------------------------------------------------


async def from_group(update: Update, context: LeadbotContext) -> None:
    """Forms are filled in private: a button opens the private chat at the form."""
    if context.actor is None or not context.actor.is_member:
        return
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.label("weekly.button.open_private"), url=_deep_link(context)
                )
            ]
        ]
    )
    await reply(update, context.t("weekly.in_private"), markup)


def _decision_of(update: Update) -> WeeklyDecision | None:
    pressed = decode(update.callback_query.data if update.callback_query else None)
    return pressed if isinstance(pressed, WeeklyDecision) else None


async def on_decision(update: Update, context: LeadbotContext) -> None:
    """``wkc:<version>:ok`` confirms, ``:ret`` asks for the reason (the return form),
    ``:show`` shows the card again."""
    pressed = _decision_of(update)
    actor = context.actor
    if pressed is None or actor is None or not actor.is_member:
        await _answer(update, context.label("fallback.stale_button"), alert=True)
        return
    if pressed.action == "show":
        await _show_card(update, context, pressed.version)
        return
    if pressed.action == "ret":
        await _ask_reason(update, context, pressed.version)
        return
    try:
        async with context.session() as session:
            decision = await wk.decide(
                session, context.now(), _cfg(context), actor, pressed.version, confirm=True
            )
            await wk.tell_submitter(
                session, context.now(), decision, default_locale=context.services.settings.locale
            )
    except ServiceError as err:
        await _answer(update, context.label(err.code, **err.params), alert=True)
        return
    await _answer(update, context.label("weekly.confirm.done_popup"))
    await _drop_markup(update)
    outcome = context.label(f"weekly.outcome.{decision.outcome or Outcome.ON_TIME}")
    await reply(
        update,
        context.t(
            "weekly.confirm.done", number=decision.number, unit=decision.unit_name, outcome=outcome
        ),
    )
    await notices.deliver(context)


async def _ask_reason(update: Update, context: LeadbotContext, version_id: int) -> None:
    """退回: the one-question return form (bot/forms/weekly.py) asks for the reason; a
    refusal (not the head, decided already) is the button's popup."""
    outcome = await start_form(
        update, context, weekly_return.RETURN, scratch={"version": version_id}
    )
    if outcome.status is not Status.SHOWN:
        said = outcome.said[0].plain(context.locale) if outcome.said else None
        await _answer(update, said or context.label("fallback.stale_button"), alert=True)
        return
    await _answer(update)
    await show_outcome(update, context, outcome)


async def _drop_markup(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)


async def _show_card(update: Update, context: LeadbotContext, version_id: int) -> None:
    try:
        async with context.session() as session:
            view, status = await wk.review_card(
                session, context.now(), _cfg(context), context.member, version_id
            )
    except ServiceError as err:
        await _answer(update, context.label(err.code, **err.params), alert=True)
        return
    await _answer(update)
    text = render_view(context, view, title="weekly.confirm.title")
    if status == VersionStatus.SUBMITTED:
        await reply(
            update,
            Html(text + "\n\n" + context.t("weekly.confirm.ask_short")),
            _decision_markup(context, version_id),
        )
    else:
        await reply(
            update,
            Html(text + "\n\n" + context.t(f"weekly.confirm.already_{status}", number=view.number)),
        )


# --------------------------------------------------------------------------------------
# /status
# --------------------------------------------------------------------------------------


@requires()
async def status(update: Update, context: LeadbotContext) -> None:
    """The words are bot/rendering/weekly_status.py's (DingTalk says the same); the
    buttons are Telegram's: the head's card again, and the private chat at /weekly."""
    actor = context.actor
    assert actor is not None
    cfg, now = _cfg(context), context.now()
    async with context.session() as session:
        if actor.is_leader or actor.unit_id is None:
            ov = await wk.overview(session, now, cfg)
            await reply(update, overview_text(context.locale, cfg.zone, now, ov))
            return
        mine = await wk.my_status(session, now, cfg, actor)
        pending = await wk.pending_review(session, actor, mine)
    rows = []
    if pending is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    context.label("weekly.button.review"),
                    callback_data=encode(WeeklyDecision(pending, "show")),
                )
            ]
        )
    if not mine.current.done or mine.overdue is not None:
        rows.append(
            [InlineKeyboardButton(context.label("weekly.button.start"), url=_deep_link(context))]
        )
    await reply(
        update,
        status_text(context.locale, cfg.zone, now, mine),
        InlineKeyboardMarkup(rows) if rows else None,
    )


# --------------------------------------------------------------------------------------
# /leave, /skipweek, /health
# --------------------------------------------------------------------------------------


@requires()
async def leave(update: Update, context: LeadbotContext) -> None:
    text = command_args(context)
    if not text:
        await reply(update, context.t("weekly.leave.usage"))
        return
    try:
        async with context.session() as session:
            result = await wk.set_leave(session, context.now(), _cfg(context), context.member, text)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    if result.until is None:
        await reply(update, context.t("weekly.leave.ended"))
        return
    day = wk.day_text(result.until, context.locale)
    key = "weekly.leave.set" if result.substitutes else "weekly.leave.set_nobody"
    await reply(update, context.t(key, day=day, names="、".join(result.substitutes)))


@requires(admin=True)
async def skipweek(update: Update, context: LeadbotContext) -> None:
    text = command_args(context)
    cfg = _cfg(context)
    if not text:
        async with context.session() as session:
            skips = await wk.upcoming_skips(session, context.now(), cfg)
        await reply(update, skips_text(context.locale, skips))
        return
    try:
        async with context.session() as session:
            result = await wk.skip_week(session, context.now(), cfg, context.member, text)
            restored = (
                0
                if result.skipped
                else await resume_week(session, context.now(), cfg, result.info.key)
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(update, skip_result_text(context.locale, context.now(), cfg, result, restored))


@requires(admin=True)
async def health(update: Update, context: LeadbotContext) -> None:
    app: LeadbotApplication = context.application  # type: ignore[assignment]
    now = context.now()
    async with context.session() as session:
        found = await outbox_health(session, now, HEALTH_LINES)
    zone = _cfg(context).zone
    await reply(update, health_text(context.locale, zone, now, app.jobs.last_run, found))


# --------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The form itself (/weekly, /start weekly) and the return reason run on the engine
    (handlers/forms.py: EngineForms); these are the rest."""
    return [
        CallbackQueryHandler(on_decision, pattern=r"^wkc:\d+:(ok|ret|show)$"),
        CommandHandler("weekly", from_group, filters=filters.ChatType.GROUPS),
        CommandHandler("status", status),
        CommandHandler("leave", leave),
        CommandHandler("skipweek", skipweek),
        CommandHandler("health", health),
    ]
