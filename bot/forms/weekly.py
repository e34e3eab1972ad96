"""``/weekly`` as data, on the form engine (journey 3).

The weekly form has four sections, asked in order, then a preview:

1. 新增线索 (``leads``): the period's leads as toggles, "无" or a typed code;
2. 赴外路线 (``trips``): one trip per message, as many as needed, then 完成;
3. 项目进展 (``progress``): a loop — pick a lead, type its progress
   (``progress_text``), say whether its stage moved (``progress_stage``), again;
4. 工作信息 (``work``): free text or "无";

then ``preview`` (提交 / 改 a section / 稍后 / 清空). Each step runs itself
(:attr:`bot.forms.model.Step.handle`): every answer is one call to the weekly service
(:mod:`bot.services.weekly.draft`), which keeps the *content* in ``weekly_drafts`` —
so a timed-out form loses nothing and ``/weekly`` resumes it, as the SPEC wants. The
engine's draft keeps where the person is and a snapshot of what the service returned
(``scratch["w"]``), from which every step is drawn. Saving (the preview's 提交) is
:func:`bot.services.weekly.submit` plus the heads' requests through the notifier, in
the same transaction.

The head's return reason is its own one-question form: :mod:`bot.forms.weekly_return`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.domain.enums import VersionStatus
from bot.forms.model import (
    Act,
    Answer,
    Choose,
    Draft,
    Edit,
    FieldError,
    Form,
    FormContext,
    Handler,
    Label,
    Msg,
    Step,
    Turn,
)
from bot.services import ServiceError
from bot.services import weekly as wk
from bot.services.weekly import LeadOption, SubmissionView, WeeklyConfig
from bot.services.weekly.submit import ProgressLine

NAME = "weekly"
SECTION_STEPS = ("leads", "trips", "progress", "progress_text", "progress_stage", "work")
PREVIEW = "preview"
STEP_NO = {
    "leads": 1,
    "trips": 2,
    "progress": 3,
    "progress_text": 3,
    "progress_stage": 3,
    "work": 4,
}
LEAD_BUTTONS = 40


def config(ctx: FormContext) -> WeeklyConfig:
    """The weekly cycle's config, from the same settings, periods and rules as the scheduler's."""
    services = ctx.services
    return WeeklyConfig.from_settings(services.settings, services.periods, services.scoring)


# --- the snapshot of the service's form the steps are drawn from -------------------------------


def _lead(o: LeadOption) -> list[Any]:
    return [o.lead_id, o.code, o.project, o.stage]


def snapshot(f: wk.Form, cfg: WeeklyConfig, locale: str) -> dict[str, Any]:
    start = cfg.local(f.period.start)
    state = f.state
    return {
        "draft": f.draft_id,
        "rev": f.rev,
        "period": f.period.key,
        "unit": f.unit_name,
        "since": f"{wk.day_text(start.date(), locale)} {start:%H:%M}",
        "deadline": f.info.deadline.isoformat(),
        "shift": wk.shift_note(f.info, locale),
        "late": f.late,
        "late_until": cfg.local(f.late_until).isoformat() if f.late_until else None,
        "content": f.content,
        "lead": int(f.scratch.get("lead") or 0),
        "period_leads": [_lead(o) for o in f.period_leads[:LEAD_BUTTONS]],
        "unit_leads": [_lead(o) for o in f.unit_leads],
        "names": {str(i): _lead(o) for i, o in f.lead_names.items()},
        "latest_number": state.latest_number,
        "latest_status": state.latest_status,
        "resumed": f.resumed,
    }


def _snap(draft: Draft) -> dict[str, Any]:
    return dict(draft.scratch.get("w") or {})


def _name(snap: dict[str, Any], lead_id: int) -> LeadOption | None:
    row = (snap.get("names") or {}).get(str(lead_id))
    return LeadOption(int(row[0]), row[1], row[2], row[3]) if row else None


def _options(snap: dict[str, Any], key: str) -> list[LeadOption]:
    return [LeadOption(int(i), c, p, s) for i, c, p, s in snap.get(key) or []]


def where(f: wk.Form) -> str:
    """The step the service's draft is at: the one awaited, the next unanswered section, or
    the preview."""
    if f.awaiting in SECTION_STEPS:
        return str(f.awaiting)
    return f.next_section or PREVIEW


# --- texts ------------------------------------------------------------------------------------


def deadline_lines(deadline: datetime, shift: str, now: datetime, locale: str) -> list[Msg]:
    """截止：11月19日（周四）17:00（还剩 2 天 7 小时） and the holiday note."""
    left = deadline - now
    key = "weekly.deadline_line" if left.total_seconds() > 0 else "weekly.deadline_passed"
    lines = [
        Msg(key, {"when": wk.when_text(deadline, locale), "left": wk.remaining_text(left, locale)})
    ]
    if shift:
        lines.append(Msg("weekly.shift_line", {"note": shift}))
    return lines


def intro(ctx: FormContext, snap: dict[str, Any]) -> list[Msg]:
    loc = ctx.locale
    lines = [
        Msg("weekly.intro", {"unit": snap["unit"], "period": wk.period_label(snap["period"], loc)})
    ]
    lines += deadline_lines(
        datetime.fromisoformat(snap["deadline"]), snap.get("shift") or "", ctx.now, loc
    )
    if snap.get("late") and snap.get("late_until"):
        until = wk.when_text(datetime.fromisoformat(snap["late_until"]), loc)
        lines.append(Msg("weekly.intro.late", {"until": until}))
    if snap.get("latest_number"):
        status = Msg(f"weekly.status.version_{snap.get('latest_status') or 'submitted'}")
        lines.append(
            Msg("weekly.intro.has_version", {"number": snap["latest_number"], "status": status})
        )
    if snap.get("resumed"):
        lines.append(Msg("weekly.intro.resumed"))
    lines.append(Msg("weekly.intro.hint"))
    return lines


def _header(step: str) -> Msg:
    section = step.split("_")[0]
    return Msg("weekly.step", {"n": STEP_NO[step], "title": Msg(f"weekly.section.{section}")})


def _lead_label(o: LeadOption, width: int) -> Msg:
    return Msg("weekly.leads.button", {"code": o.code, "project": o.project[:width]})


def preview_view(snap: dict[str, Any], by: str) -> SubmissionView:
    """The draft as the submission it would become (number 0: not filed yet)."""
    content = snap.get("content") or {}

    def lead(i: Any) -> LeadOption:
        return _name(snap, int(i)) or LeadOption(int(i), f"L{int(i):04d}", "", "")

    progress = tuple(
        ProgressLine(
            lead(p["lead"]).code,
            lead(p["lead"]).project,
            p.get("text", ""),
            p.get("from"),
            p.get("stage"),
        )
        for p in content.get("progress") or []
    )
    return SubmissionView(
        snap["unit"],
        snap["period"],
        0,
        by,
        None,
        bool(snap.get("late")),
        tuple(lead(i) for i in content.get("leads") or []),
        tuple(content.get("trips") or []),
        progress,
        content.get("work") or "",
    )


# --- the steps: what each asks, its buttons, and what an answer does ----------------------------


Rows = list[list[tuple[Label, str]]]


def _ask_leads(ctx: FormContext, draft: Draft) -> list[Msg]:
    snap = _snap(draft)
    key = "weekly.leads.ask" if snap.get("period_leads") else "weekly.leads.empty"
    return [_header("leads"), Msg(key, {"since": snap.get("since", "")})]


def _rows_leads(ctx: FormContext, draft: Draft) -> Rows:
    snap = _snap(draft)
    chosen = set((snap.get("content") or {}).get("leads") or [])
    rows: Rows = []
    for o in _options(snap, "period_leads"):
        mark = "✅ " if o.lead_id in chosen else "▫️ "
        rows.append([(mark + _lead_label(o, 24).plain(ctx.locale), f"l{o.lead_id}")])
    rows.append([(Msg("weekly.button.quick_add"), "quick")])
    if chosen:
        rows.append([(Msg("weekly.button.done_count", {"count": len(chosen)}), "done")])
    else:
        rows.append([(Msg("weekly.button.none"), "none")])
    return _with_current(draft, rows)


def _with_current(draft: Draft, rows: Rows) -> Rows:
    """A unit owing last week may switch to this week's form, from the first question
    (its button comes first, as it did on the intro)."""
    if draft.scratch.get("offer_current"):
        return [[(Msg("weekly.button.this_week"), "current")], *rows]
    return rows


def _ask_trips(ctx: FormContext, draft: Draft) -> list[Msg]:
    trips = (_snap(draft).get("content") or {}).get("trips") or []
    lines = [_header("trips"), Msg("weekly.trips.ask")]
    if trips:
        lines.append(Msg("weekly.trips.so_far", {"count": len(trips)}))
        lines += [Msg("weekly.view.numbered", {"n": i, "text": t}) for i, t in enumerate(trips, 1)]
    return lines


def _rows_list(section: str) -> Callable[[FormContext, Draft], Rows]:
    def rows(ctx: FormContext, draft: Draft) -> Rows:
        items = (_snap(draft).get("content") or {}).get(section) or []
        if items:
            return _with_current(
                draft, [[(Msg("weekly.button.done"), "done"), (Msg("weekly.button.undo"), "undo")]]
            )
        return _with_current(draft, [[(Msg("weekly.button.none"), "none")]])

    return rows


def _ask_progress(ctx: FormContext, draft: Draft) -> list[Msg]:
    snap = _snap(draft)
    entries = (snap.get("content") or {}).get("progress") or []
    lines = [_header("progress")]
    if entries:
        lines.append(Msg("weekly.progress.so_far", {"count": len(entries)}))
        for i, p in enumerate(entries, 1):
            o = _name(snap, int(p["lead"]))
            stage = (
                Msg("weekly.view.stage_change", {"from": p.get("from") or "?", "to": p["stage"]})
                if p.get("stage")
                else ""
            )
            lines.append(
                Msg(
                    "weekly.view.progress_line",
                    {
                        "n": i,
                        "code": o.code if o else "?",
                        "project": o.project if o else "",
                        "text": p.get("text", ""),
                        "stage": stage,
                    },
                )
            )
    key = "weekly.progress.ask" if snap.get("unit_leads") else "weekly.progress.no_leads"
    lines.append(Msg(key))
    return lines


def _rows_progress(ctx: FormContext, draft: Draft) -> Rows:
    snap = _snap(draft)
    buttons: list[tuple[Label, str]] = [
        (_lead_label(o, 16), f"p{o.lead_id}") for o in _options(snap, "unit_leads")
    ]
    rows: Rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return rows + _rows_list("progress")(ctx, draft)


def _ask_progress_text(ctx: FormContext, draft: Draft) -> list[Msg]:
    snap = _snap(draft)
    o = _name(snap, int(snap.get("lead") or 0))
    return [
        _header("progress"),
        Msg(
            "weekly.progress.ask_text",
            {
                "code": o.code if o else "?",
                "project": o.project if o else "",
                "limit": wk.PROGRESS_TEXT_MAX,
            },
        ),
    ]


def _rows_progress_text(ctx: FormContext, draft: Draft) -> Rows:
    return [[(Msg("weekly.button.back"), "back")]]


def _ask_progress_stage(ctx: FormContext, draft: Draft) -> list[Msg]:
    snap = _snap(draft)
    o = _name(snap, int(snap.get("lead") or 0))
    return [
        _header("progress"),
        Msg(
            "weekly.progress.ask_stage",
            {"code": o.code if o else "?", "stage": o.stage if o else ""},
        ),
    ]


def _rows_progress_stage(ctx: FormContext, draft: Draft) -> Rows:
    snap = _snap(draft)
    o = _name(snap, int(snap.get("lead") or 0))
    stages = list(ctx.settings.stages)
    ahead = wk.forward_stages(config(ctx), o.stage if o else "")
    buttons: list[tuple[Label, str]] = [(s, f"s{stages.index(s)}") for s in ahead if s in stages]
    rows: Rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([(Msg("weekly.button.stage_keep"), "keep")])
    return rows


def _ask_work(ctx: FormContext, draft: Draft) -> list[Msg]:
    return [_header("work"), Msg("weekly.work.ask", {"limit": wk.WORK_MAX})]


def _rows_work(ctx: FormContext, draft: Draft) -> Rows:
    return _with_current(draft, [[(Msg("weekly.button.none"), "none")]])


def _ask_preview(ctx: FormContext, draft: Draft) -> list[Msg]:
    snap = _snap(draft)
    view = preview_view(snap, ctx.actor.display_name)
    lines = wk.view_lines(view, ctx.locale, title="weekly.preview.title")
    if snap.get("latest_number"):
        lines += [Msg("weekly.preview.replaces", {"number": snap["latest_number"]})]
    if snap.get("late"):
        lines.append(Msg("weekly.preview.late"))
    return lines


def _rows_preview(ctx: FormContext, draft: Draft) -> Rows:
    snap = _snap(draft)
    return _with_current(
        draft,
        [
            [(Msg("weekly.button.submit"), f"ok{snap.get('draft', 0)}-{snap.get('rev', 0)}")],
            [
                (Msg("weekly.button.edit_leads"), "e-leads"),
                (Msg("weekly.button.edit_trips"), "e-trips"),
            ],
            [
                (Msg("weekly.button.edit_progress"), "e-progress"),
                (Msg("weekly.button.edit_work"), "e-work"),
            ],
            [(Msg("weekly.button.later"), "later"), (Msg("weekly.button.discard"), "discard")],
        ],
    )


def _lead_key(key: str | None, prefix: str) -> int | None:
    if key and key.startswith(prefix) and key[len(prefix) :].isdigit():
        return int(key[len(prefix) :])
    return None


async def _answer(ctx: FormContext, draft: Draft, step: str, answer: Answer) -> Turn:
    """One answer to one section: the service call it means, and where the form goes next."""
    cfg, s, now, actor = config(ctx), ctx.session, ctx.now, ctx.actor
    text, key = answer.text, answer.key
    none = text is not None and wk.is_none_answer(text)
    content = _snap(draft).get("content") or {}
    notes: tuple[Msg, ...] = ()
    keys_only = False
    f: wk.Form
    if key == "current":
        f = await wk.open_form(s, now, cfg, actor, current=True)
        draft.scratch = {"w": snapshot(f, cfg, ctx.locale)}
        return Turn(goto=where(f), notes=tuple(intro(ctx, draft.scratch["w"])))
    if step == "leads":
        ref = _lead_key(key, "l") or (wk.parse_lead_ref(text) if text is not None else None)
        if key == "quick":
            return Turn(goto="leads", notes=(Msg("weekly.quick_add"),))
        if none or key == "none":
            f = await wk.set_none(s, now, cfg, actor, "leads")
        elif key == "done":
            f = await wk.finish_section(s, now, cfg, actor, "leads")
        elif ref is not None:
            f = await wk.toggle_lead(s, now, cfg, actor, ref)
            keys_only = key is not None  # a toggle redraws the buttons it was pressed on
        else:
            raise FieldError("weekly.leads.use_buttons")
    elif step in ("trips", "progress"):
        ref = _lead_key(key, "p") if step == "progress" else None
        if text is not None and step == "progress" and not none:
            ref = wk.parse_lead_ref(text)
        if none or key in ("none", "done"):
            finish = key == "done" or (none and content.get(step))
            f = await (wk.finish_section if finish else wk.set_none)(s, now, cfg, actor, step)
        elif key == "undo":
            f = await wk.undo_last(s, now, cfg, actor, step)
        elif step == "trips" and text is not None:
            f = await wk.add_trip(s, now, cfg, actor, text)
            notes = (Msg("weekly.saved"),)
        elif ref is not None:
            f = await wk.pick_progress_lead(s, now, cfg, actor, ref)
        elif step == "progress":
            raise FieldError("weekly.progress.use_buttons")
        else:
            raise FieldError("fallback.stale_button")
    elif step == "progress_text":
        if key == "back":
            f = await wk.reset_section(s, now, cfg, actor, "progress")
        elif text is not None:
            f = await wk.set_progress_text(s, now, cfg, actor, text)
        else:
            raise FieldError("fallback.stale_button")
    elif step == "progress_stage":
        stages = list(ctx.settings.stages)
        index = _lead_key(key, "s")
        if key == "keep":
            f = await wk.set_progress_stage(s, now, cfg, actor, None)
        elif index is not None and index < len(stages):
            f = await wk.set_progress_stage(s, now, cfg, actor, stages[index])
        else:
            raise FieldError("weekly.progress.stage_buttons")
    elif step == "work":
        if none or key == "none":
            f = await wk.set_none(s, now, cfg, actor, "work")
        elif text is not None:
            f = await wk.set_work(s, now, cfg, actor, text)
        else:
            raise FieldError("fallback.stale_button")
    else:
        raise FieldError("fallback.stale_button")
    draft.scratch = {"w": snapshot(f, cfg, ctx.locale)}
    return Turn(goto=where(f), notes=notes, keys_only=keys_only)


async def _preview(ctx: FormContext, draft: Draft, answer: Answer) -> Turn:
    key = answer.key or ""
    if answer.text is not None:
        raise FieldError("weekly.preview.use_buttons")
    if key.startswith("ok") and "-" in key:
        number, _, rev = key[2:].partition("-")
        if number.isdigit() and rev.isdigit():
            draft.scratch["submit"] = [int(number), int(rev)]
            return Turn(save=True)
    if key in ("later", "discard"):
        if key == "discard":
            await wk.discard(ctx.session, ctx.actor)
        return Turn(close=(Msg("weekly.discarded" if key == "discard" else "weekly.later"),))
    if key == "current":
        return await _answer(ctx, draft, PREVIEW, answer)
    if key.startswith("e-") and key[2:] in wk.SECTIONS:
        cfg = config(ctx)
        f = await wk.reset_section(ctx.session, ctx.now, cfg, ctx.actor, key[2:])
        draft.scratch = {"w": snapshot(f, cfg, ctx.locale)}
        return Turn(goto=where(f))
    raise FieldError("fallback.stale_button")


def _handler(step: str) -> Handler:
    async def handle(ctx: FormContext, draft: Draft, answer: Answer) -> Turn:
        draft.scratch.pop("offer_current", None)
        try:
            if step == PREVIEW:
                return await _preview(ctx, draft, answer)
            return await _answer(ctx, draft, step, answer)
        except ServiceError as err:
            if err.code == "weekly.form.gone":  # the service's draft went (another device)
                return Turn(close=(Msg(err.code),))
            raise FieldError(err.code, **err.params) from err

    return handle


def _step(
    name: str,
    ask: Callable[[FormContext, Draft], list[Msg]],
    rows: Callable[[FormContext, Draft], Rows],
) -> Step:
    return Step(name, counted=False, ask=ask, rows=rows, handle=_handler(name))


# --- begin and save ---------------------------------------------------------------------------


async def _begin(ctx: FormContext, draft: Draft) -> Msg | None:
    """Open (or resume) the service's draft; refuse outsiders and skipped weeks."""
    cfg = config(ctx)
    try:
        f = await wk.open_form(ctx.session, ctx.now, cfg, ctx.actor)
    except ServiceError as err:
        return Msg(err.code, err.params)
    if f.state.skipped is not None:
        period = wk.period_label(f.period.key, ctx.locale)
        return Msg("weekly.skipped_note", {"period": period, "reason": f.state.skipped or "—"})
    draft.scratch = {"w": snapshot(f, cfg, ctx.locale), "offer_current": f.late}
    draft.step = where(f)
    return None


