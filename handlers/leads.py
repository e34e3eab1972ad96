"""Leads after the report: /leads, /lead, /stage, /verify, /reject, /edit.

Multi-step questions (a stage note, a rejection reason, a field's new value) keep
one pending *prompt* in ``user_data`` -- plain JSON, written to the database after
every update -- so an answer typed after a restart, or to another instance,
still lands. The prompt's kind is its state (:data:`STAGE_NOTE`,
:data:`REJECT_REASON`, :data:`EDIT_VALUE`).

The prompt router runs in :data:`PROMPT_GROUP`, before the forms of group 0:
while a prompt waits, the next private message is its answer; any other command
leaves the prompt (``/cancel`` says so); a prompt idle longer than the form
timeout expires. Prompt buttons carry the prompt's nonce, so a button from an
older message is answered as stale.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import catalog
from bot.amounts import format_wan_human
from bot.catalog import Html
from bot.forms.buttons import (
    EditClear,
    EditDone,
    EditField,
    EditMenu,
    EditValue,
    LeadCard,
    LeadFiles,
    LeadList,
    PromptCancel,
    PromptSkip,
    RejectLead,
    StageChosen,
    StageMenu,
    VerifyLead,
)
from bot.forms.callbacks import decode, encode
from bot.services import ServiceError, lead_updates
from bot.services.lead_updates import (
    CHOICES,
    EditPrompt,
    LeadPage,
    LeadView,
    ReviewResult,
    StageChange,
)
from bot.services.leads import parse_code
from handlers.base import LeadbotContext, keyboard, reply, requires

log = logging.getLogger(__name__)

PROMPT = "lead_prompt"
PROMPT_GROUP = -2  # before the engine's forms (handlers.forms.GROUP) and group 0
STAGE_NOTE, REJECT_REASON, EDIT_VALUE = "stage_note", "reject_reason", "edit_value"
LIST_PROJECT_MAX = 30
_HINTS = {
    "tags": "tags",
    "industry": "choice",
    "origin": "choice",
    "channel": "choice",
    "amount_wan": "amount",
    "foreign_usd": "usd",
    "contact_phone": "phone",
}
# Errors that mean "type something else": the prompt stays and asks again.
_RETRY = (
    "leads.input.",
    "leads.amount.",
    "leads.edit.bad_choice",
    "leads.edit.required",
    "leads.edit.unchanged",
    "leads.edit.company_taken",
    "leads.review.reason_missing",
)


# --- small helpers ---------------------------------------------------------------------------


def _raw_args(update: Update) -> str:
    """The text after the command, line breaks kept (notes may have several lines)."""
    text = update.effective_message.text if update.effective_message else None
    parts = (text or "").split(None, 1)
    return parts[1].strip() if len(parts) == 2 else ""


def _pressed(update: Update, kind: type[Any]) -> Any:
    """The button's typed value when it is a ``kind``, else None (stale or forged)."""
    value = decode(update.callback_query.data if update.callback_query else None)
    return value if isinstance(value, kind) else None


def _when(context: LeadbotContext, when: datetime | None) -> str:
    return (
        when.astimezone(context.services.settings.zone).strftime("%Y-%m-%d %H:%M") if when else "—"
    )


def _usd(context: LeadbotContext, value: Decimal) -> str:
    return context.label("leads.usd", amount=f"{Decimal(value).normalize():,f}")


