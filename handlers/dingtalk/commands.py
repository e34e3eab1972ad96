"""The members' commands and the buttons outside the form engine, on DingTalk.

``/status`` (状态), ``/leads`` (线索), ``/lead L0007`` (or a bare ``L0007``), ``/funds``
(资金), ``/activities``, ``/trips``, ``/lang`` and ``/leave`` say what Telegram says — the
words are :mod:`bot.rendering` 's, from the same services — and so do the typed lead
commands (``/stage``, ``/edit``, ``/verify``, ``/reject``, ``/confirm``). The buttons work as
on Telegram: a lead's card, the list's pages and stage filters, the stage menu, 修改, the
leaders' 核实 / 退回 / 逐节点认定, a leader's 认定 / 驳回 of an activity, a planned trip, the
rank's periods, the language. A button that asks one question (a stage note, a reason, a
field's new value) opens the engine's prompt (:mod:`bot.forms.lead_prompts`); a head's
确认 / 退回 on the weekly card decides the version, 退回 through its reason form. Every
function runs inside the adapter's unit of work (the session of ``ctx``); what it tells
other people is planned through the notifier there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import catalog
from bot.catalog import LOCALES, Html
from bot.domain.enums import Outcome, VersionStatus, activity_code
from bot.forms import FormContext, FormEngine, lead_prompts, msg, weekly_return
from bot.forms import activity as activity_form
from bot.forms.buttons import (
    ActivityFiles,
    ActivityReview,
    ConfirmNode,
    EditField,
    EditMenu,
    LanguageButton,
    LeadCard,
    LeadFiles,
    LeadList,
    PlannedTrip,
    RankButton,
    RejectLead,
    StageChosen,
    StageMenu,
    VerifyLead,
    WeeklyDecision,
)
from bot.rendering import leads_text
from bot.rendering.activity_text import activity_card, activity_line, review_rows
from bot.rendering.funds_text import history_text, recorded_text
from bot.rendering.rank_text import BUTTON_KINDS, rank_buttons, render_rank
from bot.rendering.weekly_status import overview_text, status_text
from bot.services import (
    ServiceError,
    activities,
    attachments,
    funds,
    lead_notices,
    lead_updates,
    ranking,
)
from bot.services import weekly as wk
from bot.services.leads import parse_code
from bot.services.weekly import WeeklyConfig
from handlers.dingtalk.reply import OutFile, Reply, outcome_reply, with_values
from storage import repo

__all__ = [
    "ACTIVITY_COMMANDS",
    "GROUP_BUTTONS",
    "LEAD_COMMANDS",
    "READS",
    "activity_command",
    "lead_command",
    "lead_ref",
    "press",
    "read",
]

READS = ("status", "leads", "lead", "funds", "tax", "activities", "trips", "lang", "leave")
# A leader's review typed (1:1): /verify_activity A12, /reject_activity A12 [原因].
ACTIVITY_USAGE = {
    "verify_activity": "activity.verify_usage",
    "reject_activity": "activity.reject_usage",
}
ACTIVITY_COMMANDS = tuple(ACTIVITY_USAGE)
# Typed lead commands (1:1): /stage L0007 [签约 备注], /edit, /verify, /reject L0007 [原因], /confirm.
LEAD_COMMANDS = ("stage", "edit", "verify", "reject", "confirm")
# Buttons that work in a group too: the rank's periods, a leader's 认定 (and the record's files)
# in the leaders' group.
GROUP_BUTTONS = (RankButton, ActivityReview, ActivityFiles)
PRIVATE_READS = (
    "leads",
    "lead",
    "funds",
    "tax",
    "activities",
    "trips",
    "lang",
)  # as on Telegram: other units must not read along


def lead_ref(text: str) -> int | None:
    """A bare ``L0007`` (or ``l7``) typed 1:1 opens the lead's card, as on Telegram."""
    words = text.split()
    return parse_code(words[0]) if len(words) == 1 and words[0][:1] in "Ll" else None


def _t(ctx: FormContext, key: str, /, **values: Any) -> Html:
    return catalog.t(key, ctx.locale, **values)


