"""``/activity``: work activities (工作记录) -- the review buttons, ``/activities``, ``/trips``.

The form itself is data in :mod:`bot.forms.activity`, run by the form engine;
:class:`handlers.forms.EngineForms` renders its steps and feeds the answers back
(``/activity``, ``/start activity``). Here is what is Telegram's own: ``/activity``
in a group opens the private chat; leaders review with ``/verify_activity A12`` /
``/reject_activity A12 原因`` or the buttons of ``/activities`` -- [❌ 驳回] opens the
engine's one-question reject form; [✈️ 转为外出记录] of ``/trips`` opens the activity
form with the planned trip filled in. The unit hears a verdict through the notifier.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.catalog import Html
from bot.domain.enums import activity_code
from bot.forms import Status, msg
from bot.forms.activity import NAME, REJECT, trip_values
from bot.forms.buttons import ActivityFiles, ActivityReview, PlannedTrip
from bot.forms.callbacks import decode, encode
from bot.rendering.activity_text import activity_card, activity_line, review_rows
from bot.services import ServiceError, activities, scoring
from handlers import notices
from handlers.base import LeadbotContext, command_args, is_private, keyboard, reply, requires
from handlers.files import send_again
from handlers.forms import open_form, redirect_to_private

log = logging.getLogger(__name__)

KEY = NAME


def _setup(context: LeadbotContext) -> scoring.ScoringSetup:
    return context.services.scoring


def _trip_button(ref: str) -> PlannedTrip:
    """``trip:<submission>:<index>`` (the service's reference) as its button value."""
    _, submission, index = ref.split(":")  # our own reference, not user input
    return PlannedTrip(int(submission), int(index))


# --- reviews ----------------------------------------------------------------------------------


@requires()
async def list_cmd(update: Update, context: LeadbotContext) -> None:
    actor = context.actor
    assert actor is not None
    try:
        async with context.session() as session:
            views = await activities.list_for(
                session, actor, _setup(context), pending=actor.is_leader
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    if not views:
        await reply(
            update,
            context.t("activity.list_empty_pending" if actor.is_leader else "activity.list_empty"),
        )
        return
    title = context.t(
        "activity.list_pending" if actor.is_leader else "activity.list_title", count=len(views)
    )
    if not actor.is_leader:
        await reply(
            update, title + "\n" + Html("\n".join(activity_line(context.locale, v) for v in views))
        )
        return
    await reply(update, title)
    for v in views:
        rows = review_rows(context.locale, v)
        markup = keyboard([[(label, encode(value)) for label, value in row] for row in rows])
        await reply(update, activity_card(context.locale, v), markup)


def _code_arg(context: LeadbotContext) -> tuple[int | None, str]:
    args = command_args(context).split(None, 1)
    if not args:
        return None, ""
    return activities.parse_code(args[0]), args[1] if len(args) > 1 else ""


@requires(leader=True)
async def verify_cmd(update: Update, context: LeadbotContext) -> None:
    activity_id, _ = _code_arg(context)
    if activity_id is None:
        await reply(update, context.t("activity.verify_usage"))
        return
    await _verify(update, context, activity_id)


async def _verify(update: Update, context: LeadbotContext, activity_id: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            outcome = await activities.verify_activity(
                session, context.now(), context.actor, activity_id, _setup(context)
            )
            await _notify(session, update, context, outcome, "activity.notify_verified")
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(
        update, context.t("activity.verified", code=outcome.view.code, unit=outcome.view.unit_name)
    )
    await notices.deliver(context)


@requires(leader=True)
async def reject_cmd(update: Update, context: LeadbotContext) -> None:
    activity_id, reason = _code_arg(context)
    if activity_id is None:
        await reply(update, context.t("activity.reject_usage"))
        return
    await _reject(update, context, activity_id, reason)


async def _reject(update: Update, context: LeadbotContext, activity_id: int, reason: str) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            outcome = await activities.reject_activity(
                session, context.now(), context.actor, activity_id, reason, _setup(context)
            )
            await _notify(session, update, context, outcome, "activity.notify_rejected")
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(
        update,
        context.t(
            "activity.rejected",
            code=outcome.view.code,
            unit=outcome.view.unit_name,
            reason=outcome.view.review_note or "",
        ),
    )
    await notices.deliver(context)


async def _notify(
    session: AsyncSession,
    update: Update,
    context: LeadbotContext,
    outcome: activities.ReviewOutcome,
    key: str,
) -> None:
    """The unit's members hear the review result: planned in the review's transaction."""
    await activities.tell_unit(
        session,
        context.now(),
        outcome,
        key,
        key=notices.key_of(update),
        default_locale=context.services.settings.locale,
    )


async def on_review_button(update: Update, context: LeadbotContext) -> None:
    """[✅ 认定] works at once; [❌ 驳回] opens the reject form (the reason is its question)."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    pressed = decode(query.data)
    if actor is None or not actor.is_leader:
        await query.answer(context.label("access.leader_only"), show_alert=True)
        return
    if not isinstance(pressed, ActivityReview) or pressed.verdict not in ("ok", "no"):
        await query.answer(context.label("fallback.stale_button"), show_alert=True)
        return
    await query.answer()
    if pressed.verdict == "ok":
        await query.edit_message_reply_markup(None)
        await _verify(update, context, pressed.activity)
        return
    if not is_private(update):  # the reason is typed to the engine, which reads private chats
        code = activity_code(pressed.activity)
        await reply(update, context.t("activity.reject_in_group", code=code))
        return
    outcome = await open_form(update, context, REJECT, {"activity": pressed.activity})
    if outcome is not None and outcome.status is Status.SHOWN:
        await query.edit_message_reply_markup(None)


async def on_files_button(update: Update, context: LeadbotContext) -> None:
    """[📎 查看附件]: the record's files in this chat, for a leader or the record's unit."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    if context.actor is None or not isinstance(pressed, ActivityFiles):
        await query.answer(context.label("fallback.stale_button"), show_alert=True)
        return
    try:
        async with context.session() as session:
            files = await activities.activity_files(session, context.actor, pressed.activity)
    except ServiceError as err:
        await query.answer(context.label(err.code, **err.params), show_alert=True)
        return
    await query.answer()
    assert update.effective_chat is not None
    failed = await send_again(update.effective_chat.id, context, files)
    if failed:
        await reply(update, context.t("activity.files.failed", failed=failed, total=len(files)))


# --- planned trips ---------------------------------------------------------------------------


@requires(private=True)
async def trips_cmd(update: Update, context: LeadbotContext) -> None:
    actor = context.actor
    assert actor is not None
    try:
        async with context.session() as session:
            trips = await activities.planned_trips(session, actor)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    if not trips:
        await reply(update, context.t("activity.trips_empty"))
        return
    await reply(update, context.t("activity.trips_title", count=len(trips)))
    for trip in trips:
        text = context.t("activity.trip_line", period=trip.period_key, destination=trip.destination)
        if trip.recorded:
            await reply(
                update, text + "\n" + context.t("activity.trip_recorded", code=trip.recorded)
            )
            continue
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.label("activity.button.trip"),
                        callback_data=encode(_trip_button(trip.ref)),
                    )
                ]
            ]
        )
        await reply(update, text, markup)