def _display(context: LeadbotContext, field: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return context.label("leads.card.none")
    if field == "amount_wan":
        return format_wan_human(Decimal(value), context.locale)
    if field == "foreign_usd":
        return _usd(context, Decimal(value))
    if field == "tags":
        return "、".join(value)
    return str(value)


async def _stale(update: Update, context: LeadbotContext) -> None:
    if update.callback_query:
        await update.callback_query.answer(context.label("fallback.stale_button"), show_alert=True)


async def _edit_or_reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Buttons change the message they sit on; commands get a new one."""
    query = update.callback_query
    if query is None or len(text) > 4000:
        await reply(update, text, markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _error(update: Update, context: LeadbotContext, err: ServiceError) -> None:
    if update.callback_query:
        await update.callback_query.answer()
    await reply(update, context.error_text(err))


def _view_button(context: LeadbotContext, lead_id: int) -> InlineKeyboardMarkup:
    return keyboard([[(context.label("leads.button.view"), encode(LeadCard(lead_id)))]])


# --- the pending prompt -------------------------------------------------------------------------


def _prompt(context: LeadbotContext) -> dict[str, Any] | None:
    """The waiting prompt; anything unreadable in its place is dropped."""
    data = context.user_data.get(PROMPT) if context.user_data is not None else None
    if data is None:
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    valid = kind in (STAGE_NOTE, REJECT_REASON, EDIT_VALUE) and isinstance(data.get("lead"), int)
    if not valid or (kind == EDIT_VALUE and data.get("field") not in lead_updates.FIELDS):
        _clear(context)
        return None
    return data


def _set_prompt(context: LeadbotContext, kind: str, lead_id: int, **values: Any) -> dict[str, Any]:
    prompt = {
        "kind": kind,
        "lead": lead_id,
        "nonce": secrets.token_hex(4),
        "at": context.now().isoformat(),
        **values,
    }
    context.user_data[PROMPT] = prompt  # type: ignore[index]
    return prompt


def _clear(context: LeadbotContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(PROMPT, None)


def _expired(context: LeadbotContext, prompt: dict[str, Any]) -> bool:
    limit = timedelta(minutes=context.services.settings.form_timeout_minutes)
    try:
        return context.now() - datetime.fromisoformat(prompt["at"]) > limit
    except (KeyError, TypeError, ValueError):
        return True


def _button_prompt(
    context: LeadbotContext, pressed: Any, kind: str | None = None
) -> dict[str, Any] | None:
    """The prompt a button (a decoded value with a ``nonce``) belongs to, or None when
    the button is from an older message."""
    prompt = _prompt(context)
    if (
        prompt is None
        or pressed is None
        or getattr(pressed, "nonce", None) != prompt.get("nonce")
        or _expired(context, prompt)
    ):
        return None
    return prompt if kind is None or prompt["kind"] == kind else None


def _prompt_view(
    context: LeadbotContext, prompt: dict[str, Any]
) -> tuple[Html, InlineKeyboardMarkup]:
    nonce = prompt["nonce"]
    cancel = (context.label("leads.button.cancel"), encode(PromptCancel(nonce)))
    if prompt["kind"] == STAGE_NOTE:
        text = context.t(
            "leads.stage.ask_note",
            code=prompt["code"],
            project=prompt["project"],
            current=prompt["from"],
            stage=prompt["to"],
        )
        return text, keyboard(
            [[(context.label("leads.button.skip"), encode(PromptSkip(nonce))), cancel]]
        )
    if prompt["kind"] == REJECT_REASON:
        return context.t(
            "leads.review.ask_reason", code=prompt["code"], project=prompt["project"]
        ), keyboard([[cancel]])
    return _edit_prompt_view(context, prompt)


def _edit_prompt_view(
    context: LeadbotContext, prompt: dict[str, Any]
) -> tuple[Html, InlineKeyboardMarkup]:
    field, nonce = prompt["field"], prompt["nonce"]
    text = (
        context.t(
            "leads.edit.ask",
            code=prompt["code"],
            field=context.label(f"leads.field.{field}"),
            current=prompt["current"],
        )
        + "\n"
        + context.t(f"leads.edit.hint.{_HINTS.get(field, 'text')}")
    )
    rows: list[list[tuple[str, str]]] = []
    options = list(getattr(context.services.settings, CHOICES[field])) if field in CHOICES else []
    chosen = set(prompt.get("tags") or [])
    buttons = [
        (("✅ " if name in chosen else "") + name, encode(EditValue(nonce, i)))
        for i, name in enumerate(options)
    ]
    rows += [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    tail = []
    if field == "tags":
        tail.append((context.label("leads.button.done"), encode(EditDone(nonce))))
    if prompt.get("optional"):
        tail.append((context.label("leads.button.clear"), encode(EditClear(nonce))))
    tail.append((context.label("leads.button.cancel"), encode(PromptCancel(nonce))))
    rows.append(tail)
    return text, keyboard(rows)


async def _ask(
    update: Update, context: LeadbotContext, prompt: dict[str, Any], prefix: Html | None = None
) -> None:
    text, markup = _prompt_view(context, prompt)
    await reply(update, (prefix + "\n\n" + text) if prefix else text, markup)


async def prompt_answer(update: Update, context: LeadbotContext) -> None:
    """PROMPT_GROUP: a private message while a prompt waits is its answer."""
    prompt = _prompt(context)
    if prompt is None:
        return
    if context.actor is None or not context.actor.is_member:
        _clear(context)
        return
    if _expired(context, prompt):
        _clear(context)
        await reply(update, context.t("leads.prompt.expired"))
        raise ApplicationHandlerStop
    text = update.effective_message.text if update.effective_message else None
    if not text:
        await _ask(update, context, prompt, context.t("leads.prompt.text_expected"))
        raise ApplicationHandlerStop
    await _finish(update, context, prompt, text)
    raise ApplicationHandlerStop


async def prompt_left(update: Update, context: LeadbotContext) -> None:
    """PROMPT_GROUP: another command leaves the prompt; /cancel also says so."""
    prompt = _prompt(context)
    if prompt is None:
        return
    _clear(context)
    text = update.effective_message.text if update.effective_message else ""
    command = (text or "").split(None, 1)[0].lstrip("/").split("@", 1)[0].lower() if text else ""
    if command == "cancel" and not _expired(context, prompt):
        await reply(update, context.t("leads.prompt.cancelled"))
        raise ApplicationHandlerStop


async def _finish(
    update: Update, context: LeadbotContext, prompt: dict[str, Any], value: Any
) -> None:
    """Apply the prompt's answer; a fixable error asks again, anything else ends it."""
    assert context.actor is not None
    settings, lead_id = context.services.settings, int(prompt["lead"])
    try:
        async with context.session() as session:
            if prompt["kind"] == STAGE_NOTE:
                result: Any = await lead_updates.move_stage(
                    session, context.now(), context.actor, lead_id, prompt["to"], value, settings
                )
            elif prompt["kind"] == REJECT_REASON:
                result = await lead_updates.reject_lead(
                    session, context.now(), context.actor, lead_id, value
                )
            else:
                result = await lead_updates.edit_lead(
                    session, context.now(), context.actor, lead_id, prompt["field"], value, settings
                )
    except ServiceError as err:
        if update.callback_query:
            await update.callback_query.answer()
        if err.code.startswith(_RETRY) and "nonce" in prompt:
            prompt["at"] = context.now().isoformat()
            await _ask(update, context, prompt, context.error_text(err))
        else:
            _clear(context)
            await reply(update, context.error_text(err))
        return
    _clear(context)
    if update.callback_query:
        await update.callback_query.answer()
    if prompt["kind"] == STAGE_NOTE:
        await _edit_or_reply(
            update, render_stage_change(context, result), _view_button(context, lead_id)
        )
    elif prompt["kind"] == REJECT_REASON:
        await _reviewed(update, context, result)
    else:
        text = context.t(
            "leads.edit.done",
            code=result.code,
            field=context.label(f"leads.field.{result.field}"),
            old=_display(context, result.field, result.old),
            new=_display(context, result.field, result.new),
        )
        await _edit_or_reply(update, text, _view_button(context, lead_id))


@requires(private=True)
async def prompt_cancelled(update: Update, context: LeadbotContext) -> None:
    if _button_prompt(context, _pressed(update, PromptCancel)) is None:
        await _stale(update, context)
        return
    _clear(context)
    await update.callback_query.answer()  # type: ignore[union-attr]
    await _edit_or_reply(update, context.t("leads.prompt.cancelled"))


# --- /leads ----------------------------------------------------------------------------------------


def render_list(context: LeadbotContext, page: LeadPage) -> tuple[Html, InlineKeyboardMarkup]:
    stages = context.services.settings.stages
    scope = context.label("leads.list.all_units") if page.all_units else (page.unit_name or "")
    text = context.t(
        "leads.list.header",
        scope=scope,
        stage=page.stage or context.label("leads.list.all_stages"),
        total=page.total,
        page=page.page + 1,
        pages=page.pages,
    )
    lines = []
    for row in page.rows:
        project = (
            row.project
            if len(row.project) <= LIST_PROJECT_MAX
            else row.project[: LIST_PROJECT_MAX - 1] + "…"
        )
        line = context.t(
            "leads.list.line_unit" if page.all_units else "leads.list.line",
            code=row.code,
            project=project,
            stage=row.stage,
            unit=row.unit_name,
        )
        if row.duplicate_of:
            line += context.t("leads.list.duplicate", first=row.duplicate_of)
        if row.review != "pending":
            line += context.t(f"leads.list.review.{row.review}")
        lines.append(line)
    body = Html("\n".join(lines)) if lines else context.t("leads.list.empty")
    s = str(stages.index(page.stage)) if page.stage in stages else "a"
    codes = [(row.code, encode(LeadCard(row.lead_id))) for row in page.rows]
    rows = [codes[i : i + 5] for i in range(0, len(codes), 5)]
    filters_ = [
        (
            ("✓ " if page.stage is None else "") + context.label("leads.list.all_stages"),
            encode(LeadList("a", 0)),
        )
    ]
    filters_ += [
        (("✓ " if stage == page.stage else "") + stage, encode(LeadList(str(i), 0)))
        for i, stage in enumerate(stages)
    ]
    rows += [filters_[i : i + 4] for i in range(0, len(filters_), 4)]
    nav = []
    if page.page > 0:
        nav.append((context.label("leads.button.prev"), encode(LeadList(s, page.page - 1))))
    if page.page < page.pages - 1:
        nav.append((context.label("leads.button.next"), encode(LeadList(s, page.page + 1))))
    if nav:
        rows.append(nav)
    return Html(text + "\n" + body), keyboard(rows)


async def _list(update: Update, context: LeadbotContext, stage: str | None, page: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            found = await lead_updates.browse(
                session, context.actor, context.services.settings, stage, page
            )
    except ServiceError as err:
        await _error(update, context, err)
        return
    text, markup = render_list(context, found)
    if update.callback_query:
        await update.callback_query.answer()
    await _edit_or_reply(update, text, markup)


@requires(private=True)
async def leads_command(update: Update, context: LeadbotContext) -> None:
    await _list(update, context, _raw_args(update) or None, 0)


@requires(private=True)
async def list_page(update: Update, context: LeadbotContext) -> None:
    query = update.callback_query
    assert query is not None
    pressed: LeadList | None = _pressed(update, LeadList)
    stages = context.services.settings.stages
    if pressed is None or not (
        pressed.stage == "a" or (pressed.stage.isdigit() and int(pressed.stage) < len(stages))
    ):
        await _stale(update, context)
        return
    stage = None if pressed.stage == "a" else stages[int(pressed.stage)]
    await _list(update, context, stage, min(pressed.page, 999_999))


# --- /lead: the card -----------------------------------------------------------------------------


def render_card(context: LeadbotContext, view: LeadView) -> Html:
    c = view.card
    lines = [context.t("leads.card.title", code=c.code, project=c.project)]
    if c.duplicate_of:
        lines.append(context.t("leads.card.duplicate", first=c.duplicate_of))
    lines.append(context.t("leads.card.unit_stage", unit=c.unit_name, stage=c.stage))
    if not c.full:
        lines.append(context.t("leads.card.outline"))
        return Html("\n".join(lines))
    show = lambda field, value: _display(context, field, value)  # noqa: E731
    lines += [
        context.t("leads.card.company", company=show("company", c.company)),
        context.t(
            "leads.card.industry",
            industry=show("industry", c.industry),
            origin=show("origin", c.origin),
        ),
        context.t("leads.card.amount", amount=show("amount_wan", c.amount_wan)),
        context.t("leads.card.foreign", amount=show("foreign_usd", c.foreign_usd)),
        context.t("leads.card.tags", tags=show("tags", list(c.tags))),
        context.t(
            "leads.card.contact",
            name=show("contact_name", c.contact_name),
            phone=show("contact_phone", c.contact_phone),
        ),
        context.t("leads.card.channel", channel=show("channel", c.channel)),
        context.t("leads.card.notes", notes=show("notes", c.notes)),
        context.t("leads.card.files", count=c.attachments),
        context.t(
            "leads.card.reported", reporter=c.reporter or "—", when=_when(context, c.reported_at)
        ),
    ]
    review = context.t(f"leads.review.state.{c.review or 'pending'}")
    if c.review_note:
        review = context.t("leads.card.review_note", state=review, note=c.review_note)
    lines.append(context.t("leads.card.review", review=review))
    return Html("\n".join(lines))


def card_keyboard(context: LeadbotContext, view: LeadView) -> InlineKeyboardMarkup | None:
    lead_id, rows = view.lead_id, []
    first = []
    if view.can_stage:
        first.append((context.label("leads.button.stage"), encode(StageMenu(lead_id))))
    if view.can_edit:
        first.append((context.label("leads.button.edit"), encode(EditMenu(lead_id))))
    if first:
        rows.append(first)
    if view.can_review:
        review = []
        if view.card.review != "verified":
            review.append((context.label("leads.button.verify"), encode(VerifyLead(lead_id))))
        if view.card.review != "rejected":
            review.append((context.label("leads.button.reject"), encode(RejectLead(lead_id))))
        rows.append(review)
    if view.card.full and view.card.attachments:
        rows.append(
            [
                (
                    context.label("leads.button.files", count=view.card.attachments),
                    encode(LeadFiles(lead_id)),
                )
            ]
        )
    return keyboard(rows) if rows else None


async def _card(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            view = await lead_updates.view_lead(session, context.actor, lead_id)
    except ServiceError as err:
        await _error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    await reply(update, render_card(context, view), card_keyboard(context, view))


def _lead_ref(args: str) -> int | None:
    return parse_code(args.split(None, 1)[0]) if args else None


@requires(private=True)
async def lead_command(update: Update, context: LeadbotContext) -> None:
    args = _raw_args(update)
    lead_id = _lead_ref(args)
    if lead_id is None:
        await reply(
            update, context.t("leads.usage.lead" if not args else "leads.bad_ref", ref=args[:20])
        )
        return
    await _card(update, context, lead_id)


@requires(private=True)
async def lead_by_code(update: Update, context: LeadbotContext) -> None:
    """A bare ``L0007`` (or ``l7``) typed in private chat, outside any form, opens the card."""
    lead_id = _lead_ref(update.effective_message.text or "" if update.effective_message else "")
    if lead_id is not None:
        await _card(update, context, lead_id)


@requires(private=True)
async def card_button(update: Update, context: LeadbotContext) -> None:
    pressed: LeadCard | None = _pressed(update, LeadCard)
    if pressed is None:
        await _stale(update, context)
        return
    await _card(update, context, pressed.lead)


@requires(private=True)
async def files_button(update: Update, context: LeadbotContext) -> None:
    """Send the lead's attachments again by their stored Telegram file ids."""
    query = update.callback_query
    pressed: LeadFiles | None = _pressed(update, LeadFiles)
    if query is None or pressed is None or update.effective_chat is None:
        await _stale(update, context)
        return
    assert context.actor is not None
    try:
        async with context.session() as session:
            files = await lead_updates.lead_files(session, context.actor, pressed.lead)
    except ServiceError as err:
        await _error(update, context, err)
        return
    await query.answer()
    failed = 0
    for f in files:
        try:
            if f.kind == "photo":
                await context.bot.send_photo(update.effective_chat.id, f.file_id)
            else:
                await context.bot.send_document(update.effective_chat.id, f.file_id)
        except BadRequest as exc:
            log.info("attachment of lead %s not sent again: %s", pressed.lead, exc)
            failed += 1
    if failed:
        await reply(update, context.t("leads.files.failed", failed=failed, total=len(files)))


# --- /stage -------------------------------------------------------------------------------------------


def render_stage_change(context: LeadbotContext, change: StageChange) -> Html:
    lines = [
        context.t(
            "leads.stage.moved",
            code=change.code,
            project=change.project,
            current=change.from_stage,
            stage=change.to_stage,
        )
    ]
    if change.skipped:
        lines.append(context.t("leads.stage.skipped", stages="、".join(change.skipped)))
    if change.backwards:
        lines.append(context.t("leads.stage.was_backwards"))
    if change.note:
        lines.append(context.t("leads.stage.note", note=change.note))
    return Html("\n".join(lines))


async def _stage_menu(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    settings = context.services.settings
    try:
        async with context.session() as session:
            menu = await lead_updates.stage_menu(session, context.actor, lead_id, settings)
    except ServiceError as err:
        await _error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    text = context.t("leads.stage.menu", code=menu.code, project=menu.project, current=menu.current)
    if menu.backwards_need_leader:
        text = Html(text + "\n" + context.t("leads.stage.backwards_hint"))
    buttons = [
        (stage, encode(StageChosen(lead_id, settings.stages.index(stage))))
        for stage in menu.choices
    ]
    if not buttons:
        await reply(update, Html(text + "\n" + context.t("leads.stage.last")))
        return
    await reply(update, text, keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)]))


async def _move_now(
    update: Update, context: LeadbotContext, lead_id: int, stage: str, note: str | None
) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            change = await lead_updates.move_stage(
                session,
                context.now(),
                context.actor,
                lead_id,
                stage,
                note,
                context.services.settings,
            )
    except ServiceError as err:
        await _error(update, context, err)
        return
    await reply(update, render_stage_change(context, change), _view_button(context, lead_id))


@requires(private=True)
async def stage_command(update: Update, context: LeadbotContext) -> None:
    """``/stage L0007`` shows the stages; ``/stage L0007 签约 备注…`` moves at once."""
    args = _raw_args(update)
    lead_id = _lead_ref(args)
    if lead_id is None:
        await reply(
            update, context.t("leads.usage.stage" if not args else "leads.bad_ref", ref=args[:20])
        )
        return
    words = args.split(None, 2)
    if len(words) == 1:
        await _stage_menu(update, context, lead_id)
        return
    await _move_now(update, context, lead_id, words[1], words[2] if len(words) > 2 else None)


@requires(private=True)
async def stage_menu_button(update: Update, context: LeadbotContext) -> None:
    pressed: StageMenu | None = _pressed(update, StageMenu)
    if pressed is None:
        await _stale(update, context)
        return
    await _stage_menu(update, context, pressed.lead)


@requires(private=True)
async def stage_chosen(update: Update, context: LeadbotContext) -> None:
    """A stage button: check now, then ask for the optional note."""
    pressed: StageChosen | None = _pressed(update, StageChosen)
    stages = context.services.settings.stages
    if pressed is None or pressed.stage >= len(stages):
        await _stale(update, context)
        return
    assert context.actor is not None
    lead_id, stage = pressed.lead, stages[pressed.stage]
    try:
        async with context.session() as session:
            ref = await lead_updates.check_stage(
                session, context.actor, lead_id, stage, context.services.settings
            )
    except ServiceError as err:
        await _error(update, context, err)
        return
    prompt = _set_prompt(
        context,
        STAGE_NOTE,
        lead_id,
        code=ref.code,
        project=ref.project,
        to=stage,
        **{"from": ref.stage},
    )
    await update.callback_query.answer()  # type: ignore[union-attr]
    text, markup = _prompt_view(context, prompt)
    await _edit_or_reply(update, text, markup)


@requires(private=True)
async def note_skipped(update: Update, context: LeadbotContext) -> None:
    prompt = _button_prompt(context, _pressed(update, PromptSkip), STAGE_NOTE)
    if prompt is None:
        await _stale(update, context)
        return
    await _finish(update, context, prompt, None)


# --- review ----------------------------------------------------------------------------------------------


async def _notify(context: LeadbotContext, result: ReviewResult) -> tuple[int, int]:
    """Tell the unit's members by private message; one blocked chat stops nobody else."""
    key = "leads.notify.verified" if result.review == "verified" else "leads.notify.rejected"
    sent = failed = 0
    for person in result.recipients:
        locale = person.locale or context.services.settings.locale
        text = catalog.t(
            key, locale, code=result.code, project=result.project, reason=result.note or ""
        )
        try:
            await context.bot.send_message(
                person.tg_user_id,
                text,
                reply_markup=keyboard(
                    [
                        [
                            (
                                catalog.plain("leads.button.view", locale),
                                encode(LeadCard(result.lead_id)),
                            )
                        ]
                    ]
                ),
            )
            sent += 1
        except TelegramError as exc:  # Forbidden (blocked the bot), BadRequest (chat not found), …
            log.info(
                "review notice for %s not delivered to %s: %s", result.code, person.tg_user_id, exc
            )
            failed += 1
    return sent, failed


async def _reviewed(update: Update, context: LeadbotContext, result: ReviewResult) -> None:
    sent, failed = await _notify(context, result)
    if result.review == "verified":
        lines = [
            context.t(
                "leads.review.verified",
                code=result.code,
                project=result.project,
                unit=result.unit_name,
            )
        ]
        if result.duplicate_of:
            lines.append(context.t("leads.review.now_duplicate", first=result.duplicate_of))
    else:
        lines = [
            context.t(
                "leads.review.rejected",
                code=result.code,
                project=result.project,
                reason=result.note or "",
            )
        ]
        if result.released:
            lines.append(context.t("leads.review.released"))
    lines.append(
        context.t("leads.review.notified", sent=sent)
        if not failed
        else context.t("leads.review.notified_some", sent=sent, failed=failed)
    )
    await reply(update, Html("\n".join(lines)), _view_button(context, result.lead_id))


async def _verify(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            result = await lead_updates.verify_lead(session, context.now(), context.actor, lead_id)
    except ServiceError as err:
        await _error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    await _reviewed(update, context, result)


async def _reject(update: Update, context: LeadbotContext, lead_id: int, reason: str) -> None:
    """With a reason: reject now. Without: ask for it (the prompt survives restarts)."""
    assert context.actor is not None
    if reason:
        await _finish(update, context, {"kind": REJECT_REASON, "lead": lead_id}, reason)
        return
    try:
        async with context.session() as session:
            ref = await lead_updates.check_reject(session, context.actor, lead_id)
    except ServiceError as err:
        await _error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    await _ask(
        update,
        context,
        _set_prompt(context, REJECT_REASON, lead_id, code=ref.code, project=ref.project),
    )


@requires(private=True)
async def verify_command(update: Update, context: LeadbotContext) -> None:
    args = _raw_args(update)
    lead_id = _lead_ref(args)
    if lead_id is None:
        await reply(
            update, context.t("leads.usage.verify" if not args else "leads.bad_ref", ref=args[:20])
        )
        return
    await _verify(update, context, lead_id)


@requires(private=True)
async def reject_command(update: Update, context: LeadbotContext) -> None:
    args = _raw_args(update)
    lead_id = _lead_ref(args)
    if lead_id is None:
        await reply(
            update, context.t("leads.usage.reject" if not args else "leads.bad_ref", ref=args[:20])
        )
        return
    parts = args.split(None, 1)
    await _reject(update, context, lead_id, parts[1] if len(parts) > 1 else "")


@requires(private=True)
async def review_button(update: Update, context: LeadbotContext) -> None:
    pressed = decode(update.callback_query.data if update.callback_query else None)
    if isinstance(pressed, VerifyLead):
        await _verify(update, context, pressed.lead)
    elif isinstance(pressed, RejectLead):
        await _reject(update, context, pressed.lead, "")
    else:
        await _stale(update, context)


# --- /edit ---------------------------------------------------------------------------------------------------


async def _edit_menu(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            menu = await lead_updates.edit_menu(session, context.actor, lead_id)
    except ServiceError as err:
        await _error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    buttons = [
        (context.label(f"leads.field.{f}"), encode(EditField(lead_id, i)))
        for i, f in enumerate(menu.fields)
    ]
    await reply(
        update,
        context.t("leads.edit.menu", code=menu.code, project=menu.project),
        keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)]),
    )


