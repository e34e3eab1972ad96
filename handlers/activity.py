"""``/activity``: record a work activity (工作记录); ``/activities``, reviews, ``/trips``.

The form is a persistent ConversationHandler like ``/report``: its draft lives
in ``user_data`` (JSON), written to the database after every update, so a
restart continues where the person was. Steps: [unit — leaders only] → kind →
date ([今天] [昨天] or typed 2026-11-20 / 11月20日) → short text → amount (foreign
capital, USD) → lead (optional, for kinds about a project) → files (the trip
report is required for a trip) → summary [保存].

Leaders review with ``/verify_activity A12`` / ``/reject_activity A12 原因`` or the
buttons of ``/activities``; a reject button asks for the reason in the same form.
A planned trip of an accepted weekly submission (``/trips``) becomes a trip
record with one button: the form opens with the trip filled in and asks for the
date and the trip report.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import catalog
from bot.catalog import Html
from bot.services import ServiceError, activities, scoring
from bot.services.activities import ActivityDraft, ActivityView
from bot.services.leads import parse_code as parse_lead_code
from handlers.base import LeadbotContext, command_args, reply, requires
from handlers.forms import ExclusiveForm, FormKit

log = logging.getLogger(__name__)

KEY = "activity"
FORM = FormKit(KEY)
UNIT, KIND, DATE, TEXT, AMOUNT, LEAD, FILES, SUMMARY, REASON = range(100, 109)
TEXT_STATES = {TEXT, AMOUNT, LEAD, DATE, REASON}


def _setup(context: LeadbotContext) -> scoring.ScoringSetup:
    return scoring.setup_for(context.services.settings)


def _today(context: LeadbotContext) -> Any:
    return context.now().astimezone(context.services.settings.zone).date()


def _choice(context: LeadbotContext, draft: dict[str, Any]) -> activities.KindChoice:
    assert context.actor is not None
    return activities.kind_choice(context.actor, _setup(context), draft["kind"])


# --- asking ---------------------------------------------------------------------------------


async def ask(
    update: Update,
    context: LeadbotContext,
    state: int,
    draft: dict[str, Any],
    prefix: Html | None = None,
) -> int:
    draft["state"] = state
    FORM.touch(context, draft)
    markup: InlineKeyboardMarkup | None = None
    if state == UNIT:
        async with context.session() as session:
            units = await activities.unit_choices(session)
        buttons = [
            InlineKeyboardButton(name, callback_data=f"aw:unit:{uid}") for uid, name in units
        ]
        markup = InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
        text = context.t("activity.ask.unit")
    elif state == KIND:
        assert context.actor is not None
        kinds = activities.kinds_for(context.actor, _setup(context))
        buttons = [
            InlineKeyboardButton(k.name, callback_data=f"aw:kind:{i}") for i, k in enumerate(kinds)
        ]
        markup = InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])
        text = context.t("activity.ask.kind")
    elif state == DATE:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.label("activity.today"), callback_data="aw:date:0"
                    ),
                    InlineKeyboardButton(
                        context.label("activity.yesterday"), callback_data="aw:date:1"
                    ),
                ]
            ]
        )
        text = context.t("activity.ask.date")
    elif state == TEXT:
        text = (
            context.t(f"activity.ask.text.{draft['kind']}")
            if draft["kind"] in activities.DEFAULT_ACTIVITIES
            else context.t("activity.ask.text.other")
        )
    elif state == AMOUNT:
        text = context.t("activity.ask.amount")
    elif state == LEAD:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(context.label("activity.skip"), callback_data="aw:lead:skip")]]
        )
        text = context.t("activity.ask.lead")
    elif state == FILES:
        files = draft.get("files") or []
        needs = _choice(context, draft).needs_file
        row = (
            [InlineKeyboardButton(context.label("activity.done"), callback_data="aw:files:done")]
            if files or not needs
            else []
        )
        if not needs and not files:
            row = [
                InlineKeyboardButton(context.label("activity.skip"), callback_data="aw:files:done")
            ]
        markup = InlineKeyboardMarkup([row]) if row else None
        text = context.t(
            "activity.ask.trip_report" if needs else "activity.ask.files", count=len(files)
        )
    else:  # REASON
        text = context.t("activity.ask.reason", code=activities_code(draft.get("reject_id", 0)))
    if prefix:
        text = prefix + "\n\n" + text
    await reply(update, text, markup)
    return state


def activities_code(activity_id: int) -> str:
    return activities.activity_code(int(activity_id))


def _next_state(context: LeadbotContext, draft: dict[str, Any], after: int) -> int:
    """The question after ``after``, skipping the ones this kind does not need."""
    choice = _choice(context, draft)
    order = [DATE, TEXT, AMOUNT, LEAD, FILES, SUMMARY]
    for state in order[order.index(after) + 1 :]:
        if state == TEXT and draft.get("text"):
            continue
        if state == AMOUNT and not choice.needs_amount:
            continue
        if state == LEAD and not choice.may_link_lead:
            continue
        return state
    return SUMMARY


async def _advance(
    update: Update,
    context: LeadbotContext,
    draft: dict[str, Any],
    after: int,
    prefix: Html | None = None,
) -> int:
    if draft.get("editing"):
        draft["editing"] = False
        return await show_summary(update, context, draft, prefix)
    state = _next_state(context, draft, after)
    if state == SUMMARY:
        return await show_summary(update, context, draft, prefix)
    return await ask(update, context, state, draft, prefix)


# --- entry ------------------------------------------------------------------------------------


@requires(private=True)
async def start_form(update: Update, context: LeadbotContext) -> int | None:
    actor = context.actor
    assert actor is not None
    draft: dict[str, Any] = {"files": []}
    context.user_data[KEY] = draft  # type: ignore[index]
    if actor.is_leader:
        return await ask(update, context, UNIT, draft, context.t("activity.intro_leader"))
    if actor.unit_id is None:
        context.user_data.pop(KEY, None)  # type: ignore[union-attr]
        await reply(update, context.t("activity.no_unit"))
        return ConversationHandler.END
    draft["unit_id"] = actor.unit_id
    return await ask(
        update, context, KIND, draft, context.t("activity.intro", unit=actor.unit_name or "")
    )


# --- answers ------------------------------------------------------------------------------------

Pressed = Callable[[Update, LeadbotContext, dict[str, Any], str, str], Awaitable[int]]
BUTTON_STATES = {
    "unit": {UNIT},
    "kind": {KIND},
    "date": {DATE},
    "lead": {LEAD},
    "files": {FILES},
    "sum": {SUMMARY},
}


def pressed(func: Pressed) -> Callable[[Update, LeadbotContext], Awaitable[int]]:
    """Expired form → end; a button of an older question → popup; else drop the keyboard and go."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: LeadbotContext) -> int:
        query = update.callback_query
        assert query is not None
        draft = FORM.draft(context)
        if draft is None or FORM.expired(context, draft):
            return await FORM.gone(update, context)
        parts = (query.data or "").split(":", 2)
        what, value = (parts + ["", ""])[1], (parts + ["", ""])[2]
        if draft.get("state") not in BUTTON_STATES.get(what, set()):
            await query.answer(context.label("fallback.stale_button"), show_alert=True)
            return int(draft.get("state", KIND))
        await query.answer()
        await query.edit_message_reply_markup(None)
        return await func(update, context, draft, what, value)

    return wrapper


