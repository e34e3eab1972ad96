"""``/weekly`` (the form), the head's 确认 / 退回, ``/status``, ``/leave``, ``/skipweek``, ``/health``.

The form's draft lives in the database (``weekly_drafts``) and is written on every
answer, so a restart, another instance or a timeout loses nothing: ``/weekly``
continues it. The ConversationHandler (persistent) only routes the person's typed
answers to the form while it is open; the draft says which answer comes next
(``awaiting``). Idle forms are closed by our clock (PTB's conversation timeout is
not persisted); the draft stays. Every ``wk:`` button also reopens the form.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import catalog
from bot.catalog import Html
from bot.services import ServiceError
from bot.services import weekly as wk
from bot.services.reminders import error_text, resume_week
from bot.services.weekly import Form, SubmissionState, SubmissionView, WeeklyConfig
from bot.text import split_html
from handlers.base import LeadbotContext, command_args, is_private, reply, requires
from handlers.forms import ExclusiveForm
from storage import weekly_repo
from storage.models import OutboxStatus, Outcome, Role, VersionStatus

if TYPE_CHECKING:
    from bot.app import LeadbotApplication

log = logging.getLogger(__name__)
FORM, REASON = 0, 1
RETURN_KEY = "weekly_return"
STEP_NO = {
    "leads": 1,
    "trips": 2,
    "progress": 3,
    "progress_text": 3,
    "progress_stage": 3,
    "work": 4,
}
HEALTH_LINES = 10


def _cfg(context: LeadbotContext) -> WeeklyConfig:
    app: LeadbotApplication = context.application  # type: ignore[assignment]
    return app.weekly.cfg


def _deep_link(context: LeadbotContext) -> str:
    return f"https://t.me/{context.bot.username}?start=weekly"


def _local(context: LeadbotContext, when: datetime) -> datetime:
    return when.astimezone(_cfg(context).zone)


def _when(context: LeadbotContext, when: datetime, locale: str | None = None) -> str:
    return wk.when_text(_local(context, when), locale or context.locale)


def _deadline_lines(context: LeadbotContext, info: wk.DeadlineInfo) -> Html:
    """截止：11月19日（周四）17:00（还剩 2 天 7 小时） and the holiday note."""
    left = info.deadline - context.now()
    key = "weekly.deadline_line" if left.total_seconds() > 0 else "weekly.deadline_passed"
    text = context.t(
        key,
        when=wk.when_text(info.deadline, context.locale),
        left=wk.remaining_text(left, context.locale),
    )
    note = wk.shift_note(info, context.locale)
    return Html(text + ("\n" + context.t("weekly.shift_line", note=note) if note else ""))


async def _send_long(
    context: LeadbotContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    parts = split_html(text)
    for i, part in enumerate(parts):
        await context.bot.send_message(
            chat_id, part, reply_markup=markup if i == len(parts) - 1 else None
        )


async def _answer(update: Update, text: str | None = None, alert: bool = False) -> None:
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text[:200] if text else None, show_alert=alert)
        except TelegramError:
            pass


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
    """A submission as text, in ``locale`` (default: the person talking; a head's own for the card)."""
    loc = locale or context.locale

    def t(key: str, **values: Any) -> Html:
        return catalog.t(key, loc, **values)

    lines = [
        t(
            title,
            unit=view.unit_name,
            period=wk.period_label(view.period_key, loc),
            number=view.number,
        )
    ]
    if view.late:
        lines.append(t("weekly.view.late"))
    none = catalog.plain("weekly.view.none", loc)
    lines.append(t("weekly.view.leads"))
    lines += [
        t("weekly.view.lead_line", code=o.code, project=o.project, stage=o.stage)
        for o in view.leads
    ] or [t("weekly.view.indent", text=none)]
    lines.append(t("weekly.view.trips"))
    lines += [
        t("weekly.view.numbered", n=i, text=trip) for i, trip in enumerate(view.trips, 1)
    ] or [t("weekly.view.indent", text=none)]
    lines.append(t("weekly.view.progress"))
    for i, p in enumerate(view.progress, 1):
        stage = (
            catalog.plain(
                "weekly.view.stage_change", loc, **{"from": p.from_stage or "?", "to": p.to_stage}
            )
            if p.to_stage
            else ""
        )
        lines.append(
            t(
                "weekly.view.progress_line",
                n=i,
                code=p.code,
                project=p.project,
                text=p.text,
                stage=stage,
            )
        )
    if not view.progress:
        lines.append(t("weekly.view.indent", text=none))
    lines.append(t("weekly.view.work"))
    lines.append(t("weekly.view.indent", text=view.work or none))
    if view.submitted_at is not None:
        lines.append(
            t("weekly.view.by", name=view.submitted_by, when=_when(context, view.submitted_at, loc))
        )
    return Html("\n".join(lines))


# --------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------


def _kb(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in rows
            if row
        ]
    )