@requires(private=True)
async def edit_command(update: Update, context: LeadbotContext) -> None:
    args = _raw_args(update)
    lead_id = _lead_ref(args)
    if lead_id is None:
        await reply(
            update, context.t("leads.usage.edit" if not args else "leads.bad_ref", ref=args[:20])
        )
        return
    await _edit_menu(update, context, lead_id)


@requires(private=True)
async def edit_menu_button(update: Update, context: LeadbotContext) -> None:
    pressed: EditMenu | None = _pressed(update, EditMenu)
    if pressed is None:
        await _stale(update, context)
        return
    await _edit_menu(update, context, pressed.lead)


@requires(private=True)
async def edit_field_chosen(update: Update, context: LeadbotContext) -> None:
    pressed: EditField | None = _pressed(update, EditField)
    if pressed is None or pressed.field >= len(lead_updates.FIELDS):
        await _stale(update, context)
        return
    assert context.actor is not None
    field = lead_updates.FIELDS[pressed.field]
    try:
        async with context.session() as session:
            found: EditPrompt = await lead_updates.start_edit(
                session, context.actor, pressed.lead, field, context.services.settings
            )
    except ServiceError as err:
        await _error(update, context, err)
        return
    extra = {"tags": list(found.current or [])} if field == "tags" else {}
    prompt = _set_prompt(
        context,
        EDIT_VALUE,
        found.lead_id,
        code=found.code,
        field=field,
        optional=found.optional,
        current=_display(context, field, found.current),
        **extra,
    )
    await update.callback_query.answer()  # type: ignore[union-attr]
    text, markup = _prompt_view(context, prompt)
    await _edit_or_reply(update, text, markup)