@requires(private=True)
async def on_trip_button(update: Update, context: LeadbotContext) -> None:
    """The planned trip becomes the activity form with kind, unit and text filled in."""
    query = update.callback_query
    assert query is not None and context.actor is not None
    pressed = decode(query.data)
    if not isinstance(pressed, PlannedTrip):
        await query.answer(context.label("fallback.stale_button"), show_alert=True)
        return
    await query.answer()
    try:
        async with context.session() as session:
            trip = await activities.trip_from_plan(
                session, context.now(), context.actor, pressed.ref, _setup(context)
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    text = context.label("activity.trip_text", destination=trip.destination, period=trip.period_key)
    note = msg("activity.trip_intro", destination=trip.destination)
    outcome = await open_form(update, context, NAME, trip_values(trip, text), note)
    if outcome is not None and outcome.status is Status.SHOWN:
        await query.edit_message_reply_markup(None)


# --- wiring ---------------------------------------------------------------------------------


def handlers() -> list[Any]:
    return [
        CommandHandler("activity", redirect_to_private(KEY), filters=filters.ChatType.GROUPS),
        CallbackQueryHandler(on_review_button, pattern=r"^ar:"),
        CallbackQueryHandler(on_files_button, pattern=r"^af:"),
        CallbackQueryHandler(on_trip_button, pattern=r"^at:trip:"),
        CommandHandler("activities", list_cmd),
        CommandHandler("verify_activity", verify_cmd),
        CommandHandler("reject_activity", reject_cmd),
        CommandHandler("trips", trips_cmd),
    ]