def _header(context: LeadbotContext, form: Form, step: str) -> Html:
    return context.t(
        "weekly.step", n=STEP_NO[step], title=context.label(f"weekly.section.{step.split('_')[0]}")
    )


def _leads_step(context: LeadbotContext, form: Form) -> tuple[Html, InlineKeyboardMarkup]:
    chosen = set(form.content.get("leads") or [])
    text = _header(context, form, "leads") + "\n"
    start = _local(context, form.period.start)
    since = f"{wk.day_text(start.date(), context.locale)} {start:%H:%M}"
    if form.period_leads:
        text += context.t("weekly.leads.ask", since=since)
    else:
        text += context.t("weekly.leads.empty", since=since)
    rows: list[list[tuple[str, str]]] = []
    for o in form.period_leads[:40]:
        mark = "✅ " if o.lead_id in chosen else "▫️ "
        rows.append(
            [
                (
                    mark
                    + context.label("weekly.leads.button", code=o.code, project=o.project[:24]),
                    f"wk:lead:{o.lead_id}",
                )
            ]
        )
    rows.append([(context.label("weekly.button.quick_add"), "wk:quick")])
    if chosen:
        rows.append(
            [(context.label("weekly.button.done_count", count=len(chosen)), "wk:done:leads")]
        )
    else:
        rows.append([(context.label("weekly.button.none"), "wk:none:leads")])
    return Html(text), _kb(rows)


def _trips_step(context: LeadbotContext, form: Form) -> tuple[Html, InlineKeyboardMarkup]:
    trips = form.content.get("trips") or []
    text = _header(context, form, "trips") + "\n" + context.t("weekly.trips.ask")
    if trips:
        text += "\n" + context.t("weekly.trips.so_far", count=len(trips)) + "\n"
        text += "\n".join(
            context.t("weekly.view.numbered", n=i, text=trip) for i, trip in enumerate(trips, 1)
        )
        rows = [
            [
                (context.label("weekly.button.done"), "wk:done:trips"),
                (context.label("weekly.button.undo"), "wk:undo:trips"),
            ]
        ]
    else:
        rows = [[(context.label("weekly.button.none"), "wk:none:trips")]]
    return Html(text), _kb(rows)


