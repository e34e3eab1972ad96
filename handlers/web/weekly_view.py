"""``/app/weekly``: this week's submission on one screen, and the head's confirm / return.

The sections are the chat form's (new leads, trips, progress, work information); the
page writes them into the same draft through the same services and submits it with
:func:`bot.services.weekly.submit`, so deadlines, late marks, versions and the head's
confirmation work exactly as in the chat. Telling the heads (and, after a decision,
the submitter) goes through the runtime's hooks — the notifier — not through this page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.services import ServiceError, Services
from bot.services import weekly as wk
from handlers.web import notices
from handlers.web.html import PageContext, esc
from handlers.web.pages import Runtime, html_response, page
from storage import weekly_repo

if TYPE_CHECKING:
    from handlers.web.server import WebRequestContext


class WeeklyView:
    def __init__(self, services: Services, runtime: Runtime) -> None:
        self.services = services
        self.runtime = runtime

    async def page(
        self, request: web.Request, ctx: WebRequestContext, notice: str = "", status: int = 200
    ) -> web.StreamResponse:
        cfg = self.runtime.weekly()
        now = self.services.clock.now()
        pc = ctx.page
        async with self.services.db.session() as session:
            mine = await wk.my_status(session, now, cfg, ctx.actor)
            form = await wk.open_form(session, now, cfg, ctx.actor)
            leads = await wk.progress_leads(session, ctx.actor)
            waiting = (
                await _waiting_version(session, ctx)
                if ctx.actor.role and ctx.actor.role.value == "head"
                else None
            )
            review = (
                await wk.review_card(session, now, cfg, ctx.actor, waiting) if waiting else None
            )
        body = (
            notice
            + _status(pc, mine)
            + (_review(pc, waiting, review[0]) if waiting and review else "")
            + _form(pc, form, leads, cfg)
        )
        return html_response(page(pc, "weekly", pc.p("web.weekly.title"), body), status)

    async def save(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        cfg = self.runtime.weekly()
        now = self.services.clock.now()
        data = await request.post()
        chosen = {
            int(str(v)) for v in data.getall("leads", []) if str(v).isdigit() and len(str(v)) < 10
        }
        trips = [line for line in str(data.get("trips", "")).splitlines() if line.strip()]
        work = str(data.get("work", "")).strip()
        try:
            async with self.services.db.session() as session:
                form = await wk.open_form(session, now, cfg, ctx.actor)
                form = await _apply(session, now, cfg, ctx, form, chosen, trips, data, work)
                result = await wk.submit(
                    session, now, cfg, ctx.actor, form.draft_id, form.rev, self.services.settings
                )
                await notices.ask_heads(session, result, now, self.services.settings.locale)
        except ServiceError as err:
            notice = f'<p class="err show">{ctx.page.t(err.code, **err.params)}</p>'
            return await self.page(request, ctx, notice, status=400)
        if self.runtime.deliver is not None:  # planned and committed: send what is due now
            await self.runtime.deliver()
        key = (
            "web.weekly.submitted_waiting"
            if result.status == "submitted"
            else "web.weekly.submitted"
        )
        heads = "、".join(h.name for h in result.heads)
        notice = (
            f'<p class="ok" id="submitted">{ctx.page.t(key, number=result.number, heads=heads)}</p>'
        )
        return await self.page(request, ctx, notice)

    async def decide(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        data = await request.post()
        raw = str(data.get("version", ""))
        if not raw.isdigit() or len(raw) > 9:
            raise ServiceError("weekly.confirm.gone")
        confirm = data.get("action") == "confirm"
        async with self.services.db.session() as session:
            decision = await wk.decide(
                session,
                self.services.clock.now(),
                self.runtime.weekly(),
                ctx.actor,
                int(raw),
                confirm=confirm,
                reason=None if confirm else str(data.get("reason", "")),
            )
            await notices.tell_submitter(
                session, decision, self.services.clock.now(), self.services.settings.locale
            )
        if self.runtime.deliver is not None:
            await self.runtime.deliver()
        key = "web.weekly.confirmed" if confirm else "web.weekly.returned"
        notice = f'<p class="ok" id="decided">{ctx.page.t(key, number=decision.number, unit=decision.unit_name)}</p>'
        return await self.page(request, ctx, notice)


async def _waiting_version(session: object, ctx: WebRequestContext) -> int | None:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    return (
        await weekly_repo.waiting_version_id(session, ctx.actor.unit_id)
        if ctx.actor.unit_id
        else None
    )


async def _apply(
    session: object,
    now: object,
    cfg: wk.WeeklyConfig,
    ctx: WebRequestContext,
    form: wk.Form,
    chosen: set[int],
    trips: list[str],
    data: object,
    work: str,
) -> wk.Form:
    """Write the page's sections into the draft with the chat form's own service calls."""
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession) and isinstance(now, datetime)
    actor = ctx.actor
    current = set(form.content.get("leads") or [])
    for lead_id in sorted(current ^ chosen):
        form = await wk.toggle_lead(session, now, cfg, actor, lead_id)
    form = await wk.finish_section(session, now, cfg, actor, "leads")
    for _ in range(len(form.content.get("trips") or [])):
        form = await wk.undo_last(session, now, cfg, actor, "trips")
    for line in trips:
        form = await wk.add_trip(session, now, cfg, actor, line)
    form = await wk.finish_section(session, now, cfg, actor, "trips")
    for _ in range(len(form.content.get("progress") or [])):
        form = await wk.undo_last(session, now, cfg, actor, "progress")
    getter = getattr(data, "get")  # noqa: B009 - aiohttp's MultiDictProxy
    for lead in await wk.progress_leads(session, actor):  # one row per lead, as on the page
        text = str(getter(f"p{lead.lead_id}_text", "")).strip()
        stage = str(getter(f"p{lead.lead_id}_stage", "")) or None
        if stage == lead.stage:
            stage = None
        if not text:
            if stage is not None:  # the chat, too, asks for the progress before the stage
                raise ServiceError("web.weekly.stage_needs_text", lead=lead.code)
            continue
        form = await wk.pick_progress_lead(session, now, cfg, actor, lead.lead_id)
        form = await wk.set_progress_text(session, now, cfg, actor, text)
        form = await wk.set_progress_stage(session, now, cfg, actor, stage)
    form = await wk.finish_section(session, now, cfg, actor, "progress")
    if work and not wk.is_none_answer(work):
        form = await wk.set_work(session, now, cfg, actor, work)
    else:
        form = await wk.set_none(session, now, cfg, actor, "work")
    return form


def _status(pc: PageContext, mine: wk.MyStatus) -> str:
    s = mine.current
    label = wk.period_label(s.period.key, pc.locale)
    deadline = wk.when_text(s.info.deadline, pc.locale)
    state = (
        pc.t(f"web.weekly.state.{s.latest_status}")
        if s.latest_status
        else pc.t("web.weekly.state.none")
    )
    if s.accepted:
        state = pc.t("web.weekly.state.accepted")
    overdue = ""
    if mine.overdue is not None and not mine.overdue.done:
        overdue = f'<p class="err show">{pc.t("web.weekly.overdue", period=wk.period_label(mine.overdue.period.key, pc.locale))}</p>'
    return (
        f'<section class="card" id="weekly-status"><h2>{pc.t("web.weekly.period", period=label)}</h2>'
        f'<p>{pc.t("web.weekly.deadline", deadline=deadline)}</p><p id="weekly-state">{state}</p>{overdue}</section>'
    )


def _review(pc: PageContext, version_id: int, view: wk.SubmissionView) -> str:
    leads = "、".join(f"{o.code} {o.project}" for o in view.leads) or "—"
    trips = "；".join(view.trips) or "—"
    progress = "；".join(f"{p.code} {p.text}" for p in view.progress) or "—"
    csrf = f'<input type="hidden" name="csrf" value="{esc(pc.csrf)}"><input type="hidden" name="version" value="{version_id}">'
    return (
        f'<section class="card" id="review"><h2>{pc.t("web.weekly.review", number=view.number, by=view.submitted_by)}</h2>'
        f"<dl><dt>{pc.t('web.weekly.section.leads')}</dt><dd>{esc(leads)}</dd><dt>{pc.t('web.weekly.section.trips')}</dt><dd>{esc(trips)}</dd>"
        f"<dt>{pc.t('web.weekly.section.progress')}</dt><dd>{esc(progress)}</dd><dt>{pc.t('web.weekly.section.work')}</dt><dd>{esc(view.work or '—')}</dd></dl>"
        f'<form method="post" action="/app/weekly/decide">{csrf}<input type="hidden" name="action" value="confirm">'
        f'<button type="submit" class="primary" id="confirm">{pc.t("weekly.button.confirm")}</button></form>'
        f'<form method="post" action="/app/weekly/decide">{csrf}<input type="hidden" name="action" value="return">'
        f'<label for="reason">{pc.t("web.weekly.reason")}</label><textarea id="reason" name="reason" rows="2" required maxlength="500"></textarea>'
        f'<button type="submit" id="return">{pc.t("weekly.button.return")}</button></form></section>'
    )


def _progress_rows(
    pc: PageContext, form: wk.Form, leads: list[wk.LeadOption], cfg: wk.WeeklyConfig
) -> list[str]:
    """One row per lead of the unit: its progress (optional) and a stage select that starts
    at the lead's current stage and offers only the stages ahead, as the chat's buttons do."""
    written = {int(p["lead"]): p for p in form.content.get("progress") or [] if p.get("lead")}
    rows = []
    for o in leads:
        entry = written.get(o.lead_id, {})
        chosen = entry.get("stage") or ""
        ahead = "".join(
            f'<option value="{esc(s)}"{" selected" if s == chosen else ""}>{esc(s)}</option>'
            for s in wk.forward_stages(cfg, o.stage)
        )
        current = (
            f'<option value="">{esc(pc.p("web.weekly.stage_current", stage=o.stage))}</option>'
        )
        label = f"{o.code} {o.project}"
        rows.append(
            f'<div class="progress-row" id="p{o.lead_id}"><label for="p{o.lead_id}_text">{esc(label)}</label>'
            f'<input type="text" name="p{o.lead_id}_text" id="p{o.lead_id}_text" maxlength="1000" value="{esc(entry.get("text", ""))}" placeholder="{esc(pc.p("web.weekly.progress_hint"))}">'
            f'<select name="p{o.lead_id}_stage" id="p{o.lead_id}_stage" aria-label="{esc(label)} {esc(pc.p("report.field.stage"))}">{current}{ahead}</select></div>'
        )
    return rows or [f'<p class="hint">{pc.t("web.weekly.no_progress_leads")}</p>']


def _form(pc: PageContext, form: wk.Form, leads: list[wk.LeadOption], cfg: wk.WeeklyConfig) -> str:
    chosen = set(form.content.get("leads") or [])
    options = form.period_leads or form.unit_leads
    boxes = (
        "".join(
            f'<label class="chip"><input type="checkbox" name="leads" value="{o.lead_id}"{" checked" if o.lead_id in chosen else ""}>'
            f"<span>{esc(o.code)} {esc(o.project)}</span></label>"
            for o in options
        )
        or f'<p class="hint">{pc.t("web.weekly.no_leads")}</p>'
    )
    trips = "\n".join(form.content.get("trips") or [])
    rows = _progress_rows(pc, form, leads, cfg)
    work = form.content.get("work") or ""
    late = f'<p class="err show">{pc.t("web.weekly.late")}</p>' if form.late else ""
    return (
        f'<form method="post" action="/app/weekly" class="card" id="weekly-form">{late}'
        f'<input type="hidden" name="csrf" value="{esc(pc.csrf)}">'
        f'<fieldset><legend>{pc.t("web.weekly.section.leads")}</legend><div class="chips">{boxes}</div></fieldset>'
        f'<div class="field"><label for="trips">{pc.t("web.weekly.section.trips")}</label>'
        f'<textarea id="trips" name="trips" rows="3" placeholder="{esc(pc.p("web.weekly.trips_hint"))}">{esc(trips)}</textarea></div>'
        f"<fieldset><legend>{pc.t('web.weekly.section.progress')}</legend>{''.join(rows)}</fieldset>"
        f'<div class="field"><label for="work">{pc.t("web.weekly.section.work")}</label>'
        f'<textarea id="work" name="work" rows="3" placeholder="{esc(pc.p("web.weekly.work_hint"))}">{esc(work)}</textarea></div>'
        f'<button type="submit" class="primary" id="submit">{pc.t("web.weekly.submit")}</button></form>'
    )