def _cfg(ctx: FormContext) -> WeeklyConfig:
    s = ctx.services
    return WeeklyConfig.from_settings(s.settings, s.periods, s.scoring)


async def read(ctx: FormContext, name: str, args: str) -> list[Reply]:
    """One of :data:`READS`; a refusal of the service is said as on Telegram."""
    try:
        if name == "activities":
            return await _activities(ctx)
        if name == "trips":
            return await _trips(ctx)
        return [await _read(ctx, name, args)]
    except ServiceError as err:
        return [Reply(_t(ctx, err.code, **err.params))]


async def _read(ctx: FormContext, name: str, args: str) -> Reply:
    if name == "leave":
        return await _leave(ctx, args)
    if name == "lang":
        rows = [
            [(catalog.plain(f"lang.{code}", ctx.locale), LanguageButton(code)) for code in LOCALES]
        ]
        return with_values(_t(ctx, "lang.choose"), rows)
    if name == "status":
        return await _status(ctx)
    if name == "leads":
        return await _list(ctx, args or None, 0)
    if name == "funds":
        return await _funds(ctx, args)
    if name == "tax":  # 税收 month by month, the same commands with the tax book (seed 004)
        return await _funds(ctx, args, funds.TAX)
    lead_id = parse_code(args.split(None, 1)[0]) if args else None
    if lead_id is None:
        return Reply(_t(ctx, "leads.usage.lead" if not args else "leads.bad_ref", ref=args[:20]))
    return await _card(ctx, lead_id)


async def _activities(ctx: FormContext) -> list[Reply]:
    """A member's records in one message; a leader's pending ones, a card each with
    [✅ 认定] [❌ 驳回] (as on Telegram)."""
    actor = ctx.actor
    views = await activities.list_for(
        ctx.session, actor, ctx.services.scoring, pending=actor.is_leader
    )
    if not views:
        return [
            Reply(
                _t(ctx, "activity.list_empty_pending" if actor.is_leader else "activity.list_empty")
            )
        ]
    key = "activity.list_pending" if actor.is_leader else "activity.list_title"
    title = _t(ctx, key, count=len(views))
    if not actor.is_leader:
        lines = "\n".join(activity_line(ctx.locale, v) for v in views)
        return [Reply(Html(title + "\n" + lines))]
    cards = [with_values(activity_card(ctx.locale, v), review_rows(ctx.locale, v)) for v in views]
    return [Reply(title), *cards]


async def _status(ctx: FormContext) -> Reply:
    cfg, actor = _cfg(ctx), ctx.actor
    if actor.is_leader or actor.unit_id is None:
        ov = await wk.overview(ctx.session, ctx.now, cfg)
        return Reply(overview_text(ctx.locale, cfg.zone, ctx.now, ov))
    mine = await wk.my_status(ctx.session, ctx.now, cfg, actor)
    pending = await wk.pending_review(ctx.session, actor, mine)
    rows: leads_text.Rows = []
    if pending is not None:
        label = catalog.plain("weekly.button.review", ctx.locale)
        rows.append([(label, WeeklyDecision(pending, "show"))])
    reply = with_values(status_text(ctx.locale, cfg.zone, ctx.now, mine), rows)
    if not mine.current.done or mine.overdue is not None:  # Telegram's button opens /weekly
        reply.buttons += ((catalog.plain("weekly.button.start", ctx.locale), "周报"),)
    return reply


async def _trips(ctx: FormContext) -> list[Reply]:
    """The trips the unit's weekly submissions planned; each not yet recorded has a button
    that opens the activity form about it (as on Telegram)."""
    trips = await activities.planned_trips(ctx.session, ctx.actor)
    if not trips:
        return [Reply(_t(ctx, "activity.trips_empty"))]
    replies = [Reply(_t(ctx, "activity.trips_title", count=len(trips)))]
    label = catalog.plain("activity.button.trip", ctx.locale)
    for trip in trips:
        text = _t(ctx, "activity.trip_line", period=trip.period_key, destination=trip.destination)
        if trip.recorded:
            recorded = _t(ctx, "activity.trip_recorded", code=trip.recorded)
            replies.append(Reply(Html(text + "\n" + recorded)))
            continue
        _, submission, index = trip.ref.split(":")  # the service's own reference
        replies.append(with_values(text, [[(label, PlannedTrip(int(submission), int(index)))]]))
    return replies