def _progress_step(context: LeadbotContext, form: Form) -> tuple[Html, InlineKeyboardMarkup]:
    entries = form.content.get("progress") or []
    text = _header(context, form, "progress") + "\n"
    if entries:
        text += context.t("weekly.progress.so_far", count=len(entries)) + "\n"
        for i, p in enumerate(entries, 1):
            o = form.lead_names.get(int(p["lead"]))
            stage = (
                context.label(
                    "weekly.view.stage_change", **{"from": p.get("from") or "?", "to": p["stage"]}
                )
                if p.get("stage")
                else ""
            )
            text += (
                context.t(
                    "weekly.view.progress_line",
                    n=i,
                    code=o.code if o else "?",
                    project=o.project if o else "",
                    text=p.get("text", ""),
                    stage=stage,
                )
                + "\n"
            )
    text += context.t("weekly.progress.ask" if form.unit_leads else "weekly.progress.no_leads")
    buttons = [
        (
            context.label("weekly.leads.button", code=o.code, project=o.project[:16]),
            f"wk:pick:{o.lead_id}",
        )
        for o in form.unit_leads
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if entries:
        rows.append(
            [
                (context.label("weekly.button.done"), "wk:done:progress"),
                (context.label("weekly.button.undo"), "wk:undo:progress"),
            ]
        )
    else:
        rows.append([(context.label("weekly.button.none"), "wk:none:progress")])
    return Html(text), _kb(rows)


def _progress_text_step(
    context: LeadbotContext, form: Form
) -> tuple[Html, InlineKeyboardMarkup | None]:
    o = form.lead_names.get(int(form.scratch.get("lead") or 0))
    text = (
        _header(context, form, "progress")
        + "\n"
        + context.t(
            "weekly.progress.ask_text",
            code=o.code if o else "?",
            project=o.project if o else "",
            limit=wk.PROGRESS_TEXT_MAX,
        )
    )
    return Html(text), _kb([[(context.label("weekly.button.back"), "wk:edit:progress")]])


def _progress_stage_step(context: LeadbotContext, form: Form) -> tuple[Html, InlineKeyboardMarkup]:
    o = form.lead_names.get(int(form.scratch.get("lead") or 0))
    current = o.stage if o else ""
    stages = wk.forward_stages(_cfg(context), current)
    text = (
        _header(context, form, "progress")
        + "\n"
        + context.t("weekly.progress.ask_stage", code=o.code if o else "?", stage=current)
    )
    buttons = [
        (stage, f"wk:stage:{_cfg(context).stages.index(stage)}")
        for stage in stages
        if stage in _cfg(context).stages
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([(context.label("weekly.button.stage_keep"), "wk:stage:keep")])
    return Html(text), _kb(rows)


def _work_step(context: LeadbotContext, form: Form) -> tuple[Html, InlineKeyboardMarkup]:
    text = _header(context, form, "work") + "\n" + context.t("weekly.work.ask", limit=wk.WORK_MAX)
    return Html(text), _kb([[(context.label("weekly.button.none"), "wk:none:work")]])


def _preview(context: LeadbotContext, form: Form) -> tuple[Html, InlineKeyboardMarkup]:
    assert context.actor is not None
    view = wk.view_of(form, context.actor.display_name)
    text = render_view(context, view, title="weekly.preview.title")
    state = form.state
    if state.latest_number:
        text = Html(
            text + "\n\n" + context.t("weekly.preview.replaces", number=state.latest_number)
        )
    if form.late:
        text = Html(text + "\n" + context.t("weekly.preview.late"))
    rows = [
        [(context.label("weekly.button.submit"), f"wk:submit:{form.draft_id}:{form.rev}")],
        [
            (context.label("weekly.button.edit_leads"), "wk:edit:leads"),
            (context.label("weekly.button.edit_trips"), "wk:edit:trips"),
        ],
        [
            (context.label("weekly.button.edit_progress"), "wk:edit:progress"),
            (context.label("weekly.button.edit_work"), "wk:edit:work"),
        ],
        [
            (context.label("weekly.button.later"), "wk:later"),
            (context.label("weekly.button.discard"), "wk:discard"),
        ],
    ]
    return text, _kb(rows)


STEPS = {
    "leads": _leads_step,
    "trips": _trips_step,
    "progress": _progress_step,
    "progress_text": _progress_text_step,
    "progress_stage": _progress_stage_step,
    "work": _work_step,
}


async def _show(
    update: Update, context: LeadbotContext, form: Form, prefix: Html | None = None
) -> int:
    """Draw the step the draft is at (the next unanswered section, or the preview)."""
    step = form.awaiting if form.awaiting in STEPS else form.next_section
    if step is None:
        step = "preview"
    if step != form.awaiting:  # remember where the form is, so typed answers land there
        async with context.session() as session:
            form = await wk.set_awaiting(session, context.now(), _cfg(context), context.actor, step)  # type: ignore[arg-type]
    text, markup = _preview(context, form) if step == "preview" else STEPS[step](context, form)
    if prefix:
        text = Html(prefix + "\n\n" + text)
    await reply(update, text, markup)
    return FORM


def _intro(context: LeadbotContext, form: Form) -> Html:
    lines = [
        context.t(
            "weekly.intro",
            unit=form.unit_name,
            period=wk.period_label(form.period.key, context.locale),
        ),
        _deadline_lines(context, form.info),
    ]
    state = form.state
    if form.late and form.late_until is not None:
        lines.append(context.t("weekly.intro.late", until=_when(context, form.late_until)))
    if state.latest_number:
        status = context.label(f"weekly.status.version_{state.latest_status or 'submitted'}")
        lines.append(
            context.t("weekly.intro.has_version", number=state.latest_number, status=status)
        )
    if form.resumed:
        lines.append(context.t("weekly.intro.resumed"))
    lines.append(context.t("weekly.intro.hint"))
    return Html("\n".join(lines))


async def _open(update: Update, context: LeadbotContext, *, current: bool = False) -> int:
    actor = context.actor
    assert actor is not None
    try:
        async with context.session() as session:
            form = await wk.open_form(session, context.now(), _cfg(context), actor, current=current)
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return ConversationHandler.END
    if form.state.skipped is not None:
        note = context.t(
            "weekly.skipped_note",
            period=wk.period_label(form.period.key, context.locale),
            reason=form.state.skipped or "—",
        )
        await reply(update, note)
        return ConversationHandler.END
    markup = None
    if form.late:
        markup = _kb([[(context.label("weekly.button.this_week"), "wk:current")]])
    await reply(update, _intro(context, form), markup)
    return await _show(update, context, form)


@requires(private=False)
async def weekly_command(update: Update, context: LeadbotContext) -> int:
    if not is_private(update):
        await from_group(update, context)
        return ConversationHandler.END
    actor = context.actor
    if actor is None or actor.unit_id is None or actor.role not in (Role.LIAISON, Role.HEAD):
        await reply(update, context.t("weekly.not_unit_member"))
        return ConversationHandler.END
    return await _open(update, context)


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


async def _load(update: Update, context: LeadbotContext) -> Form | None:
    assert context.actor is not None
    async with context.session() as session:
        return await wk.load_form(session, context.now(), _cfg(context), context.actor)


async def on_text(update: Update, context: LeadbotContext) -> int:
    if context.actor is None or not context.actor.is_member:
        return ConversationHandler.END
    form = await _load(update, context)
    if form is None:
        await reply(update, context.t("weekly.form.gone"))
        return ConversationHandler.END
    if wk.idle(form, context.now(), _cfg(context)):
        await reply(update, context.t("weekly.form.timeout"))
        return ConversationHandler.END
    text = update.effective_message.text or "" if update.effective_message else ""
    step = form.awaiting if form.awaiting in STEPS else (form.next_section or "preview")
    cfg, now, actor = _cfg(context), context.now(), context.actor
    try:
        async with context.session() as session:
            if step == "leads":
                ref = wk.parse_lead_ref(text)
                if wk.is_none_answer(text):
                    form = await wk.set_none(session, now, cfg, actor, "leads")
                elif ref is not None:
                    form = await wk.toggle_lead(session, now, cfg, actor, ref)
                else:
                    raise ServiceError("weekly.leads.use_buttons")
            elif step == "trips":
                if wk.is_none_answer(text):
                    form = await (wk.finish_section if form.content.get("trips") else wk.set_none)(
                        session, now, cfg, actor, "trips"
                    )
                else:
                    form = await wk.add_trip(session, now, cfg, actor, text)
            elif step == "progress":
                ref = wk.parse_lead_ref(text)
                if wk.is_none_answer(text):
                    form = await (
                        wk.finish_section if form.content.get("progress") else wk.set_none
                    )(session, now, cfg, actor, "progress")
                elif ref is not None:
                    form = await wk.pick_progress_lead(session, now, cfg, actor, ref)
                else:
                    raise ServiceError("weekly.progress.use_buttons")
            elif step == "progress_text":
                form = await wk.set_progress_text(session, now, cfg, actor, text)
            elif step == "progress_stage":
                raise ServiceError("weekly.progress.stage_buttons")
            elif step == "work":
                if wk.is_none_answer(text):
                    form = await wk.set_none(session, now, cfg, actor, "work")
                else:
                    form = await wk.set_work(session, now, cfg, actor, text)
            else:
                raise ServiceError("weekly.preview.use_buttons")
    except ServiceError as err:
        form = await _load(update, context) or form
        return await _show(update, context, form, context.error_text(err))
    saved = context.t("weekly.saved") if step in ("trips",) else None
    return await _show(update, context, form, saved)


async def on_other(update: Update, context: LeadbotContext) -> int:
    """A sticker, photo or voice where text is expected: say so, ask again."""
    form = await _load(update, context)
    if form is None:
        return ConversationHandler.END
    return await _show(update, context, form, context.t("weekly.text_expected"))


async def on_button(update: Update, context: LeadbotContext) -> int:
    query = update.callback_query
    assert query is not None
    actor = context.actor
    if actor is None or not actor.is_member:
        await _answer(update)
        return ConversationHandler.END
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    cfg, now = _cfg(context), context.now()
    if action == "current":
        await _answer(update)
        return await _open(update, context, current=True)
    if action == "quick":
        await _answer(update)
        await reply(update, context.t("weekly.quick_add"))
        return FORM
    if action == "submit":
        return await _submit(update, context, parts)
    if action in ("later", "discard"):
        await _answer(update)
        await _drop_markup(update)
        if action == "discard":
            async with context.session() as session:
                await wk.discard(session, actor)
        await reply(
            update, context.t("weekly.discarded" if action == "discard" else "weekly.later")
        )
        return ConversationHandler.END
    try:
        async with context.session() as session:
            form = await _button_action(session, now, cfg, actor, action, parts)
    except ServiceError as err:
        await _answer(
            update,
            context.label(err.code, **err.params) if err.code.startswith("weekly.") else None,
            alert=True,
        )
        form = await _load(update, context)
        if form is None:
            return ConversationHandler.END
        return FORM
    await _answer(update)
    if action == "lead":  # a toggle: redraw the same message's buttons
        _, markup = _leads_step(context, form)
        try:
            await query.edit_message_reply_markup(markup)
            return FORM
        except TelegramError:
            pass
    else:
        await _drop_markup(update)
    return await _show(update, context, form)


async def _button_action(
    session: Any, now: datetime, cfg: WeeklyConfig, actor: Any, action: str, parts: list[str]
) -> Form:
    arg = parts[2] if len(parts) > 2 else ""
    if action == "lead" and arg.isdigit():
        return await wk.toggle_lead(session, now, cfg, actor, int(arg))
    if action == "none" and arg in wk.SECTIONS:
        return await wk.set_none(session, now, cfg, actor, arg)
    if action == "done" and arg in wk.SECTIONS:
        return await wk.finish_section(session, now, cfg, actor, arg)
    if action == "undo" and arg in ("trips", "progress"):
        return await wk.undo_last(session, now, cfg, actor, arg)
    if action == "pick" and arg.isdigit():
        return await wk.pick_progress_lead(session, now, cfg, actor, int(arg))
    if action == "stage":
        if arg == "keep":
            return await wk.set_progress_stage(session, now, cfg, actor, None)
        if arg.isdigit() and int(arg) < len(cfg.stages):
            return await wk.set_progress_stage(session, now, cfg, actor, cfg.stages[int(arg)])
    if action == "edit" and arg in wk.SECTIONS:
        return await wk.reset_section(session, now, cfg, actor, arg)
    raise ServiceError("weekly.form.gone")


async def _drop_markup(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_reply_markup(None)
        except TelegramError:
            pass


async def _submit(update: Update, context: LeadbotContext, parts: list[str]) -> int:
    actor = context.actor
    assert actor is not None
    if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
        await _answer(update, context.label("fallback.stale_button"), alert=True)
        return FORM
    try:
        async with context.session() as session:
            result = await wk.submit(
                session,
                context.now(),
                _cfg(context),
                actor,
                int(parts[2]),
                int(parts[3]),
                context.services.settings,
            )
    except ServiceError as err:
        if err.code == "weekly.submit.already":
            await _answer(update, context.label("weekly.submit.already"), alert=True)
            return ConversationHandler.END
        await _answer(update)
        form = await _load(update, context)
        if form is None:
            await reply(update, context.error_text(err))
            return ConversationHandler.END
        return await _show(update, context, form, context.error_text(err))
    await _answer(update)
    await _drop_markup(update)
    lines = [_submitted_text(context, result)]
    for code, before, after in result.stage_changes:
        lines.append(
            context.t("weekly.submitted.stage", code=code, **{"from": before, "to": after})
        )
    if result.stage_refused:
        lines.append(
            context.t("weekly.submitted.stage_refused", codes="、".join(result.stage_refused))
        )
    unreachable = await _ask_heads(context, result)
    if result.status == VersionStatus.SUBMITTED and not result.heads:
        lines.append(context.t("weekly.submitted.no_head"))
    if unreachable:
        lines.append(context.t("weekly.submitted.head_unreachable", names="、".join(unreachable)))
    await reply(update, Html("\n".join(lines)))
    return ConversationHandler.END


def _submitted_text(context: LeadbotContext, result: wk.SubmitResult) -> Html:
    period = wk.period_label(result.view.period_key, context.locale)
    if result.status == VersionStatus.CONFIRMED:
        key = "weekly.submitted.late" if result.late else "weekly.submitted.on_time"
        return context.t(key, number=result.number, period=period)
    heads = "、".join(h.name for h in result.heads) or context.label("weekly.view.none")
    return context.t("weekly.submitted.waiting", number=result.number, period=period, heads=heads)


def _decision_markup(
    context: LeadbotContext, version_id: int, locale: str | None = None
) -> InlineKeyboardMarkup:
    loc = locale or context.locale
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    catalog.plain("weekly.button.confirm", loc),
                    callback_data=f"wkc:{version_id}:ok",
                ),
                InlineKeyboardButton(
                    catalog.plain("weekly.button.return", loc),
                    callback_data=f"wkc:{version_id}:ret",
                ),
            ]
        ]
    )