@pressed
async def on_button(
    update: Update, context: LeadbotContext, draft: dict[str, Any], what: str, value: str
) -> int:
    assert context.actor is not None
    if what == "unit":
        draft["unit_id"] = int(value) if value.isdigit() else None
        return await ask(update, context, KIND, draft)
    if what == "kind":
        kinds = activities.kinds_for(context.actor, _setup(context))
        if not value.isdigit() or int(value) >= len(kinds):
            return await ask(update, context, KIND, draft, context.t("fallback.stale_button"))
        draft["kind"] = kinds[int(value)].kind
        return await ask(update, context, DATE, draft)
    if what == "date":
        draft["date"] = (_today(context) - timedelta(days=int(value or 0))).isoformat()
        return await _advance(update, context, draft, DATE)
    if what == "lead":
        draft["lead_id"] = None
        return await _advance(update, context, draft, LEAD)
    if what == "files":
        if _choice(context, draft).needs_file and not draft.get("files"):
            return await ask(
                update, context, FILES, draft, context.t("activity.trip_report_missing")
            )
        return await _advance(update, context, draft, FILES)
    if value == "save":
        return await save(update, context, draft)
    if value == "edit":  # answer the questions again, from the date on; the kind stays
        if not draft.get("origin_ref"):
            draft.pop("text", None)
        return await ask(update, context, DATE, draft)
    return await FORM.cancel(update, context)


