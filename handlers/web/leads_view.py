"""``/app/leads``: the lead library, search and filters, and one lead's card with its history.

Everything shown comes from :mod:`bot.services.library`, which builds the outline for
other units' leads; the JSON endpoints return exactly what the pages show.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bot.domain.amounts import format_wan_human
from bot.services import Services, library
from bot.services.library import LibraryCard, LibraryPage, LibraryQuery
from handlers.web.html import PageContext, esc, select_box
from handlers.web.pages import Runtime, html_response, page

if TYPE_CHECKING:
    from handlers.web.server import WebRequestContext


class LeadsView:
    def __init__(self, services: Services, runtime: Runtime) -> None:
        self.services = services
        self.runtime = runtime

    def _query(self, request: web.Request) -> LibraryQuery:
        q = request.query
        unit = q.get("unit", "")
        page_no = q.get("page", "0")
        return LibraryQuery(
            words=q.get("q", "")[:60],
            stage=q.get("stage") or None,
            unit_id=int(unit) if unit.isdigit() and len(unit) < 10 else None,
            industry=q.get("industry") or None,
            period=(q.get("period") or "").strip()[:12] or None,
            page=int(page_no) if page_no.isdigit() and len(page_no) < 6 else 0,
        )

    async def _search(
        self, request: web.Request, ctx: WebRequestContext
    ) -> tuple[LibraryQuery, LibraryPage]:
        query = self._query(request)
        async with self.services.db.session() as session:
            found = await library.search(
                session, ctx.actor, self.services.settings, self.runtime.setup().periods, query
            )
        return query, found

    async def page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        query, found = await self._search(request, ctx)
        pc = ctx.page
        return html_response(
            page(
                pc,
                "leads",
                pc.p("web.leads.title"),
                _filters(pc, query, found) + _list(pc, query, found),
            )
        )

    async def json(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        _, found = await self._search(request, ctx)
        rows = [_plain(asdict(r)) for r in found.rows]
        return web.json_response(
            {
                "ok": True,
                "total": found.total,
                "page": found.page,
                "pages": found.pages,
                "rows": rows,
            }
        )

    async def _card(self, request: web.Request, ctx: WebRequestContext) -> LibraryCard:
        async with self.services.db.session() as session:
            return await library.lead_card(session, ctx.actor, request.match_info["code"][:12])

    async def card_page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        found = await self._card(request, ctx)
        pc = ctx.page
        saved = ""
        if request.query.get("saved"):
            key = "web.report.saved_duplicate" if found.card.duplicate_of else "web.report.saved"
            saved = f'<p class="ok" id="saved">{pc.t(key, code=found.card.code, first=found.card.duplicate_of or "")}</p>'
        body = saved + _card_html(pc, found, self.services.settings.zone)
        return html_response(page(pc, "leads", f"{found.card.code} {found.card.project}", body))

    async def card_json(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        found = await self._card(request, ctx)
        data: dict[str, Any] = {
            k: v for k, v in asdict(found.card).items() if v is not None or found.card.full
        }
        if not found.card.full:  # the outline, and nothing else, leaves the server
            data = {k: data.get(k) for k in ("code", "project", "unit_name", "stage", "full")}
        data["history"] = [_plain(asdict(h)) for h in found.history]
        if found.card.full:
            data["files"] = [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "url": f"/app/files/{f.token}" if f.token else None,
                }
                for f in found.files
            ]
        return web.json_response({"ok": True, "lead": _plain(data)})


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Decimal):
            out[k] = str(v)
        elif isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, tuple):
            out[k] = list(v)
        else:
            out[k] = v
    return out


def _filters(pc: PageContext, q: LibraryQuery, found: LibraryPage) -> str:
    units = "".join(
        f'<option value="{uid}"{" selected" if q.unit_id == uid else ""}>{esc(name)}</option>'
        for uid, name in found.units
    )
    return (
        '<form method="get" action="/app/leads" class="card filters" id="filters">'
        f'<input type="search" name="q" id="q" value="{esc(q.words)}" placeholder="{esc(pc.p("web.leads.search"))}" aria-label="{esc(pc.p("web.leads.search"))}">'
        '<div class="row">'
        f"<label>{pc.t('web.leads.stage')}{select_box('stage', found.stages, q.stage or '', empty=pc.p('web.leads.any'))}</label>"
        f'<label>{pc.t("web.leads.unit")}<select name="unit" id="unit"><option value="">{pc.t("web.leads.any")}</option>{units}</select></label>'
        f"<label>{pc.t('web.leads.industry')}{select_box('industry', found.industries, q.industry or '', empty=pc.p('web.leads.any'))}</label>"
        f'<label>{pc.t("web.leads.period")}<input type="text" name="period" id="period" value="{esc(q.period or "")}" placeholder="2026-11 / 2026-Q4"></label>'
        f'</div><button type="submit">{pc.t("web.leads.apply")}</button></form>'
    )


def _list(pc: PageContext, q: LibraryQuery, found: LibraryPage) -> str:
    if not found.rows:
        return f'<p class="empty">{pc.t("web.leads.none")}</p>'
    items = []
    for r in found.rows:
        extra = f'<span class="sub">{esc(r.company)} · {esc(r.industry)}</span>' if r.full else ""
        items.append(
            f'<li><a href="/app/leads/{esc(r.code)}"><b>{esc(r.code)}</b> {esc(r.project)}'
            f'<span class="meta">{esc(r.unit_name)} · {esc(r.stage)}</span>{extra}</a></li>'
        )
    nav = ""
    if found.pages > 1:
        base = {
            k: v
            for k, v in (
                ("q", q.words),
                ("stage", q.stage),
                ("unit", q.unit_id),
                ("industry", q.industry),
                ("period", q.period),
            )
            if v
        }
        prev_link = (
            f'<a href="/app/leads?{urlencode({**base, "page": found.page - 1})}">‹</a>'
            if found.page > 0
            else ""
        )
        next_link = (
            f'<a href="/app/leads?{urlencode({**base, "page": found.page + 1})}">›</a>'
            if found.page + 1 < found.pages
            else ""
        )
        nav = f'<p class="pager">{prev_link} {pc.t("web.leads.page", page=found.page + 1, pages=found.pages)} {next_link}</p>'
    return f'<p class="hint">{pc.t("web.leads.total", total=found.total)}</p><ul class="list" id="lead-list">{"".join(items)}</ul>{nav}'


def _card_html(pc: PageContext, found: LibraryCard, zone: Any) -> str:
    c = found.card
    rows: list[tuple[str, object]] = [
        (pc.p("report.field.project"), c.project),
        (pc.p("web.leads.unit"), c.unit_name),
        (pc.p("report.field.stage"), c.stage),
    ]
    if c.full:
        rows += [
            (pc.p("report.field.company"), c.company),
            (pc.p("web.leads.credit_code"), c.credit_code),
            (pc.p("report.field.industry"), c.industry),
            (
                pc.p("report.field.amount"),
                format_wan_human(c.amount_wan, pc.locale) if c.amount_wan is not None else "",
            ),
            (pc.p("report.field.origin"), c.origin),
            (pc.p("report.field.tags"), "、".join(c.tags)),
            (pc.p("report.field.foreign"), f"{c.foreign_usd:,.0f} USD" if c.foreign_usd else ""),
            (pc.p("report.field.contact"), c.contact_name),
            (pc.p("report.field.phone"), c.contact_phone),
            (pc.p("report.field.channel"), c.channel),
            (pc.p("report.field.notes"), c.notes),
            (pc.p("web.leads.reporter"), c.reporter),
            (
                pc.p("web.leads.reported_at"),
                c.reported_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if c.reported_at else "",
            ),
            (pc.p("web.leads.review"), pc.p(f"leads.review.state.{c.review or 'pending'}")),
            (pc.p("web.leads.duplicate_of"), c.duplicate_of),
        ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows if v)
    outline = "" if c.full else f'<p class="hint">{pc.t("web.leads.outline_only")}</p>'
    history = ""
    if found.history:
        lines = "".join(
            f"<li><time>{h.at.astimezone(zone).strftime('%m-%d %H:%M')}</time> "
            f"{pc.t(f'web.history.{h.kind}') if h.kind in _HISTORY_KINDS else esc(h.kind)} "
            f"{esc(h.from_value or '')}{' → ' if h.from_value else ''}{esc(h.to_value or '')}"
            f"{' · ' + esc(h.note) if h.note else ''}</li>"
            for h in found.history
        )
        history = (
            f'<h3>{pc.t("web.leads.history")}</h3><ol class="history" id="history">{lines}</ol>'
        )
    return (
        f'<section class="card" id="lead-card"><dl>{dl}</dl>{outline}{_files_html(pc, found)}'
        f"{history}</section>"
    )


def _files_html(pc: PageContext, found: LibraryCard) -> str:
    """The lead's attachments: a web upload opens from the page; a chat file is on its
    platform, where 重新接收附件 in the bot sends it again."""
    if not found.files:
        return ""
    items = []
    for f in found.files:
        name = esc(f.name or pc.p("report.field.files"))
        if f.token:
            items.append(f'<li><a href="/app/files/{esc(f.token)}" target="_blank">{name}</a></li>')
        else:
            items.append(f'<li>{name} <span class="hint">{pc.t("attach.in_chat")}</span></li>')
    return f'<h3>{pc.t("attach.heading")}</h3><ul class="files" id="files">{"".join(items)}</ul>'


_HISTORY_KINDS = frozenset({"report", "stage", "edit", "verify", "reject"})