async def _ask_heads(context: LeadbotContext, result: wk.SubmitResult) -> list[str]:
    """The head gets the submission with 确认 / 退回; those the bot cannot reach are named."""
    unreachable = []
    for head in result.heads:
        loc = head.locale or context.services.settings.locale
        text = Html(
            render_view(context, result.view, title="weekly.confirm.title", locale=loc)
            + "\n\n"
            + catalog.t("weekly.confirm.ask", loc, deadline=wk.when_text(result.info.deadline, loc))
        )
        try:
            await _send_long(
                context,
                head.tg_user_id,
                text,
                _decision_markup(context, result.version_id, head.locale),
            )
        except Forbidden:
            unreachable.append(head.name)
        except TelegramError as exc:
            log.warning("confirmation request to %s failed: %s", head.tg_user_id, exc)
            unreachable.append(head.name)
    return unreachable


# --------------------------------------------------------------------------------------
# The head decides
# --------------------------------------------------------------------------------------


def _version_of(update: Update) -> int | None:
    parts = (update.callback_query.data or "").split(":") if update.callback_query else []
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


async def on_decision(update: Update, context: LeadbotContext) -> None:
    """``wkc:<version>:ok`` confirms; ``wkc:<version>:show`` shows the card again."""
    query = update.callback_query
    assert query is not None
    version_id = _version_of(update)
    actor = context.actor
    if version_id is None or actor is None or not actor.is_member:
        await _answer(update, context.label("fallback.stale_button"), alert=True)
        return
    if query.data and query.data.endswith(":show"):
        await _show_card(update, context, version_id)
        return
    try:
        async with context.session() as session:
            decision = await wk.decide(
                session, context.now(), _cfg(context), actor, version_id, confirm=True
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
    await _notify(
        context,
        decision.submitter.tg_user_id,
        decision.submitter.locale,
        "weekly.confirm.notify",
        head=decision.decided_by,
        number=decision.number,
        outcome_key=f"weekly.outcome.{decision.outcome or Outcome.ON_TIME}",
    )


async def _notify(
    context: LeadbotContext,
    chat_id: int,
    locale: str | None,
    key: str,
    *,
    outcome_key: str | None = None,
    markup: InlineKeyboardMarkup | None = None,
    **values: Any,
) -> None:
    loc = locale or context.services.settings.locale
    if outcome_key:
        values["outcome"] = catalog.plain(outcome_key, loc)
    try:
        await context.bot.send_message(chat_id, catalog.t(key, loc, **values), reply_markup=markup)
    except TelegramError as exc:
        log.info("weekly notice to %s not sent: %s", chat_id, exc)


async def _show_card(update: Update, context: LeadbotContext, version_id: int) -> None:
    try:
        async with context.session() as session:
            view, status = await wk.review_card(
                session, context.now(), _cfg(context), context.actor, version_id
            )  # type: ignore[arg-type]
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


async def on_return(update: Update, context: LeadbotContext) -> int:
    """``wkc:<version>:ret``: ask the head for the reason (the next message)."""
    version_id = _version_of(update)
    actor = context.actor
    if version_id is None or actor is None or not actor.is_member:
        await _answer(update, context.label("fallback.stale_button"), alert=True)
        return ConversationHandler.END
    try:
        async with context.session() as session:
            view, status = await wk.review_card(
                session, context.now(), _cfg(context), actor, version_id
            )
    except ServiceError as err:
        await _answer(update, context.label(err.code, **err.params), alert=True)
        return ConversationHandler.END
    if status != VersionStatus.SUBMITTED:
        await _answer(
            update,
            context.label(f"weekly.confirm.already_{status}", number=view.number),
            alert=True,
        )
        return ConversationHandler.END
    await _answer(update)
    context.user_data[RETURN_KEY] = {"version": version_id, "at": context.now().isoformat()}  # type: ignore[index]
    await reply(update, context.t("weekly.return.ask", name=view.submitted_by, number=view.number))
    return REASON


async def on_reason(update: Update, context: LeadbotContext) -> int:
    pending = (context.user_data or {}).get(RETURN_KEY)
    if not isinstance(pending, dict):
        return ConversationHandler.END
    if context.now() - datetime.fromisoformat(pending["at"]) > _cfg(context).form_timeout:
        context.user_data.pop(RETURN_KEY, None)  # type: ignore[union-attr]
        await reply(update, context.t("weekly.return.timeout"))
        return ConversationHandler.END
    text = update.effective_message.text or "" if update.effective_message else ""
    try:
        async with context.session() as session:
            decision = await wk.decide(
                session,
                context.now(),
                _cfg(context),
                context.actor,
                int(pending["version"]),  # type: ignore[arg-type]
                confirm=False,
                reason=text,
            )
    except ServiceError as err:
        if err.code.startswith("weekly.input."):
            await reply(update, context.error_text(err) + "\n" + context.t("weekly.return.again"))
            return REASON
        context.user_data.pop(RETURN_KEY, None)  # type: ignore[union-attr]
        await reply(update, context.error_text(err))
        return ConversationHandler.END
    context.user_data.pop(RETURN_KEY, None)  # type: ignore[union-attr]
    await reply(
        update,
        context.t("weekly.return.done", name=decision.submitter.name, number=decision.number),
    )
    loc = decision.submitter.locale or context.services.settings.locale
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(catalog.plain("weekly.button.fix", loc), url=_deep_link(context))]]
    )
    await _notify(
        context,
        decision.submitter.tg_user_id,
        decision.submitter.locale,
        "weekly.return.notify",
        markup=markup,
        head=decision.decided_by,
        number=decision.number,
        reason=decision.reason or "",
    )
    return ConversationHandler.END