async def on_text(update: Update, context: LeadbotContext) -> int:
    draft = FORM.draft(context)
    state = draft.get("state") if draft else None
    if draft is None or FORM.expired(context, draft) or state is None:
        return await FORM.gone(update, context)
    text = (update.effective_message.text or "") if update.effective_message else ""
    if state not in TEXT_STATES:
        return await ask(
            update,
            context,
            state,
            draft,
            context.t("activity.use_buttons" if state != FILES else "activity.send_file"),
        )
    try:
        if state == DATE:
            draft["date"] = activities.parse_date(text, _today(context)).isoformat()
        elif state == TEXT:
            draft["text"] = activities.clean_text(text)
        elif state == AMOUNT:
            draft["amount"] = str(activities.parse_amount(text))
        elif state == LEAD:
            lead_id = parse_lead_code(text)
            if lead_id is None:
                raise ServiceError("activity.bad_lead")
            draft["lead_id"] = lead_id
        elif state == REASON:
            return await _reject_with(update, context, draft, text)
    except ServiceError as err:
        return await ask(update, context, state, draft, context.error_text(err))
    return await _advance(update, context, draft, state)


async def on_file(update: Update, context: LeadbotContext) -> int:
    draft = FORM.draft(context)
    if draft is None or FORM.expired(context, draft):
        return await FORM.gone(update, context)
    if draft.get("state") != FILES:
        return await ask(
            update,
            context,
            int(draft.get("state", KIND)),
            draft,
            context.t("activity.no_file_here"),
        )
    msg = update.effective_message
    assert msg is not None
    files = draft.setdefault("files", [])
    if len(files) >= activities.MAX_FILES:
        return await ask(
            update,
            context,
            FILES,
            draft,
            context.t("activity.too_many_files", limit=activities.MAX_FILES),
        )
    if msg.document:
        files.append(
            {
                "file_id": msg.document.file_id,
                "kind": "document",
                "name": msg.document.file_name or "",
            }
        )
    elif msg.photo:
        files.append({"file_id": msg.photo[-1].file_id, "kind": "photo", "name": ""})
    return await ask(
        update, context, FILES, draft, context.t("activity.file_added", count=len(files))
    )


async def on_other(update: Update, context: LeadbotContext) -> int:
    draft = FORM.draft(context)
    if draft is None or FORM.expired(context, draft):
        return await FORM.gone(update, context)
    return await ask(
        update, context, int(draft.get("state", KIND)), draft, context.t("activity.use_buttons")
    )


# --- summary and save ---------------------------------------------------------------------------


def _summary(context: LeadbotContext, draft: dict[str, Any]) -> Html:
    setup = _setup(context)
    lines = [
        context.t(
            "activity.summary_line",
            label=context.label("activity.field.kind"),
            value=setup.rules.activities.get(draft["kind"], draft["kind"]),
        ),
        context.t(
            "activity.summary_line",
            label=context.label("activity.field.date"),
            value=draft.get("date") or "—",
        ),
        context.t(
            "activity.summary_line",
            label=context.label("activity.field.text"),
            value=draft.get("text") or "—",
        ),
    ]
    if draft.get("amount"):
        lines.append(
            context.t(
                "activity.summary_line",
                label=context.label("activity.field.amount"),
                value=_usd(context, Decimal(draft["amount"])),
            )
        )
    if draft.get("lead_id"):
        lines.append(
            context.t(
                "activity.summary_line",
                label=context.label("activity.field.lead"),
                value=f"L{int(draft['lead_id']):04d}",
            )
        )
    lines.append(
        context.t(
            "activity.summary_line",
            label=context.label("activity.field.files"),
            value=context.label("activity.files_count", count=len(draft.get("files") or [])),
        )
    )
    return context.t("activity.summary_title") + "\n" + Html("\n".join(lines))


def _usd(context: LeadbotContext, value: Decimal) -> str:
    return context.label("activity.usd", amount=f"{value.normalize():,f}")