async def _trip(ctx: FormContext, engine: FormEngine, pressed: PlannedTrip) -> Reply:
    """The planned trip becomes the activity form with its kind, unit and text filled in."""
    trip = await activities.trip_from_plan(
        ctx.session, ctx.now, ctx.actor, pressed.ref, ctx.services.scoring
    )
    text = catalog.plain(
        "activity.trip_text", ctx.locale, destination=trip.destination, period=trip.period_key
    )
    note = msg("activity.trip_intro", destination=trip.destination)
    values = activity_form.trip_values(trip, text)
    outcome = await engine.start(ctx, activity_form.NAME, values, note)
    return outcome_reply(engine, outcome, ctx.locale)


async def _leave(ctx: FormContext, args: str) -> Reply:
    """``/leave 12月3日``: the reminders go to the unit's others meanwhile; ``/leave off``."""
    if not args:
        return Reply(_t(ctx, "weekly.leave.usage"))
    result = await wk.set_leave(ctx.session, ctx.now, _cfg(ctx), ctx.actor, args)
    if result.until is None:
        return Reply(_t(ctx, "weekly.leave.ended"))
    day = wk.day_text(result.until, ctx.locale)
    key = "weekly.leave.set" if result.substitutes else "weekly.leave.set_nobody"
    return Reply(_t(ctx, key, day=day, names="、".join(result.substitutes)))


async def _list(ctx: FormContext, stage: str | None, page: int) -> Reply:
    settings = ctx.services.settings
    found = await lead_updates.browse(ctx.session, ctx.actor, settings, stage, page)
    rows = leads_text.list_buttons(ctx.locale, settings.stages, found)
    return with_values(leads_text.list_text(ctx.locale, found), rows)


async def _card(ctx: FormContext, lead_id: int) -> Reply:
    view = await lead_updates.view_lead(
        ctx.session,
        ctx.actor,
        lead_id,
        ctx.services.settings.stages,
        ctx.services.scoring.rules.confirm_stages,
    )
    text = leads_text.card_text(ctx.locale, ctx.services.settings.zone, view)
    confirm = bool(ctx.services.scoring.rules.confirm_stages)
    return with_values(text, leads_text.card_buttons(ctx.locale, view, confirm))


async def _funds(ctx: FormContext, args: str, book: funds.Book = funds.FUNDS) -> Reply:
    request = funds.parse_request(args, book)
    if request.amount_text is None:
        found = await funds.history(ctx.session, ctx.actor, request.lead_id, book)
        return Reply(history_text(ctx.locale, ctx.services.settings.zone, found, book))
    result = await funds.record(
        ctx.session,
        ctx.services.scoring,
        ctx.now,
        ctx.actor,
        request.lead_id,
        request.amount_text,
        request.month_text,
        book,
    )
    return Reply(recorded_text(ctx.locale, result, book))


async def lead_command(ctx: FormContext, engine: FormEngine, name: str, args: str) -> Reply:
    """One of :data:`LEAD_COMMANDS`: what its button does, or at once with the words."""
    words = args.split(None, 2)
    lead_id = parse_code(words[0]) if words else None
    if lead_id is None:
        return Reply(_t(ctx, f"leads.usage.{name}" if not args else "leads.bad_ref", ref=args[:20]))
    rest = args.split(None, 1)[1].strip() if len(words) > 1 else ""
    try:
        if name == "stage" and rest:
            return await _move_now(ctx, lead_id, words[1], words[2] if len(words) > 2 else None)
        if name == "reject" and rest:
            return await _review(ctx, lead_id, rest)
        if name == "confirm":
            return await _confirm(ctx, lead_id, rest or None)
        button = {"stage": StageMenu, "edit": EditMenu, "verify": VerifyLead, "reject": RejectLead}
        reply = await _press(ctx, engine, button[name](lead_id))
        assert reply is not None
        return reply
    except ServiceError as err:
        return Reply(_t(ctx, err.code, **err.params))


