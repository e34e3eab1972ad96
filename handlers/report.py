"""``/report``: the guided lead form, one question at a time, from a phone.

The form is a persistent ConversationHandler; its draft lives in ``user_data``
(JSON only), which the database persistence writes after every update, so a
restart or another instance continues where the liaison was. Idle forms are
expired by our own clock (PTB's conversation timeout is not persisted).

The steps are a table (:data:`STEPS`): one generic text handler and one generic
button handler serve them, so every step validates and re-asks the same way.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.amounts import AmountError, format_wan_human, parse_usd, parse_wan
from bot.catalog import Html
from bot.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    FieldError,
    clean_line,
    parse_phone,
)
from bot.services import ServiceError
from bot.services.leads import LeadDraft, check_company, report_lead
from handlers.base import LeadbotContext, reply, requires
from handlers.forms import ExclusiveForm, FormKit

log = logging.getLogger(__name__)

KEY = "report"
MAX_FILES = 10

# States: one per question, plus the near-match question, the summary and the field picker.
(
    PROJECT,
    COMPANY,
    INDUSTRY,
    AMOUNT,
    ORIGIN,
    STAGE,
    TAGS,
    FOREIGN,
    CONTACT,
    PHONE,
    CHANNEL,
    NOTES,
    FILES,
    NEAR,
    SUMMARY,
    PICK,
) = range(16)


@dataclass(frozen=True)
class Step:
    state: int
    field: str
    kind: str  # text | choice | tags | amount | usd | phone | notes | files
    optional: bool = False
    limit: int = 0
    options: str = ""  # settings attribute holding the choices


STEPS: list[Step] = [
    Step(PROJECT, "project", "text", limit=PROJECT_MAX),
    Step(COMPANY, "company", "text", limit=COMPANY_MAX),
    Step(INDUSTRY, "industry", "choice", options="industries"),
    Step(AMOUNT, "amount", "amount"),
    Step(ORIGIN, "origin", "choice", options="origins"),
    Step(STAGE, "stage", "choice", options="stages"),
    Step(TAGS, "tags", "tags", optional=True, options="tags"),
    Step(FOREIGN, "foreign", "usd", optional=True),
    Step(CONTACT, "contact", "text", optional=True, limit=CONTACT_MAX),
    Step(PHONE, "phone", "phone", optional=True),
    Step(CHANNEL, "channel", "choice", optional=True, options="channels"),
    Step(NOTES, "notes", "notes", optional=True, limit=NOTES_MAX),
    Step(FILES, "files", "files", optional=True),
]
BY_STATE = {s.state: s for s in STEPS}
BY_FIELD = {s.field: s for s in STEPS}


# --- draft bookkeeping: shared with every form -----------------------------------------------

FORM = FormKit(KEY)


# --- asking ------------------------------------------------------------------------


def _choices(context: LeadbotContext, step: Step) -> list[str]:
    return list(getattr(context.services.settings, step.options)) if step.options else []


def _step_markup(
    context: LeadbotContext, step: Step, draft: dict[str, Any]
) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    if step.kind in ("choice", "tags"):
        chosen = set(draft.get("tags", [])) if step.kind == "tags" else set()
        buttons = [
            InlineKeyboardButton(
                ("✅ " if name in chosen else "") + name, callback_data=f"rp:{step.field}:{i}"
            )
            for i, name in enumerate(_choices(context, step))
        ]
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    tail = []
    if step.kind in ("tags", "files"):
        tail.append(
            InlineKeyboardButton(
                context.label("report.done"), callback_data=f"rp:{step.field}:done"
            )
        )
    if step.optional:
        tail.append(
            InlineKeyboardButton(
                context.label("report.skip"), callback_data=f"rp:{step.field}:skip"
            )
        )
    if tail:
        rows.append(tail)
    return InlineKeyboardMarkup(rows) if rows else None


async def ask(
    update: Update,
    context: LeadbotContext,
    step: Step,
    draft: dict[str, Any],
    prefix: Html | None = None,
) -> int:
    draft["state"] = step.state
    number = STEPS.index(step) + 1
    text = (
        context.t("report.progress", n=number, total=len(STEPS))
        + "\n"
        + context.t(f"report.ask.{step.field}")
    )
    if prefix:
        text = prefix + "\n\n" + text
    await reply(update, text, _step_markup(context, step, draft))
    return step.state


async def _next(
    update: Update,
    context: LeadbotContext,
    step: Step,
    draft: dict[str, Any],
    prefix: Html | None = None,
) -> int:
    """After a valid answer: back to the summary when editing, else the next question."""
    FORM.touch(context, draft)
    if draft.get("editing"):
        draft["editing"] = False
        return await show_summary(update, context, draft, prefix)
    index = STEPS.index(step) + 1
    if index >= len(STEPS):
        return await show_summary(update, context, draft, prefix)
    return await ask(update, context, STEPS[index], draft, prefix)


# --- entry and exit ------------------------------------------------------------------


@requires(private=True)
async def start_form(update: Update, context: LeadbotContext) -> int | None:
    actor = context.actor
    assert actor is not None
    if actor.unit_id is None:
        await reply(update, context.t("report.no_unit"))
        return ConversationHandler.END
    draft: dict[str, Any] = {"tags": [], "files": []}
    FORM.touch(context, draft)
    context.user_data[KEY] = draft  # type: ignore[index]
    return await ask(
        update, context, STEPS[0], draft, context.t("report.intro", unit=actor.unit_name or "")
    )


# --- answers ---------------------------------------------------------------------------

Pressed = Callable[[Update, LeadbotContext, dict[str, Any], str], Awaitable[int]]


def pressed(
    expected: Callable[[str], set[int]],
) -> Callable[[Pressed], Callable[[Update, LeadbotContext], Awaitable[int]]]:
    """What every button of the form does first: an expired form ends, a button
    from an older question is refused with a popup, a live one loses its keyboard
    (so it cannot be pressed twice). ``expected`` maps the button's data to the
    states in which it is valid."""

    def deco(func: Pressed) -> Callable[[Update, LeadbotContext], Awaitable[int]]:
        @functools.wraps(func)
        async def wrapper(update: Update, context: LeadbotContext) -> int:
            query = update.callback_query
            assert query is not None
            draft = FORM.draft(context)
            if draft is None or FORM.expired(context, draft):
                return await FORM.gone(update, context)
            data = (query.data or "").partition(":")[2]
            if draft.get("state") not in expected(data):
                await query.answer(context.label("fallback.stale_button"), show_alert=True)
                return int(draft.get("state", PROJECT))
            await query.answer()
            await query.edit_message_reply_markup(None)
            return await func(update, context, draft, data)

        return wrapper

    return deco


def _field_state(data: str) -> set[int]:
    step = BY_FIELD.get(data.partition(":")[0])
    return {step.state} if step else set()


def parse_answer(context: LeadbotContext, step: Step, text: str) -> Any:
    """Turn typed text into the stored value, or raise FieldError/AmountError."""
    if step.kind == "amount":
        return str(parse_wan(text))
    if step.kind == "usd":
        return str(parse_usd(text))
    if step.kind == "phone":
        return parse_phone(text)
    if step.kind == "choice":
        value = clean_line(text, 40)
        if value not in _choices(context, step):
            raise FieldError("report.pick_button")
        return value
    if step.kind in ("tags", "files"):
        raise FieldError("report.pick_button" if step.kind == "tags" else "report.send_file")
    return clean_line(text, step.limit, multiline=step.kind == "notes")


async def on_text(update: Update, context: LeadbotContext) -> int:
    draft = FORM.draft(context)
    state = draft.get("state") if draft else None
    if draft is None or FORM.expired(context, draft) or state not in BY_STATE:
        return await FORM.gone(update, context)
    step = BY_STATE[state]
    text = update.effective_message.text or "" if update.effective_message else ""
    try:
        draft[step.field] = parse_answer(context, step, text)
    except AmountError as err:
        return await ask(update, context, step, draft, context.t(f"report.amount.{err.code}"))
    except FieldError as err:
        return await ask(update, context, step, draft, context.t(err.code, **err.params))
    if step.field == "company":
        return await _after_company(update, context, draft)
    return await _next(update, context, step, draft)


async def on_other(update: Update, context: LeadbotContext) -> int:
    """A sticker, photo or voice where text is expected: explain, ask again."""
    draft = FORM.draft(context)
    state = draft.get("state") if draft else None
    if draft is None or FORM.expired(context, draft) or state not in BY_STATE:
        return await FORM.gone(update, context)
    return await ask(update, context, BY_STATE[state], draft, context.t("report.text_expected"))


@pressed(_field_state)
async def on_button(
    update: Update, context: LeadbotContext, draft: dict[str, Any], data: str
) -> int:
    field, _, value = data.partition(":")
    step = BY_FIELD[field]
    if value == "skip":
        draft[field] = [] if step.kind in ("tags", "files") else None
        return await _next(update, context, step, draft)
    if value == "done":
        return await _next(update, context, step, draft)
    options = _choices(context, step)
    if not value.isdigit() or int(value) >= len(options):
        return await ask(update, context, step, draft, context.t("fallback.stale_button"))
    chosen = options[int(value)]
    if step.kind == "tags":
        tags = set(draft.get("tags", []))
        tags.symmetric_difference_update({chosen})
        draft["tags"] = [t for t in options if t in tags]
        FORM.touch(context, draft)
        return await ask(update, context, step, draft)
    draft[field] = chosen
    return await _next(update, context, step, draft)


async def on_file(update: Update, context: LeadbotContext) -> int:
    draft = FORM.draft(context)
    if draft is None or FORM.expired(context, draft) or draft.get("state") != FILES:
        return await on_other(update, context)
    msg = update.effective_message
    assert msg is not None
    files = draft.setdefault("files", [])
    if len(files) >= MAX_FILES:
        return await ask(
            update,
            context,
            BY_STATE[FILES],
            draft,
            context.t("report.too_many_files", limit=MAX_FILES),
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
    FORM.touch(context, draft)
    return await ask(
        update, context, BY_STATE[FILES], draft, context.t("report.file_added", count=len(files))
    )


# --- first report wins: checked as soon as the company is known -------------------------


async def _after_company(update: Update, context: LeadbotContext, draft: dict[str, Any]) -> int:
    settings = context.services.settings
    async with context.session() as session:
        check = await check_company(
            session, context.services.directory, draft["company"], settings.near_match_threshold
        )
    draft.pop("same_as", None)
    step = BY_FIELD["company"]
    if check.exact is not None:
        first = check.exact
        note = context.t(
            "report.already_first",
            unit=first.unit_name,
            date=_date(context, first.reported_at),
            first=first.code,
        )
        return await _next(update, context, step, draft, note)
    if not check.near:
        return await _next(update, context, step, draft)
    draft["state"] = NEAR
    lines = [
        context.t(
            "report.near_line", code=c.code, project=c.project, company=c.company, unit=c.unit_name
        )
        for c in check.near
    ]
    buttons = [
        [
            InlineKeyboardButton(
                context.label("report.near_same", code=c.code), callback_data=f"rn:{c.lead_id}"
            )
        ]
        for c in check.near
    ]
    buttons.append(
        [InlineKeyboardButton(context.label("report.near_different"), callback_data="rn:no")]
    )
    await reply(
        update,
        context.t("report.near_question") + "\n" + Html("\n".join(lines)),
        InlineKeyboardMarkup(buttons),
    )
    return NEAR


@pressed(lambda data: {NEAR})
async def on_near(
    update: Update, context: LeadbotContext, draft: dict[str, Any], choice: str
) -> int:
    prefix = None
    if choice.isdigit():
        draft["same_as"] = int(choice)
        prefix = context.t("report.near_marked")
    return await _next(update, context, BY_FIELD["company"], draft, prefix)


def _date(context: LeadbotContext, when: datetime) -> str:
    local = when.astimezone(context.services.settings.zone)
    return context.label("report.date", month=local.month, day=local.day)


# --- summary, edit, save -------------------------------------------------------------------


def _value(context: LeadbotContext, draft: dict[str, Any], field: str) -> str:
    value = draft.get(field)
    if value in (None, "", []):
        return context.label("report.none")
    if field == "amount":
        return format_wan_human(Decimal(value), context.locale)
    if field == "foreign":
        return context.label("report.usd", amount=f"{Decimal(value):,}")
    if field == "tags":
        return "、".join(value)
    if field == "files":
        return context.label("report.files_count", count=len(value))
    return str(value)


async def show_summary(
    update: Update, context: LeadbotContext, draft: dict[str, Any], prefix: Html | None = None
) -> int:
    draft["state"] = SUMMARY
    lines = [
        context.t(
            "report.summary_line",
            label=context.label(f"report.field.{s.field}"),
            value=_value(context, draft, s.field),
        )
        for s in STEPS
    ]
    if draft.get("same_as"):
        lines.append(context.t("report.summary_same_as"))
    text = context.t("report.summary_title") + "\n" + Html("\n".join(lines))
    if prefix:
        text = prefix + "\n\n" + text
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(context.label("report.save"), callback_data="rs:save"),
                InlineKeyboardButton(context.label("report.edit"), callback_data="rs:edit"),
                InlineKeyboardButton(context.label("report.cancel"), callback_data="rs:cancel"),
            ]
        ]
    )
    await reply(update, text, markup)
    return SUMMARY


@pressed(lambda action: {SUMMARY, PICK} if action in ("save", "edit", "cancel") else set())
async def on_summary(
    update: Update, context: LeadbotContext, draft: dict[str, Any], action: str
) -> int:
    if action == "cancel":
        return await FORM.cancel(update, context)
    if action == "edit":
        draft["state"] = PICK
        buttons = [
            InlineKeyboardButton(
                context.label(f"report.field.{s.field}"), callback_data=f"re:{s.field}"
            )
            for s in STEPS
        ]
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
        await reply(update, context.t("report.pick_field"), InlineKeyboardMarkup(rows))
        return PICK
    return await save(update, context, draft)


@pressed(lambda field: {PICK} if field in BY_FIELD else set())
async def on_pick(
    update: Update, context: LeadbotContext, draft: dict[str, Any], field: str
) -> int:
    draft["editing"] = True
    return await ask(update, context, BY_FIELD[field], draft)


def to_lead_draft(draft: dict[str, Any]) -> LeadDraft:
    return LeadDraft(
        project=draft.get("project") or "",
        company=draft.get("company") or "",
        industry=draft.get("industry") or "",
        amount_wan=Decimal(draft.get("amount") or "0"),
        origin=draft.get("origin") or "",
        stage=draft.get("stage") or "",
        tags=tuple(draft.get("tags") or ()),
        foreign_usd=Decimal(draft["foreign"]) if draft.get("foreign") else None,
        contact_name=draft.get("contact"),
        contact_phone=draft.get("phone"),
        channel=draft.get("channel"),
        notes=draft.get("notes"),
        attachments=tuple(draft.get("files") or ()),
        same_as=draft.get("same_as"),
    )


async def save(update: Update, context: LeadbotContext, draft: dict[str, Any]) -> int:
    missing = [s for s in STEPS if not s.optional and not draft.get(s.field)]
    if missing:
        return await ask(update, context, missing[0], draft, context.t("report.missing"))
    assert context.actor is not None
    try:
        async with context.session() as session:
            result = await report_lead(
                session,
                context.now(),
                context.actor,
                to_lead_draft(draft),
                context.services.settings,
            )
    except ServiceError as err:
        return await show_summary(update, context, draft, context.error_text(err))
    context.user_data.pop(KEY, None)  # type: ignore[union-attr]
    if result.first is None:
        await reply(update, context.t("report.saved", code=result.code, unit=result.unit_name))
    else:
        first = result.first
        await reply(
            update,
            context.t(
                "report.saved_duplicate",
                code=result.code,
                unit=first.unit_name,
                date=_date(context, first.reported_at),
                first=first.code,
            ),
        )
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    answers = [
        MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(filters.Document.ALL | filters.PHOTO, on_file),
        MessageHandler(~filters.COMMAND & ~filters.StatusUpdate.ALL, on_other),
        CallbackQueryHandler(on_button, pattern=r"^rp:"),
        CallbackQueryHandler(on_near, pattern=r"^rn:"),
        CallbackQueryHandler(on_summary, pattern=r"^rs:"),
        CallbackQueryHandler(on_pick, pattern=r"^re:"),
    ]
    private = filters.ChatType.PRIVATE
    # Tracked per chat and user on purpose (one form per person), so PTB's
    # per_message advice does not apply.
    warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
    return ExclusiveForm(
        entry_points=[
            CommandHandler("report", start_form, filters=private),
            CommandHandler(
                "start", start_form, filters=private & filters.Regex(r"^/start report$")
            ),
        ],
        states=dict.fromkeys([*BY_STATE, NEAR, SUMMARY, PICK], answers),
        fallbacks=[CommandHandler("cancel", FORM.cancel)],
        name="report",
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list:
    return [
        conversation(),
        CommandHandler("report", FORM.from_group, filters=filters.ChatType.GROUPS),
    ]
