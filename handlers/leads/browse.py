"""Browsing leads: ``/leads`` (a list, paged and filtered by stage in one message),
``/lead L0007`` or a bare ``L0007`` (the card, by role), and the attachments again."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest

from bot.catalog import Html
from bot.forms.buttons import (
    ConfirmNode,
    EditMenu,
    LeadCard,
    LeadFiles,
    LeadList,
    RejectLead,
    StageMenu,
    VerifyLead,
)
from bot.forms.callbacks import encode
from bot.services import ServiceError, attachments, lead_updates
from bot.services.lead_updates import LeadPage, LeadView
from handlers.base import LeadbotContext, keyboard, reply, requires
from handlers.leads.common import (
    button_value,
    display,
    edit_or_reply,
    error,
    lead_ref,
    raw_args,
    stale,
    usage,
)

log = logging.getLogger(__name__)

LIST_PROJECT_MAX = 30


def _when(context: LeadbotContext, when: datetime | None) -> str:
    return (
        when.astimezone(context.services.settings.zone).strftime("%Y-%m-%d %H:%M") if when else "—"
    )


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
            line = Html(line + context.t("leads.list.duplicate", first=row.duplicate_of))
        if row.review != "pending":
            line = Html(line + context.t(f"leads.list.review.{row.review}"))
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
        await error(update, context, err)
        return
    text, markup = render_list(context, found)
    if update.callback_query:
        await update.callback_query.answer()
    await edit_or_reply(update, text, markup)


@requires(private=True)
async def leads_command(update: Update, context: LeadbotContext) -> None:
    await _list(update, context, raw_args(update) or None, 0)


@requires(private=True)
async def list_page(update: Update, context: LeadbotContext) -> None:
    query = update.callback_query
    assert query is not None
    pressed: LeadList | None = button_value(update, LeadList)
    stages = context.services.settings.stages
    if pressed is None or not (
        pressed.stage == "a" or (pressed.stage.isdigit() and int(pressed.stage) < len(stages))
    ):
        await stale(update, context)
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
    show = lambda field, value: display(context, field, value)  # noqa: E731
    lines += [
        context.t("leads.card.company", company=show("company", c.company)),
        context.t("leads.card.credit_code", code=show("credit_code", c.credit_code)),
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
    if view.nodes:  # 逐节点认定: what is confirmed and what waits
        words = [
            context.label("leads.card.node_done" if done else "leads.card.node_waiting", stage=s)
            for s, done in view.nodes
        ]
        lines.append(context.t("leads.card.nodes", nodes="、".join(words)))
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
        if context.services.scoring.rules.confirm_stages:
            review.append(
                (context.label("leads.button.confirm"), encode(ConfirmNode(lead_id)))
            )  # 逐节点认定
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
            view = await lead_updates.view_lead(
                session,
                context.actor,
                lead_id,
                context.services.settings.stages,
                context.services.scoring.rules.confirm_stages,
            )
    except ServiceError as err:
        await error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    await reply(update, render_card(context, view), card_keyboard(context, view))


@requires(private=True)
async def lead_command(update: Update, context: LeadbotContext) -> None:
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "lead", args)
        return
    await _card(update, context, lead_id)


@requires(private=True)
async def lead_by_code(update: Update, context: LeadbotContext) -> None:
    """A bare ``L0007`` (or ``l7``) typed in private chat, outside any form, opens the card."""
    lead_id = lead_ref(update.effective_message.text or "" if update.effective_message else "")
    if lead_id is not None:
        await _card(update, context, lead_id)


@requires(private=True)
async def card_button(update: Update, context: LeadbotContext) -> None:
    pressed: LeadCard | None = button_value(update, LeadCard)
    if pressed is None:
        await stale(update, context)
        return
    await _card(update, context, pressed.lead)


PHOTO_MAX = 10 * 1024 * 1024  # larger pictures go as documents, as Telegram requires


async def _send_file(chat_id: int, context: LeadbotContext, file_id: str, kind: str) -> None:
    """A chat file by its Telegram file id; a file uploaded on the web page by its bytes."""
    token = attachments.token_of(file_id)
    if token is None:
        if kind == "photo":
            await context.bot.send_photo(chat_id, file_id)
        else:
            await context.bot.send_document(chat_id, file_id)
        return
    assert context.actor is not None
    async with context.session() as session:
        found = await attachments.read(session, context.actor, token)
    upload = InputFile(found.data, filename=found.name)
    if found.is_photo and len(found.data) <= PHOTO_MAX:
        await context.bot.send_photo(chat_id, upload)
    else:
        await context.bot.send_document(chat_id, upload)


@requires(private=True)
async def files_button(update: Update, context: LeadbotContext) -> None:
    """Send the lead's attachments again: chat files by file id, web uploads by bytes."""
    query = update.callback_query
    pressed: LeadFiles | None = button_value(update, LeadFiles)
    if query is None or pressed is None or update.effective_chat is None:
        await stale(update, context)
        return
    assert context.actor is not None
    try:
        async with context.session() as session:
            files = await lead_updates.lead_files(session, context.actor, pressed.lead)
    except ServiceError as err:
        await error(update, context, err)
        return
    await query.answer()
    failed = 0
    for f in files:
        try:
            await _send_file(update.effective_chat.id, context, f.file_id, f.kind)
        except (BadRequest, ServiceError) as exc:
            log.info("attachment of lead %s not sent again: %s", pressed.lead, exc)
            failed += 1
    if failed:
        await reply(update, context.t("leads.files.failed", failed=failed, total=len(files)))