def _notes(ctx: FormContext, draft: Draft) -> list[Msg]:
    return intro(ctx, _snap(draft))


def _submitted(result: wk.SubmitResult, locale: str) -> Msg:
    period = wk.period_label(result.view.period_key, locale)
    if result.status == VersionStatus.CONFIRMED:
        key = "weekly.submitted.late" if result.late else "weekly.submitted.on_time"
        return Msg(key, {"number": result.number, "period": period})
    heads = "、".join(h.name for h in result.heads) or Msg("weekly.view.none")
    return Msg(
        "weekly.submitted.waiting", {"number": result.number, "period": period, "heads": heads}
    )


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    """提交: the service files the version; the heads' requests are planned with it."""
    number, rev = draft.scratch.get("submit") or [0, 0]
    try:
        result = await wk.submit(
            ctx.session, ctx.now, config(ctx), ctx.actor, int(number), int(rev), ctx.settings
        )
    except ServiceError as err:
        if err.code == "weekly.submit.already":  # the draft was filed elsewhere: nothing to do
            return [Msg(err.code)]
        raise
    await wk.ask_heads(
        ctx.session, ctx.now, result, default_locale=ctx.settings.locale, zone=config(ctx).zone
    )
    said = [_submitted(result, ctx.locale)]
    for code, before, after in result.stage_changes:
        said.append(Msg("weekly.submitted.stage", {"code": code, "from": before, "to": after}))
    if result.stage_refused:
        said.append(
            Msg("weekly.submitted.stage_refused", {"codes": "、".join(result.stage_refused)})
        )
    if result.status == VersionStatus.SUBMITTED and not result.heads:
        said.append(Msg("weekly.submitted.no_head"))
    return said


def _gone(value: Choose | Act | Edit) -> Msg | None:
    """A preview's 提交 pressed again once the form is closed: it was filed already."""
    if isinstance(value, Choose) and value.step == PREVIEW and value.key.startswith("ok"):
        return Msg("weekly.submit.already")
    return None


def form() -> Form:
    return Form(
        name=NAME,
        prefix="w",
        steps=(
            _step("leads", _ask_leads, _rows_leads),
            _step("trips", _ask_trips, _rows_list("trips")),
            _step("progress", _ask_progress, _rows_progress),
            _step("progress_text", _ask_progress_text, _rows_progress_text),
            _step("progress_stage", _ask_progress_stage, _rows_progress_stage),
            _step("work", _ask_work, _rows_work),
            _step(PREVIEW, _ask_preview, _rows_preview),
        ),
        save=_save,
        begin=_begin,
        notes=_notes,
        texts="weeklyform",
        gone=_gone,
    )