async def cancel_return(update: Update, context: LeadbotContext) -> int:
    if context.user_data is not None:
        context.user_data.pop(RETURN_KEY, None)
    await reply(update, context.t("weekly.return.cancelled"))
    return ConversationHandler.END


async def cancel_form(update: Update, context: LeadbotContext) -> int:
    await reply(update, context.t("weekly.later"))
    return ConversationHandler.END


# --------------------------------------------------------------------------------------
# /status
# --------------------------------------------------------------------------------------


def _state_line(context: LeadbotContext, s: SubmissionState) -> Html:
    if s.skipped is not None:
        return context.t("weekly.state.skipped", reason=s.skipped or "—")
    if s.accepted:
        outcome = context.label(f"weekly.outcome.{s.outcome or Outcome.ON_TIME}")
        line = context.t(
            "weekly.state.done",
            number=s.latest_number,
            outcome=outcome,
            when=_when(context, s.done_at) if s.done_at else "",
        )
        if s.latest_status == VersionStatus.SUBMITTED:
            line = Html(
                line + "\n" + context.t("weekly.state.newer_waiting", number=s.latest_number)
            )
        return line
    if s.latest_status == VersionStatus.SUBMITTED:
        key = "weekly.state.waiting" if s.has_head else "weekly.state.waiting_no_head"
        return context.t(
            key,
            number=s.latest_number,
            by=s.latest_by or "",
            when=_when(context, s.latest_at) if s.latest_at else "",
        )
    if s.latest_status == VersionStatus.RETURNED:
        return context.t(
            "weekly.state.returned", number=s.latest_number, reason=s.return_reason or "—"
        )
    if s.outcome == Outcome.MISSING:
        return context.t("weekly.state.missing")
    return context.t("weekly.state.none")