async def _move_now(ctx: FormContext, lead_id: int, stage: str, note: str | None) -> Reply:
    change = await lead_updates.move_stage(
        ctx.session, ctx.now, ctx.actor, lead_id, stage, note, ctx.services.settings
    )
    text = Html("\n".join(m.html(ctx.locale) for m in lead_prompts.stage_lines(change)))
    view = catalog.plain("leads.button.view", ctx.locale)
    return with_values(text, [[(view, LeadCard(lead_id))]])


async def _confirm(ctx: FormContext, lead_id: int, stage: str | None) -> Reply:
    done = await lead_updates.confirm_node(
        ctx.session, ctx.now, ctx.actor, lead_id, stage, ctx.services.settings
    )
    return Reply(
        _t(ctx, "leads.confirm.done", lead=done.code, project=done.project, stage=done.stage)
    )


# --- buttons ------------------------------------------------------------------------------------


async def press(
    ctx: FormContext, engine: FormEngine, value: Any, private: bool = True
) -> Reply | None:
    """A decoded button that is not an engine form's; None: not one of these (stale)."""
    try:
        if isinstance(value, ActivityReview):
            return await _activity_review(ctx, engine, value, private)
        return await _press(ctx, engine, value)
    except ServiceError as err:
        return Reply(_t(ctx, err.code, **err.params))


async def _activity_review(
    ctx: FormContext, engine: FormEngine, pressed: ActivityReview, private: bool
) -> Reply | None:
    """A leader's [✅ 认定] at once, the unit told; [❌ 驳回] opens the reason form (1:1)."""
    if not ctx.actor.is_leader:
        return Reply(_t(ctx, "access.leader_only"))
    if pressed.verdict == "no":
        if not private:
            code = activity_code(pressed.activity)
            return Reply(_t(ctx, "activity.reject_in_group", code=code))
        outcome = await engine.start(ctx, activity_form.REJECT, {"activity": pressed.activity})
        return outcome_reply(engine, outcome, ctx.locale)
    if pressed.verdict != "ok":
        return None
    return await _verify_activity(ctx, pressed.activity)


async def activity_command(ctx: FormContext, engine: FormEngine, name: str, args: str) -> Reply:
    """``/verify_activity A12``, ``/reject_activity A12 原因`` typed (1:1), as on Telegram; a
    reject without its reason asks for it, as [❌ 驳回] does."""
    if not ctx.actor.is_leader:
        return Reply(_t(ctx, "access.leader_only"))
    words = args.split(None, 1)
    activity_id = activities.parse_code(words[0]) if words else None
    if activity_id is None:
        return Reply(_t(ctx, ACTIVITY_USAGE[name]))
    reason = words[1].strip() if len(words) > 1 else ""
    try:
        if name == "verify_activity":
            return await _verify_activity(ctx, activity_id)
        if not reason:
            view = await activities.show_activity(
                ctx.session, ctx.actor, activity_id, ctx.services.scoring
            )
            if view.review == "rejected":
                return Reply(_t(ctx, "activity.already_rejected", ref=view.code))
            outcome = await engine.start(ctx, activity_form.REJECT, {"activity": activity_id})
            return outcome_reply(engine, outcome, ctx.locale)
        done = await activities.reject_activity(
            ctx.session, ctx.now, ctx.actor, activity_id, reason, ctx.services.scoring
        )
    except ServiceError as err:
        return Reply(_t(ctx, err.code, **err.params))
    await _tell_unit(ctx, done, "activity.notify_rejected")
    view = done.view
    text = _t(ctx, "activity.rejected", code=view.code, unit=view.unit_name, reason=reason)
    return Reply(text, told_others=True)


async def _verify_activity(ctx: FormContext, activity_id: int) -> Reply:
    done = await activities.verify_activity(
        ctx.session, ctx.now, ctx.actor, activity_id, ctx.services.scoring
    )
    await _tell_unit(ctx, done, "activity.notify_verified")
    text = _t(ctx, "activity.verified", code=done.view.code, unit=done.view.unit_name)
    return Reply(text, told_others=True)


async def _tell_unit(ctx: FormContext, done: activities.ReviewOutcome, key: str) -> None:
    """The unit hears a verdict through the outbox, keyed by the message that gave it."""
    await activities.tell_unit(
        ctx.session, ctx.now, done, key, key=ctx.key, default_locale=ctx.services.settings.locale
    )


