"""``/app/report``: a new lead on one screen — the chat's ``/report`` form, rendered whole.

The fields, their order, labels, parsers, choices and the save are the form definition's
(:func:`bot.forms.report.form`): the chat asks its steps one at a time, this page shows them
all at once and checks each with the same parser, so the first-report rule, the L-code and
scoring are decided in one place whichever screen the liaison used.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from bot.domain.amounts import AmountError, format_wan_human, parse_usd, parse_wan
from bot.domain.leadfields import COMPANY_MAX, clean_line
from bot.forms import report as report_form
from bot.forms.model import Draft, FieldError, FormContext, Kind, Step, label_text
from bot.services import ServiceError, Services, attachments
from bot.services.leads import check_company
from handlers.web.html import (
    PageContext,
    checkboxes,
    esc,
    field_row,
    select_box,
    text_input,
)
from handlers.web.pages import html_response, page

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from handlers.web.server import WebRequestContext

# How a step looks on a page (the chat needs no such hint): presentation only.
WIDGETS = {
    "notes": "textarea",
    "amount": "amount",
    "foreign": "usd",
    "tax_wan": "amount",
    "phone": "tel",
    "company": "company",
}
LIMITS = {
    "project": 200,
    "company": 200,
    "contact": 64,
    "phone": 32,
    "amount": 40,
    "foreign": 40,
    "tax_wan": 40,
    "outside_share": 20,
}
HINTS = ("amount", "foreign", "company", "phone", "outside_share", "tax_wan")
MB = 1024 * 1024
UNSAVED_MAX = 30  # uploads a person may keep waiting for a save: an abandoned page costs little


class ReportView:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.form = report_form.form()

    def _steps(self, draft: Draft) -> list[Step]:
        """The steps a page shows as fields: every numbered one the draft asks; the file
        step is its own row (uploads). A step that hangs on an earlier answer (the tax, for 服务业) is shown until
        that answer rules it out; on saving, one the answers rule out is not read."""
        return [
            s
            for s in self.form.steps
            if s.counted and s.kind is not Kind.FILES and s.applies(draft)
        ]

    def _draft(self, fc: FormContext, values: dict[str, Any]) -> Draft:
        """A draft as the chat's form begins it: the questions the rules file asks."""
        draft = Draft(self.form.name, "", values)
        report_form.questions(fc, draft)
        return draft

    def _context(self, session: AsyncSession, ctx: WebRequestContext) -> FormContext:
        person = f"web:{ctx.session.user.channel}:{ctx.session.user.user_id}"
        return FormContext(
            session, self.services, ctx.actor, person, self.services.clock.now(), ctx.page.locale
        )

    # -- the page ---------------------------------------------------------------------------
    async def page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        if ctx.actor.unit_id is None:
            raise ServiceError("report.no_unit")
        async with self.services.db.session() as session:
            html = await self._render(self._context(session, ctx), ctx.page, {}, {})
        return html_response(html)

    async def _render(
        self,
        fc: FormContext,
        pc: PageContext,
        values: dict[str, Any],
        errors: dict[str, str],
        files: list[dict[str, Any]] | None = None,
    ) -> str:
        draft = self._draft(fc, dict(values))
        rows = [f'<p class="hint">{pc.t("web.report.intro", unit=fc.actor.unit_name or "")}</p>']
        for step in self._steps(self._draft(fc, {})):
            rows.append(await self._row(fc, pc, step, draft, errors.get(step.key, "")))
        rows.append(_files_row(pc, files or []))
        body = (
            '<form method="post" action="/app/report" id="report-form" class="card" novalidate>'
            f'<input type="hidden" name="csrf" value="{esc(pc.csrf)}">'
            f'<input type="hidden" name="same_as" id="same_as" value="{esc(values.get("same_as", ""))}">'
            + "".join(rows)
            + f'<button type="submit" class="primary" id="save">{pc.t("web.report.save")}</button></form>'
        )
        return page(pc, "report", pc.p("web.report.title"), body)

    async def _options(self, fc: FormContext, step: Step, draft: Draft) -> list[str]:
        if step.choices is None:
            return []
        return [label_text(o.label, fc.locale) for o in step.choices(fc, draft)]

    async def _row(
        self, fc: FormContext, pc: PageContext, step: Step, draft: Draft, error: str
    ) -> str:
        name = step.key
        label = pc.t(f"report.field.{step.name}")
        value = draft.values.get(name, "")
        required = not step.optional
        if step.kind is Kind.CHOICE:
            options = await self._options(fc, step, draft)
            default = options[0] if name == "stage" and options else ""
            control = select_box(
                name, options, value or default, required=required, empty=pc.p("web.report.pick")
            )
        elif step.kind is Kind.MULTI:
            control = checkboxes(
                name, await self._options(fc, step, draft), draft.values.get(name) or ()
            )
        elif WIDGETS.get(name) == "textarea":
            control = f'<textarea id="{name}" name="{name}" maxlength="2000" rows="3">{esc(value)}</textarea>'
        else:
            widget = WIDGETS.get(name, "")
            attrs = 'autocomplete="off"' + (' data-check="company"' if widget == "company" else "")
            attrs += ' data-preview="amount"' if widget == "amount" else ""
            mode = "tel" if widget == "tel" else ""
            control = text_input(
                name,
                value,
                required=required,
                maxlength=LIMITS.get(name, 200),
                inputmode=mode,
                attrs=attrs,
            )
        hint = pc.p(f"web.report.hint.{name}") if name in HINTS else ""
        row = field_row(name, label, control, hint=esc(hint), required=required)
        if error:
            row = row.replace(
                f'id="{name}-err" role="alert"></div>',
                f'id="{name}-err" role="alert" class="show">{esc(error)}</div>',
            )
        return row

    # -- saving -----------------------------------------------------------------------------
    async def save(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        if ctx.actor.unit_id is None:
            raise ServiceError("report.no_unit")
        form = await request.post()
        tokens = [str(t) for t in form.getall("file", [])][: 5 * report_form.MAX_FILES]
        async with self.services.db.session() as session:
            fc = self._context(session, ctx)
            steps = self._steps(self._draft(fc, {}))
            raw: dict[str, Any] = {s.key: str(form.get(s.key, "") or "").strip() for s in steps}
            raw.update(
                {
                    s.key: [str(t) for t in form.getall(s.key, [])]
                    for s in steps
                    if s.kind is Kind.MULTI
                }
            )
            raw["same_as"] = str(form.get("same_as", "") or "")
            draft, errors = await self._parse(fc, raw)
            files = await attachments.claim(session, fc.person, tokens, report_form.MAX_FILES)
            if errors:
                html = await self._render(fc, ctx.page, raw, errors, files)
                return html_response(html, status=400)
            draft.values["files"] = files  # the form's save links them to the lead, in its commit
            said = await self.form.save(fc, draft)
            code = next((m.params.get("code") for m in said if m.params.get("code")), None)
        raise web.HTTPSeeOther(f"/app/leads/{code}?saved=1" if code else "/app/leads")

    async def _parse(self, fc: FormContext, raw: dict[str, Any]) -> tuple[Draft, dict[str, str]]:
        """Each field through its step's own parser or choices, as the chat does, all at once."""
        draft = self._draft(fc, {"tags": [], "files": []})
        errors: dict[str, str] = {}
        for step in self._steps(self._draft(fc, {})):
            if not step.applies(draft):  # ruled out by an earlier answer (tax, not 服务业)
                continue
            given = raw.get(step.key)
            if not given:
                if not step.optional:
                    errors[step.key] = FieldError("field.empty").code
                continue
            try:
                draft.values[step.key] = await self._value(fc, step, draft, given)
            except FieldError as err:
                errors[step.key] = fc_text(fc, err.code, err.params)
                continue
            if step.after is not None:
                await step.after(fc, draft)
        errors = {k: (fc_text(fc, v, {}) if v == "field.empty" else v) for k, v in errors.items()}
        near = {int(c["lead_id"]) for c in draft.scratch.get("near") or []}
        same = raw.get("same_as", "")
        if same.isdigit() and int(same) in near:  # only a candidate the check offered
            draft.values["same_as"] = int(same)
        return draft, errors

    async def _value(self, fc: FormContext, step: Step, draft: Draft, given: Any) -> Any:
        if step.kind in (Kind.CHOICE, Kind.MULTI):
            options = {
                label_text(o.label, fc.locale): o.value
                for o in (step.choices(fc, draft) if step.choices else [])
            }
            if step.kind is Kind.MULTI:
                return [options[g] for g in given if g in options]
            if given not in options:
                raise FieldError("report.pick_button")
            return options[given]
        assert step.parse is not None
        return step.parse(given, fc)

    # -- uploads ----------------------------------------------------------------------------
    async def upload(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        """One file, the raw body, sent by the page as soon as it is picked.

        Read in chunks up to the limit, so a huge or endless body costs at most
        :data:`attachments.MAX_BYTES` of memory and is refused, not stored.
        """
        pc = ctx.page
        if ctx.actor.unit_id is None:
            raise ServiceError("report.no_unit")
        limit = attachments.MAX_BYTES
        if (request.content_length or 0) > limit:
            return _file_error(pc, "attach.too_big", 413, mb=limit // MB)
        data = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            data += chunk
            if len(data) > limit:
                return _file_error(pc, "attach.too_big", 413, mb=limit // MB)
        name = unquote(request.headers.get("X-File-Name", ""))[:400]
        declared = request.headers.get("Content-Type", "")
        async with self.services.db.session() as session:
            person = self._context(session, ctx).person
            if await attachments.unsaved_count(session, person) >= UNSAVED_MAX:
                return _file_error(pc, "attach.too_many", 429, count=UNSAVED_MAX)
            stored = await attachments.store(
                session, person, name, declared, bytes(data), self.services.clock.now()
            )
        return web.json_response(
            {
                "ok": True,
                "token": stored.token,
                "name": stored.name,
                "size": stored.size,
                "kind": stored.kind,
            }
        )

    # -- live checks ------------------------------------------------------------------------
    async def company(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        """First report and near matches while typing: the chat's check, never the contacts."""
        name = request.query.get("name", "")
        try:
            company = clean_line(name, COMPANY_MAX)
        except FieldError:
            return web.json_response({"ok": True, "exact": None, "near": []})
        async with self.services.db.session() as session:
            found = await check_company(
                session, self.services.directory, company, self.settings.near_match_threshold
            )
        pc = ctx.page
        exact = None
        if found.exact is not None:
            exact = {
                "code": found.exact.code,
                "unit": found.exact.unit_name,
                "message": pc.p(
                    "web.report.duplicate",
                    code=found.exact.code,
                    unit=found.exact.unit_name,
                    date=found.exact.reported_at.astimezone(self.settings.zone).strftime(
                        "%Y-%m-%d"
                    ),
                ),
            }
        near = [
            {
                "lead_id": c.lead_id,
                "code": c.code,
                "project": c.project,
                "company": c.company,
                "unit": c.unit_name,
            }
            for c in found.near[:3]
        ]
        return web.json_response(
            {
                "ok": True,
                "exact": exact,
                "near": near,
                "near_title": pc.p("web.report.near_title") if near else "",
                "same_label": pc.p("web.report.same"),
                "different_label": pc.p("web.report.different"),
            }
        )

    async def amount(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        text = request.query.get("text", "")[:40]
        usd = request.query.get("kind") == "usd"
        try:
            value = parse_usd(text) if usd else parse_wan(text)
        except AmountError as err:
            return web.json_response(
                {"ok": False, "message": ctx.page.p(f"report.amount.{err.code}")}
            )
        shown = f"{value:,.0f} USD" if usd else format_wan_human(Decimal(value), ctx.page.locale)
        return web.json_response({"ok": True, "preview": shown})


def _files_row(pc: PageContext, files: list[dict[str, Any]]) -> str:
    """The attachments row: the page uploads each picked file at once (app.js) and keeps
    its token in a hidden ``file`` field, so the save only links what is already stored."""
    mb = attachments.MAX_BYTES // MB
    count = report_form.MAX_FILES
    kept = "".join(
        f'<li data-state="done"><span>{esc(f["name"])}</span>'
        f'<input type="hidden" name="file" value="{esc(attachments.token_of(f["file_id"]) or "")}">'
        f'<button type="button" class="remove">{pc.t("attach.remove")}</button></li>'
        for f in files
    )
    control = (
        f'<input type="file" id="files" multiple data-max-files="{count}"'
        f' data-max-bytes="{attachments.MAX_BYTES}"'
        f' data-too-big="{esc(pc.p("attach.too_big", mb=mb))}"'
        f' data-too-many="{esc(pc.p("attach.too_many", count=count))}"'
        f' data-failed="{esc(pc.p("attach.failed"))}"'
        f' data-uploading="{esc(pc.p("attach.uploading"))}"'
        f' data-remove="{esc(pc.p("attach.remove"))}">'
        f'<ul class="files" id="files-list">{kept}</ul>'
    )
    return field_row(
        "files",
        pc.p("report.field.files"),
        control,
        hint=esc(pc.p("attach.hint", mb=mb, count=count)),
    )


def _file_error(pc: PageContext, key: str, status: int, **params: Any) -> web.Response:
    return web.json_response(
        {"ok": False, "error": key, "message": pc.p(key, **params)}, status=status
    )


def fc_text(fc: FormContext, key: str, params: dict[str, Any]) -> str:
    from bot import catalog

    return catalog.plain(key, fc.locale, **params)