@requires()
async def status(update: Update, context: LeadbotContext) -> None:
    actor = context.actor
    assert actor is not None
    cfg = _cfg(context)
    async with context.session() as session:
        if actor.is_leader or actor.unit_id is None:
            ov = await wk.overview(session, context.now(), cfg)
            await reply(update, _overview_text(context, ov))
            return
        mine = await wk.my_status(session, context.now(), cfg, actor)
        pending = None
        if actor.role is Role.HEAD:
            for state in (mine.overdue, mine.current):
                if state is not None and state.latest_status == VersionStatus.SUBMITTED:
                    sub = await weekly_repo.submission(session, state.unit_id, state.period.key)
                    latest = await weekly_repo.latest_version(session, sub.id) if sub else None
                    pending = latest.id if latest else None
    lines = [
        context.t(
            "weekly.status.title",
            unit=mine.current.unit_name,
            period=wk.period_label(mine.current.period.key, context.locale),
        )
    ]
    lines.append(_state_line(context, mine.current))
    if mine.current.skipped is None:
        lines.append(_deadline_lines(context, mine.current.info))
    if mine.overdue is not None and mine.late_until is not None:
        lines.append("")
        lines.append(
            context.t(
                "weekly.status.overdue",
                period=wk.period_label(mine.overdue.period.key, context.locale),
                until=_when(context, mine.late_until),
            )
        )
        lines.append(_state_line(context, mine.overdue))
    if mine.draft_period:
        lines.append(
            context.t(
                "weekly.status.draft", period=wk.period_label(mine.draft_period, context.locale)
            )
        )
    rows = []
    if pending is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    context.label("weekly.button.review"), callback_data=f"wkc:{pending}:show"
                )
            ]
        )
    if not mine.current.done or mine.overdue is not None:
        rows.append(
            [InlineKeyboardButton(context.label("weekly.button.start"), url=_deep_link(context))]
        )
    await reply(update, Html("\n".join(lines)), InlineKeyboardMarkup(rows) if rows else None)