async def show_summary(
    update: Update, context: LeadbotContext, draft: dict[str, Any], prefix: Html | None = None
) -> int:
    draft["state"] = SUMMARY
    FORM.touch(context, draft)
    text = _summary(context, draft)
    if prefix:
        text = prefix + "\n\n" + text
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(context.label("activity.save"), callback_data="aw:sum:save"),
                InlineKeyboardButton(context.label("activity.edit"), callback_data="aw:sum:edit"),
                InlineKeyboardButton(
                    context.label("activity.cancel"), callback_data="aw:sum:cancel"
                ),
            ]
        ]
    )
    await reply(update, text, markup)
    return SUMMARY


def to_draft(draft: dict[str, Any]) -> ActivityDraft:
    from datetime import date

    return ActivityDraft(
        kind=draft["kind"],
        on_date=date.fromisoformat(draft["date"]),
        text=draft.get("text") or "",
        amount_usd=Decimal(draft["amount"]) if draft.get("amount") else None,
        files=tuple(draft.get("files") or ()),
        unit_id=draft.get("unit_id"),
        lead_id=draft.get("lead_id"),
        origin_ref=draft.get("origin_ref"),
    )


async def save(update: Update, context: LeadbotContext, draft: dict[str, Any]) -> int:
    assert context.actor is not None
    try:
        async with context.session() as session:
            view = await activities.record_activity(
                session, context.now(), context.actor, to_draft(draft), _setup(context)
            )
    except ServiceError as err:
        return await show_summary(update, context, draft, context.error_text(err))
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    key = "activity.saved_verified" if view.review == "verified" else "activity.saved"
    await reply(update, context.t(key, code=view.code, kind=view.kind_name, unit=view.unit_name))
    return ConversationHandler.END


# --- reviews ----------------------------------------------------------------------------------


def _line(context: LeadbotContext, v: ActivityView) -> Html:
    return context.t(
        "activity.list_line",
        code=v.code,
        unit=v.unit_name,
        kind=v.kind_name,
        date=v.on_date.isoformat(),
        text=v.text if len(v.text) <= 40 else v.text[:39] + "…",
        review=context.label(f"activity.review.{v.review}"),
    )


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
        await reply(update, title + "\n" + Html("\n".join(_line(context, v) for v in views)))
        return
    await reply(update, title)
    for v in views:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.label("activity.button.verify"),
                        callback_data=f"ar:ok:{v.activity_id}",
                    ),
                    InlineKeyboardButton(
                        context.label("activity.button.reject"),
                        callback_data=f"ar:no:{v.activity_id}",
                    ),
                ]
            ]
        )
        await reply(update, _card(context, v), markup)


def _card(context: LeadbotContext, v: ActivityView) -> Html:
    lines = [_line(context, v)]
    if v.amount_usd:
        lines.append(context.t("activity.card.amount", amount=_usd(context, v.amount_usd)))
    if v.lead_code:
        lines.append(context.t("activity.card.lead", code=v.lead_code))
    if v.files:
        lines.append(context.t("activity.card.files", count=v.files))
    if v.reporter:
        lines.append(context.t("activity.card.reporter", name=v.reporter))
    return Html("\n".join(lines))


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
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    await reply(
        update, context.t("activity.verified", code=outcome.view.code, unit=outcome.view.unit_name)
    )
    await _notify(context, outcome, "activity.notify_verified")


@requires(leader=True)
async def reject_cmd(update: Update, context: LeadbotContext) -> None:
    activity_id, reason = _code_arg(context)
    if activity_id is None:
        await reply(update, context.t("activity.reject_usage"))
        return
    await _reject(update, context, activity_id, reason)