async def _press(ctx: FormContext, engine: FormEngine, value: Any) -> Reply | None:
    stages = ctx.services.settings.stages
    if isinstance(value, LeadCard):
        return await _card(ctx, value.lead)
    if isinstance(value, LeadList):
        if value.stage != "a" and not (value.stage.isdigit() and int(value.stage) < len(stages)):
            return None
        stage = None if value.stage == "a" else stages[int(value.stage)]
        return await _list(ctx, stage, min(value.page, 999_999))
    if isinstance(value, StageMenu):
        return await _stage_menu(ctx, value.lead)
    if isinstance(value, EditMenu):
        return await _edit_menu(ctx, value.lead)
    if isinstance(value, StageChosen) and value.stage < len(stages):
        return await _prompt(ctx, engine, lead_prompts.STAGE, lead=value.lead, stage=value.stage)
    if isinstance(value, EditField) and value.field < len(lead_updates.FIELDS):
        return await _prompt(ctx, engine, lead_prompts.EDIT, lead=value.lead, field=value.field)
    if isinstance(value, RejectLead):
        return await _prompt(ctx, engine, lead_prompts.REJECT, lead=value.lead)
    if isinstance(value, VerifyLead):
        return await _verify(ctx, value.lead)
    if isinstance(value, ConfirmNode):
        return await _confirm(ctx, value.lead, None)
    if isinstance(value, LeadFiles):
        files = await lead_updates.lead_files(ctx.session, ctx.actor, value.lead)
        return await _files(ctx, files)
    if isinstance(value, ActivityFiles):
        files = await activities.activity_files(ctx.session, ctx.actor, value.activity)
        return await _files(ctx, files)
    if isinstance(value, WeeklyDecision):
        return await _decision(ctx, engine, value)
    if isinstance(value, PlannedTrip):
        return await _trip(ctx, engine, value)
    if isinstance(value, LanguageButton):
        return await _language(ctx, value.code)
    if isinstance(value, RankButton) and value.kind in BUTTON_KINDS:
        setup, category = ctx.services.scoring, value.category or None
        table = await ranking.rank(ctx.session, setup, ctx.now, value.kind, category)
        return with_values(render_rank(ctx.locale, table), rank_buttons(ctx.locale, table))
    return None


async def _files(ctx: FormContext, files: Sequence[attachments.AttachedFile]) -> Reply:
    """A lead's or an activity's attachments sent again: the ones whose bytes we hold (``web:``
    refs: uploaded on the web page or sent to the robot on DingTalk) as DingTalk files or
    pictures; a Telegram file id cannot be fetched from DingTalk's side, so each is named."""
    sent: list[OutFile] = []
    lines: list[str] = []
    for f in files:
        token = attachments.token_of(f.file_id)
        if token is None:
            lines.append(_t(ctx, "dingtalk.file_on_telegram", name=f.name or f.kind))
            continue
        try:
            found = await attachments.read(ctx.session, ctx.actor, token)
        except ServiceError:
            lines.append(_t(ctx, "dingtalk.file_missing", name=f.name or f.kind))
            continue
        sent.append(OutFile(found.name, found.data, found.is_photo))
    head = _t(ctx, "dingtalk.files_sent", sent=len(sent), total=len(files))
    return Reply(Html("\n".join([head, *lines])), files=tuple(sent))


async def _language(ctx: FormContext, code: str) -> Reply:
    """中文 / English for this member, on every channel (the member's locale)."""
    if code not in LOCALES or ctx.actor.member_id is None:
        return Reply(_t(ctx, "lang.unavailable"))
    member = await repo.member_by_tg(ctx.session, ctx.actor.tg_user_id)
    if member is not None:
        member.locale = code
    return Reply(catalog.t("lang.set", code))


async def _prompt(ctx: FormContext, engine: FormEngine, form: str, **scratch: Any) -> Reply:
    """A one-question engine prompt, over whatever form was open (it comes back after)."""
    return outcome_reply(engine, await engine.start(ctx, form, scratch=scratch), ctx.locale)