def _overview_text(context: LeadbotContext, ov: wk.Overview) -> Html:
    lines = [
        context.t("weekly.overview.title", period=wk.period_label(ov.period.key, context.locale)),
        _deadline_lines(context, ov.info),
    ]
    if ov.skipped is not None:
        lines.append(context.t("weekly.state.skipped", reason=ov.skipped or "—"))
        return Html("\n".join(lines))
    done = sum(1 for s in ov.units if s.accepted)
    waiting = sum(
        1 for s in ov.units if not s.accepted and s.latest_status == VersionStatus.SUBMITTED
    )
    lines.append(
        context.t(
            "weekly.overview.counts",
            done=done,
            waiting=waiting,
            missing=len(ov.units) - done - waiting,
            total=len(ov.units),
        )
    )
    for s in ov.units:
        icon = (
            "✅"
            if s.accepted
            else (
                "⏳"
                if s.latest_status == VersionStatus.SUBMITTED
                else ("↩️" if s.latest_status == VersionStatus.RETURNED else "❌")
            )
        )
        lines.append(
            context.t(
                "weekly.overview.line", icon=icon, unit=s.unit_name, state=_short_state(context, s)
            )
        )
    if ov.previous_counts:
        c = ov.previous_counts
        lines.append(
            context.t(
                "weekly.overview.previous",
                period=wk.period_label(ov.previous_key, context.locale),
                on_time=c.get(Outcome.ON_TIME, 0),
                late=c.get(Outcome.LATE, 0),
                missing=c.get(Outcome.MISSING, 0),
            )
        )
    return Html("\n".join(lines))