@requires(private=True)
async def edit_value_chosen(update: Update, context: LeadbotContext) -> None:
    """A choice button; for tags it toggles and the message shows the new selection."""
    query = update.callback_query
    pressed: EditValue | None = _pressed(update, EditValue)
    prompt = _button_prompt(context, pressed, EDIT_VALUE)
    field = prompt.get("field") if prompt else None
    options = list(getattr(context.services.settings, CHOICES[field])) if field in CHOICES else []
    if query is None or prompt is None or pressed is None or pressed.option >= len(options):
        await _stale(update, context)
        return
    chosen = options[pressed.option]
    if prompt["field"] != "tags":
        await _finish(update, context, prompt, chosen)
        return
    tags = set(prompt.get("tags") or [])
    tags.symmetric_difference_update({chosen})
    prompt["tags"], prompt["at"] = [t for t in options if t in tags], context.now().isoformat()
    await query.answer()
    text, markup = _prompt_view(context, prompt)
    await _edit_or_reply(update, text, markup)


@requires(private=True)
async def edit_tags_done(update: Update, context: LeadbotContext) -> None:
    prompt = _button_prompt(context, _pressed(update, EditDone), EDIT_VALUE)
    if prompt is None or prompt.get("field") != "tags":
        await _stale(update, context)
        return
    await _finish(update, context, prompt, list(prompt.get("tags") or []))