async def _stage_menu(ctx: FormContext, lead_id: int) -> Reply:
    settings = ctx.services.settings
    menu = await lead_updates.stage_menu(ctx.session, ctx.actor, lead_id, settings)
    text = _t(ctx, "leads.stage.menu", code=menu.code, project=menu.project, current=menu.current)
    if menu.backwards_need_leader:
        text = Html(text + "\n" + _t(ctx, "leads.stage.backwards_hint"))
    if not menu.choices:
        return Reply(Html(text + "\n" + _t(ctx, "leads.stage.last")))
    rows = [[(s, StageChosen(lead_id, settings.stages.index(s))) for s in menu.choices]]
    return with_values(text, rows)


async def _edit_menu(ctx: FormContext, lead_id: int) -> Reply:
    menu = await lead_updates.edit_menu(ctx.session, ctx.actor, lead_id)
    label = lambda f: catalog.plain(f"leads.field.{f}", ctx.locale)  # noqa: E731
    rows = [[(label(f), EditField(lead_id, i)) for i, f in enumerate(menu.fields)]]
    return with_values(_t(ctx, "leads.edit.menu", code=menu.code, project=menu.project), rows)


async def _verify(ctx: FormContext, lead_id: int) -> Reply:
    return await _review(ctx, lead_id, None)


async def _review(ctx: FormContext, lead_id: int, reason: str | None) -> Reply:
    """核实 (no reason) or 退回 with the reason: the verdict and the unit's notices in one
    transaction (sent after the commit)."""
    setup = ctx.services.scoring
    if reason is None:
        result = await lead_updates.verify_lead(
            ctx.session, ctx.now, ctx.actor, lead_id, setup=setup
        )
    else:
        result = await lead_updates.reject_lead(
            ctx.session, ctx.now, ctx.actor, lead_id, reason, setup=setup
        )
    await lead_notices.plan_review(
        ctx.session,
        result,
        now=ctx.now,
        key=ctx.key,
        default_locale=ctx.services.settings.locale,
    )
    text = Html("\n".join(m.html(ctx.locale) for m in lead_prompts.review_lines(result)))
    view = catalog.plain("leads.button.view", ctx.locale)
    return with_values(text, [[(view, LeadCard(result.lead_id))]], told_others=True)


async def _decision(ctx: FormContext, engine: FormEngine, pressed: WeeklyDecision) -> Reply:
    """The head's card: ``ok`` confirms, ``ret`` asks the reason, ``show`` shows it again."""
    cfg = _cfg(ctx)
    if pressed.action == "ret":
        outcome = await engine.start(
            ctx, weekly_return.RETURN, scratch={"version": pressed.version}
        )
        return outcome_reply(engine, outcome, ctx.locale)
    if pressed.action == "show":
        view, status = await wk.review_card(ctx.session, ctx.now, cfg, ctx.actor, pressed.version)
        text = wk.view_html(view, ctx.locale, title="weekly.confirm.title", zone=cfg.zone)
        if status != VersionStatus.SUBMITTED:
            key = f"weekly.confirm.already_{status}"
            return Reply(Html(text + "\n\n" + _t(ctx, key, number=view.number)))
        return with_values(
            Html(text + "\n\n" + _t(ctx, "weekly.confirm.ask_short")),
            decision_rows(ctx.locale, pressed.version),
        )
    if pressed.action != "ok":
        return Reply(_t(ctx, "fallback.stale_button"))
    decision = await wk.decide(ctx.session, ctx.now, cfg, ctx.actor, pressed.version, confirm=True)
    await wk.tell_submitter(
        ctx.session, ctx.now, decision, default_locale=ctx.services.settings.locale
    )
    said = catalog.plain(f"weekly.outcome.{decision.outcome or Outcome.ON_TIME}", ctx.locale)
    text = _t(
        ctx, "weekly.confirm.done", number=decision.number, unit=decision.unit_name, outcome=said
    )
    return Reply(text, told_others=True)


def decision_rows(locale: str, version: int) -> leads_text.Rows:
    return [
        [
            (catalog.plain("weekly.button.confirm", locale), WeeklyDecision(version, "ok")),
            (catalog.plain("weekly.button.return", locale), WeeklyDecision(version, "ret")),
        ]
    ]
