"""``/app/report``: a new lead on one screen, checked by the same parsers as the chat form.

The fields, their order, their catalog labels and their parsers are the chat form's
(:data:`FIELDS` mirrors ``handlers/report.py``'s steps); the save is the same service
call (:func:`bot.services.leads.report_lead`), so the first-report rule, the L-code and
scoring are decided in one place whichever screen the liaison used.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.amounts import AmountError, format_wan_human, parse_usd, parse_wan
from bot.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    FieldError,
    clean_line,
    parse_phone,
)
from bot.services import ServiceError, Services
from bot.services.leads import LeadDraft, check_company, report_lead
from handlers.web.html import (
    PageContext,
    checkboxes,
    esc,
    field_row,
    select,
    text_input,
)
from handlers.web.pages import html_response, page

if TYPE_CHECKING:
    from handlers.web.server import WebRequestContext


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | choice | tags | amount | usd | phone | notes
    optional: bool = False
    limit: int = 0
    options: str = ""  # the settings attribute with the choices


FIELDS: tuple[Field, ...] = (
    Field("project", "text", limit=PROJECT_MAX),
    Field("company", "text", limit=COMPANY_MAX),
    Field("industry", "choice", options="industries"),
    Field("amount", "amount"),
    Field("origin", "choice", options="origins"),
    Field("stage", "choice", options="stages"),
    Field("tags", "tags", optional=True, options="tags"),
    Field("foreign", "usd", optional=True),
    Field("contact", "text", optional=True, limit=CONTACT_MAX),
    Field("phone", "phone", optional=True),
    Field("channel", "choice", optional=True, options="channels"),
    Field("notes", "notes", optional=True, limit=NOTES_MAX),
)


class ReportView:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings

    def _choices(self, f: Field) -> list[str]:
        return list(getattr(self.settings, f.options)) if f.options else []

    # -- the page ---------------------------------------------------------------------------
    async def page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        if ctx.actor.unit_id is None:
            raise ServiceError("report.no_unit")
        return html_response(self._render(ctx.page, {}, {}, ctx.actor.unit_name or ""))

    def _render(
        self,
        pc: PageContext,
        values: dict[str, Any],
        errors: dict[str, str],
        unit: str,
        status: str = "",
    ) -> str:
        rows = [f'<p class="hint">{pc.t("web.report.intro", unit=unit)}</p>', status]
        for f in FIELDS:
            rows.append(self._row(pc, f, values, errors.get(f.name, "")))
        rows.append(f'<p class="hint">{pc.t("web.report.files_in_chat")}</p>')
        body = (
            '<form method="post" action="/app/report" id="report-form" class="card" novalidate>'
            f'<input type="hidden" name="csrf" value="{esc(pc.csrf)}">'
            f'<input type="hidden" name="same_as" id="same_as" value="{esc(values.get("same_as", ""))}">'
            + "".join(rows)
            + f'<button type="submit" class="primary" id="save">{pc.t("web.report.save")}</button></form>'
        )
        return page(pc, "report", pc.p("web.report.title"), body)

    def _row(self, pc: PageContext, f: Field, values: dict[str, Any], error: str) -> str:
        label = pc.t(f"report.field.{f.name}")
        value = values.get(f.name, "")
        required = not f.optional
        if f.kind == "choice":
            options = self._choices(f)
            default = options[0] if f.name == "stage" and options else ""
            control = select(
                f.name, options, value or default, required=required, empty=pc.p("web.report.pick")
            )
        elif f.kind == "tags":
            control = checkboxes(f.name, self._choices(f), values.get("tags", ()))
        elif f.kind == "notes":
            control = f'<textarea id="notes" name="notes" maxlength="{f.limit}" rows="3">{esc(value)}</textarea>'
        else:
            mode = {"phone": "tel"}.get(f.kind, "")
            attrs = 'autocomplete="off"' + (' data-check="company"' if f.name == "company" else "")
            attrs += ' data-preview="amount"' if f.kind == "amount" else ""
            control = text_input(
                f.name,
                value,
                required=required,
                maxlength=f.limit or 40,
                inputmode=mode,
                attrs=attrs,
            )
        hint = (
            pc.p(f"web.report.hint.{f.name}")
            if f.name in ("amount", "foreign", "company", "phone")
            else ""
        )
        row = field_row(f.name, label, control, hint=esc(hint), required=required)
        if error:
            row = row.replace(
                f'id="{f.name}-err" role="alert"></div>',
                f'id="{f.name}-err" role="alert" class="show">{esc(error)}</div>',
            )
        return row

    # -- saving -----------------------------------------------------------------------------
    async def save(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        actor = ctx.actor
        if actor.unit_id is None:
            raise ServiceError("report.no_unit")
        form = await request.post()
        values: dict[str, Any] = {f.name: str(form.get(f.name, "") or "") for f in FIELDS}
        values["tags"] = [str(t) for t in form.getall("tags", [])]
        values["same_as"] = str(form.get("same_as", "") or "")
        parsed, errors = self._parse(ctx.page, values)
        if errors:
            return html_response(
                self._render(ctx.page, values, errors, actor.unit_name or ""), status=400
            )
        draft = LeadDraft(**parsed)
        async with self.services.db.session() as session:
            result = await report_lead(
                session, self.services.clock.now(), actor, draft, self.settings
            )
        raise web.HTTPSeeOther(f"/app/leads/{result.code}?saved=1")

    def _parse(
        self, pc: PageContext, values: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        parsed: dict[str, Any] = {}
        errors: dict[str, str] = {}
        names = {
            "contact": "contact_name",
            "phone": "contact_phone",
            "foreign": "foreign_usd",
            "amount": "amount_wan",
        }
        for f in FIELDS:
            raw = values["tags"] if f.kind == "tags" else values[f.name].strip()
            if f.optional and not raw:
                continue
            try:
                parsed[names.get(f.name, f.name)] = self._value(f, raw)
            except AmountError as err:
                errors[f.name] = pc.p(f"report.amount.{err.code}")
            except FieldError as err:
                errors[f.name] = pc.p(err.code, **err.params)
        same = values.get("same_as", "")
        if same.isdigit() and len(same) <= 9:
            parsed["same_as"] = int(same)
        return parsed, errors

    def _value(self, f: Field, raw: Any) -> Any:
        if f.kind == "amount":
            return parse_wan(raw)
        if f.kind == "usd":
            return parse_usd(raw)
        if f.kind == "phone":
            return parse_phone(raw)
        if f.kind == "tags":
            allowed = set(self._choices(f))
            return tuple(t for t in raw if t in allowed)
        if f.kind == "choice":
            if raw not in self._choices(f):
                raise FieldError("report.pick_button")
            return raw
        if not raw and not f.optional:
            raise FieldError("field.empty")
        return clean_line(raw, f.limit, multiline=f.kind == "notes")

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