@requires(private=True)
async def edit_cleared(update: Update, context: LeadbotContext) -> None:
    prompt = _button_prompt(context, _pressed(update, EditClear), EDIT_VALUE)
    if prompt is None:
        await _stale(update, context)
        return
    await _finish(update, context, prompt, None)


# --- wiring ------------------------------------------------------------------------------------------------------


def handlers() -> list:
    """Group 0, before the fallbacks."""
    return [
        CommandHandler("leads", leads_command),
        CommandHandler("lead", lead_command),
        CommandHandler("stage", stage_command),
        CommandHandler("verify", verify_command),
        CommandHandler("reject", reject_command),
        CommandHandler("edit", edit_command),
        MessageHandler(
            filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE
            & filters.Regex(r"^\s*[Ll]\d{1,9}\s*$"),
            lead_by_code,
        ),
        CallbackQueryHandler(list_page, pattern=r"^lb:ls:"),
        CallbackQueryHandler(card_button, pattern=r"^lb:c:"),
        CallbackQueryHandler(files_button, pattern=r"^lb:f:"),
        CallbackQueryHandler(stage_menu_button, pattern=r"^lb:sm:"),
        CallbackQueryHandler(stage_chosen, pattern=r"^lb:sg:"),
        CallbackQueryHandler(note_skipped, pattern=r"^lb:sk:"),
        CallbackQueryHandler(prompt_cancelled, pattern=r"^lb:x:"),
        CallbackQueryHandler(review_button, pattern=r"^lb:[vr]:"),
        CallbackQueryHandler(edit_menu_button, pattern=r"^lb:em:"),
        CallbackQueryHandler(edit_field_chosen, pattern=r"^lb:ef:"),
        CallbackQueryHandler(edit_value_chosen, pattern=r"^lb:ev:"),
        CallbackQueryHandler(edit_tags_done, pattern=r"^lb:ed:"),
        CallbackQueryHandler(edit_cleared, pattern=r"^lb:ec:"),
    ]


def prompt_handlers() -> list:
    """:data:`PROMPT_GROUP`: answers to a waiting prompt, and leaving it."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        MessageHandler(private & filters.COMMAND, prompt_left),
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, prompt_answer),
    ]