async def _reject(update: Update, context: LeadbotContext, activity_id: int, reason: str) -> bool:
    assert context.actor is not None
    try:
        async with context.session() as session:
            outcome = await activities.reject_activity(
                session, context.now(), context.actor, activity_id, reason, _setup(context)
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return err.code != "activity.reason_missing"
    await reply(
        update,
        context.t(
            "activity.rejected",
            code=outcome.view.code,
            unit=outcome.view.unit_name,
            reason=outcome.view.review_note or "",
        ),
    )
    await _notify(context, outcome, "activity.notify_rejected")
    return True


async def _notify(context: LeadbotContext, outcome: activities.ReviewOutcome, key: str) -> None:
    v = outcome.view
    for tg_id, locale in outcome.notify:
        text = catalog.t(
            key,
            locale or context.services.settings.locale,
            code=v.code,
            kind=v.kind_name,
            reason=v.review_note or "",
        )
        try:
            await context.bot.send_message(tg_id, text)
        except TelegramError as exc:
            log.info("activity review notice to %s not sent: %s", tg_id, exc)


async def on_review_button(update: Update, context: LeadbotContext) -> int | None:
    """[✅ 认定] works at once; [❌ 驳回] asks for the reason (the next message)."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    parts = (query.data or "").split(":")
    if actor is None or not actor.is_leader:
        await query.answer(context.label("access.leader_only"), show_alert=True)
        return None
    if len(parts) != 3 or not parts[2].isdigit():
        await query.answer(context.label("fallback.stale_button"), show_alert=True)
        return None
    await query.answer()
    activity_id = int(parts[2])
    if parts[1] == "ok":
        await query.edit_message_reply_markup(None)
        await _verify(update, context, activity_id)
        return ConversationHandler.END
    try:
        async with context.session() as session:
            await activities.check_reject(session, actor, activity_id)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return ConversationHandler.END
    await query.edit_message_reply_markup(None)
    draft = {"reject_id": activity_id, "files": []}
    context.user_data[KEY] = draft  # type: ignore[index]
    return await ask(update, context, REASON, draft)


async def _reject_with(
    update: Update, context: LeadbotContext, draft: dict[str, Any], text: str
) -> int:
    if not await _reject(update, context, int(draft["reject_id"]), text):
        return REASON  # no reason given: the error said so; ask again
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    return ConversationHandler.END


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
                        context.label("activity.button.trip"), callback_data=f"at:{trip.ref}"
                    )
                ]
            ]
        )
        await reply(update, text, markup)


@requires(private=True)
async def on_trip_button(update: Update, context: LeadbotContext) -> int | None:
    query = update.callback_query
    assert query is not None and context.actor is not None
    ref = (query.data or "")[3:]
    await query.answer()
    try:
        async with context.session() as session:
            trip = await activities.trip_from_plan(
                session, context.now(), context.actor, ref, _setup(context)
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return ConversationHandler.END
    await query.edit_message_reply_markup(None)
    text = context.label("activity.trip_text", destination=trip.destination, period=trip.period_key)
    draft = {
        "files": [],
        "kind": activities.TRIP,
        "unit_id": trip.unit_id,
        "text": text[: activities.TEXT_MAX],
        "origin_ref": trip.ref,
    }
    context.user_data[KEY] = draft  # type: ignore[index]
    return await ask(
        update, context, DATE, draft, context.t("activity.trip_intro", destination=trip.destination)
    )


# --- wiring ---------------------------------------------------------------------------------


def conversation() -> ConversationHandler:
    answers = [
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(filters.Document.ALL | filters.PHOTO, on_file),
        MessageHandler(~filters.COMMAND & ~filters.StatusUpdate.ALL, on_other),
        CallbackQueryHandler(on_button, pattern=r"^aw:"),
    ]
    private = filters.ChatType.PRIVATE
    warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
    return ExclusiveForm(
        entry_points=[
            CommandHandler("activity", start_form, filters=private),
            CommandHandler(
                "start", start_form, filters=private & filters.Regex(r"^/start activity$")
            ),
            CallbackQueryHandler(on_review_button, pattern=r"^ar:"),
            CallbackQueryHandler(on_trip_button, pattern=r"^at:trip:"),
        ],
        states=dict.fromkeys(
            (UNIT, KIND, DATE, TEXT, AMOUNT, LEAD, FILES, SUMMARY, REASON), answers
        ),
        fallbacks=[CommandHandler("cancel", FORM.cancel)],
        name="activity",
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list[Any]:
    return [
        conversation(),
        CommandHandler("activity", FORM.from_group, filters=filters.ChatType.GROUPS),
        CommandHandler("activities", list_cmd),
        CommandHandler("verify_activity", verify_cmd),
        CommandHandler("reject_activity", reject_cmd),
        CommandHandler("trips", trips_cmd),
    ]