def _short_state(context: LeadbotContext, s: SubmissionState) -> str:
    if s.accepted:
        outcome = context.label(f"weekly.outcome.{s.outcome or Outcome.ON_TIME}")
        return context.label(
            "weekly.short.done",
            outcome=outcome,
            when=_when(context, s.done_at) if s.done_at else "",
        )
    if s.latest_status == VersionStatus.SUBMITTED:
        return context.label(
            "weekly.short.waiting" if s.has_head else "weekly.short.waiting_no_head"
        )
    if s.latest_status == VersionStatus.RETURNED:
        return context.label("weekly.short.returned")
    return context.label("weekly.short.none")


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
            result = await wk.set_leave(session, context.now(), _cfg(context), context.actor, text)  # type: ignore[arg-type]
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
        lines = [context.t("weekly.skip.usage")]
        if skips:
            lines.append(context.t("weekly.skip.list_header"))
            lines += [
                context.t(
                    "weekly.skip.list_line",
                    period=wk.period_label(i.key, context.locale),
                    key=i.key,
                    reason=r or "—",
                )
                for i, r in skips
            ]
        await reply(update, Html("\n".join(lines)))
        return
    try:
        async with context.session() as session:
            result = await wk.skip_week(session, context.now(), cfg, context.actor, text)  # type: ignore[arg-type]
            restored = (
                0
                if result.skipped
                else await resume_week(session, context.now(), cfg, result.info.key)
            )
    except ServiceError as err:
        await reply(update, context.error_text(err))
        return
    period = wk.period_label(result.info.key, context.locale)
    if result.skipped:
        await reply(
            update,
            context.t(
                "weekly.skip.done",
                period=period,
                key=result.info.key,
                deadline=wk.when_text(result.info.deadline, context.locale),
                reason=result.reason or "—",
            ),
        )
    elif context.now() >= result.info.deadline:
        late_end = wk.late_window_end(cfg, cfg.periods.by_key(result.info.key))
        await reply(
            update,
            context.t(
                "weekly.skip.undone_late",
                period=period,
                key=result.info.key,
                until=wk.when_text(late_end, context.locale),
            ),
        )
    else:
        lines = [context.t("weekly.skip.undone", period=period, key=result.info.key)]
        if restored:
            lines.append(context.t("weekly.skip.restored", count=restored))
        await reply(update, Html("\n".join(lines)))


@requires(admin=True)
async def health(update: Update, context: LeadbotContext) -> None:
    app: LeadbotApplication = context.application  # type: ignore[assignment]
    now = context.now()
    last = app.jobs.last_run
    lines = [context.t("weekly.health.title")]
    if last is None:
        lines.append(context.t("weekly.health.never"))
    else:
        ago = wk.remaining_text(now - last, context.locale)
        lines.append(
            context.t(
                "weekly.health.last_run",
                when=_local(context, last).strftime("%Y-%m-%d %H:%M:%S"),
                ago=ago,
            )
        )
    async with context.session() as session:
        counts = await weekly_repo.outbox_counts(session)
        oldest = await weekly_repo.oldest_pending_due(session, now)
        failures = await weekly_repo.recent_failures(session, HEALTH_LINES)
    due_note = (
        context.label("weekly.health.oldest", when=_local(context, oldest).strftime("%m-%d %H:%M"))
        if oldest
        else ""
    )
    lines.append(
        context.t(
            "weekly.health.outbox",
            pending=counts.get(OutboxStatus.PENDING, 0),
            sending=counts.get(OutboxStatus.SENDING, 0),
            sent=counts.get(OutboxStatus.SENT, 0),
            skipped=counts.get(OutboxStatus.SKIPPED, 0),
            cancelled=counts.get(OutboxStatus.CANCELLED, 0),
            oldest=due_note,
        )
    )
    failed, unknown = counts.get(OutboxStatus.FAILED, 0), counts.get(OutboxStatus.UNKNOWN, 0)
    lines.append(context.t("weekly.health.failed", failed=failed, unknown=unknown))
    for row in failures:
        lines.append(
            context.t(
                "weekly.health.failure_line",
                who=row.recipient or str(row.chat_id),
                kind=row.kind,
                period=row.period_key,
                status=context.label(f"weekly.health.status_{row.status}"),
                error=error_text(row.error, context.locale),
            )
        )
    await reply(update, Html("\n".join(lines)))


# --------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------


def conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    form_answers = [
        CallbackQueryHandler(on_button, pattern=r"^wk:"),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_other),
    ]
    return ExclusiveForm(
        entry_points=[
            CommandHandler("weekly", weekly_command, filters=private),
            CommandHandler(
                "start", weekly_command, filters=private & filters.Regex(r"^/start weekly$")
            ),
            CallbackQueryHandler(on_button, pattern=r"^wk:"),
        ],
        states={FORM: form_answers},
        fallbacks=[CommandHandler("cancel", cancel_form)],
        name="weekly",
        persistent=True,
        allow_reentry=True,
    )


def return_conversation() -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    return ExclusiveForm(
        entry_points=[CallbackQueryHandler(on_return, pattern=r"^wkc:\d+:ret$")],
        states={REASON: [MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_reason)]},
        fallbacks=[CommandHandler("cancel", cancel_return)],
        name="weekly_return",
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list:
    """Registered before the start handlers: ``/start weekly`` must reach the form."""
    return [
        return_conversation(),
        conversation(),
        CallbackQueryHandler(on_decision, pattern=r"^wkc:\d+:(ok|show)$"),
        CommandHandler("weekly", from_group, filters=filters.ChatType.GROUPS),
        CommandHandler("status", status),
        CommandHandler("leave", leave),
        CommandHandler("skipweek", skipweek),
        CommandHandler("health", health),
    ]
