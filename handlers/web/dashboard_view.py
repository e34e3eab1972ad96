"""``/app/dashboard``: the leaders' screen — ranking with movement, a bar chart, each unit's
breakdown, the conversion funnel against seed 003's 75 % / 80 %, the 红黑榜, who is missing.

The numbers are the chat's: the ranking is :func:`bot.services.ranking.rank`, the same
call ``/rank`` makes, so the two can never disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.rendering.movement import move_text
from bot.rules.describe import num
from bot.services import ServiceError, Services, ranking, weekly
from bot.services.funnel import FunnelStep, jurisdiction_funnel
from bot.services.ranking import Board, RankTable, ScoreView
from handlers.web.charts import BarRow, bar_chart
from handlers.web.html import PageContext, esc
from handlers.web.pages import Runtime, html_response, page

if TYPE_CHECKING:
    from handlers.web.server import WebRequestContext

KINDS = ("week", "month", "quarter", "year")


class DashboardView:
    def __init__(self, services: Services, runtime: Runtime) -> None:
        self.services = services
        self.runtime = runtime

    def _kind(self, request: web.Request) -> str:
        kind = request.query.get("kind", "")
        return kind if kind in KINDS else self.services.settings.rank_default_period

    async def _table(
        self, request: web.Request, ctx: WebRequestContext
    ) -> tuple[RankTable, list[str]]:
        if not ctx.actor.is_leader:
            raise ServiceError("web.dashboard.leaders_only")
        category = request.query.get("category") or None
        async with self.services.db.session() as session:
            categories = await ranking.categories(session)
            if category not in categories:
                category = None
            table = await ranking.rank(
                session,
                self.runtime.setup(),
                self.services.clock.now(),
                self._kind(request),
                category,
            )
        return table, categories

    async def json(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        table, _ = await self._table(request, ctx)
        rows = [
            {
                "rank": r.rank,
                "unit_id": r.unit_id,
                "unit": r.unit_name,
                "category": r.category,
                "points": num(r.points),
                "move": r.move,
                "compare": r.compare,  # "move", "new" or "none" (nobody scored before)
            }
            for r in table.rows
        ]
        return web.json_response({"ok": True, "kind": table.kind, "key": table.key, "rows": rows})

    async def page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        table, categories = await self._table(request, ctx)
        setup = self.runtime.setup()
        now = self.services.clock.now()
        settings = self.services.settings
        async with self.services.db.session() as session:
            funnel = await jurisdiction_funnel(
                session, settings.stages, setup.funnel, setup.periods.span("year", now)
            )
            board = await ranking.board(
                session, setup, ranking.previous_month_key(setup, now), settings.board_top_n
            )
            overview = await weekly.overview(session, now, self.runtime.weekly())
        pc = ctx.page
        body = (
            _switcher(pc, table, categories)
            + _ranking(pc, table)
            + _funnel(pc, funnel)
            + _board(pc, board)
            + _missing(pc, overview)
        )
        return html_response(page(pc, "dashboard", pc.p("web.dashboard.title"), body))

    async def unit(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        raw = request.match_info["unit_id"]
        if not raw.isdigit() or len(raw) > 9:
            raise ServiceError("score.unknown_unit", name=raw[:20])
        from storage import repo

        async with self.services.db.session() as session:
            unit = await repo.unit_by_id(session, int(raw))
            if unit is None:
                raise ServiceError("score.unknown_unit", name=raw)
            view = await ranking.unit_score(
                session,
                self.runtime.setup(),
                self.services.clock.now(),
                ctx.actor,
                unit.name,
                self._kind(request),
            )
        pc = ctx.page
        return html_response(page(pc, "dashboard", view.unit_name, _breakdown(pc, view)))


def _switcher(pc: PageContext, table: RankTable, categories: list[str]) -> str:
    cat = f"&category={esc(table.category)}" if table.category else ""
    kinds = "".join(
        f'<a class="pill{" on" if k == table.kind else ""}" href="/app/dashboard?kind={k}{cat}">{pc.t(f"rank.button.{k}")}</a>'
        for k in KINDS
    )
    cats = "".join(
        f'<a class="pill{" on" if c == table.category else ""}" href="/app/dashboard?kind={table.kind}&category={esc(c)}">{esc(c)}</a>'
        for c in categories
    )
    every = f'<a class="pill{"" if table.category else " on"}" href="/app/dashboard?kind={table.kind}">{pc.t("web.dashboard.all_units")}</a>'
    return f'<nav class="pills">{kinds}</nav>' + (
        f'<nav class="pills">{every}{cats}</nav>' if categories else ""
    )


def _ranking(pc: PageContext, table: RankTable) -> str:
    title = pc.p("web.dashboard.ranking", period=table.span.label(pc.locale))
    if not table.rows:
        return f'<section class="card"><h2>{esc(title)}</h2><p class="empty">{pc.t("rank.no_units")}</p></section>'
    rows = "".join(
        f'<tr data-unit="{r.unit_id}"><td>{r.rank}</td><td><a href="/app/dashboard/unit/{r.unit_id}?kind={table.kind}">{esc(r.unit_name)}</a></td>'
        f'<td class="num points">{esc(num(r.points))}</td><td class="move">{esc(move_text(pc.locale, r.compare, r.move))}</td></tr>'
        for r in table.rows
    )
    # the chat's words: 新 for a unit new since, and no arrows when nobody scored before
    compared = any(r.compare != "none" for r in table.rows)
    footer = pc.t(
        "rank.footer" if compared else "rank.footer_none",
        previous=table.previous.label(pc.locale),
    )
    chart = bar_chart([BarRow(r.unit_name, r.points) for r in table.rows], title)
    return (
        f'<section class="card"><h2>{esc(title)}</h2>'
        f'<table class="rank" id="rank-table"><thead><tr><th>#</th><th>{pc.t("web.leads.unit")}</th>'
        f'<th class="num">{pc.t("web.dashboard.points")}</th><th></th></tr></thead><tbody>{rows}</tbody></table>'
        f'<p class="hint">{footer}</p>{chart}</section>'
    )


def _funnel(pc: PageContext, steps: tuple[FunnelStep, ...]) -> str:
    if not steps:
        return ""
    items = []
    for s in steps:
        rate = f"{s.rate}%" if s.rate is not None else "—"
        tone = " below" if s.below else ""
        width = int(min(s.rate or 0, 100))
        items.append(
            f'<li class="funnel{tone}"><span>{esc(s.from_stage)} → {esc(s.to_stage)}</span>'
            f'<span class="num">{rate}</span><span class="meta">{pc.t("web.dashboard.funnel_line", reached=s.reached, base=s.base, benchmark=s.benchmark)}</span>'
            f'<div class="meter"><i style="width:{width}%"></i><b style="left:{int(s.benchmark)}%"></b></div></li>'
        )
    return f'<section class="card"><h2>{pc.t("web.dashboard.funnel")}</h2><ul class="plain" id="funnel">{"".join(items)}</ul></section>'


def _board(pc: PageContext, board: Board) -> str:
    def names(rows: Any) -> str:
        return (
            "".join(
                f'<li>{esc(r.unit_name)} <span class="num">{esc(num(r.points))}</span></li>'
                for r in rows
            )
            or f"<li>{pc.t('web.dashboard.nobody')}</li>"
        )

    return (
        f'<section class="card" id="board"><h2>{pc.t("web.dashboard.board", month=board.month.label(pc.locale))}</h2>'
        f'<div class="two"><div><h3 class="red">{pc.t("web.dashboard.red")}</h3><ol>{names(board.top)}</ol></div>'
        f'<div><h3 class="black">{pc.t("web.dashboard.black")}</h3><ol>{names(board.bottom)}</ol></div></div></section>'
    )


def _missing(pc: PageContext, overview: weekly.Overview) -> str:
    missing = [s.unit_name for s in overview.units if not s.done]
    label = weekly.period_label(overview.period.key, pc.locale)
    if overview.skipped is not None:
        inner = f"<p>{pc.t('web.dashboard.week_skipped')}</p>"
    elif not missing:
        inner = f"<p>{pc.t('web.dashboard.none_missing')}</p>"
    else:
        inner = (
            '<ul class="chips-static">' + "".join(f"<li>{esc(n)}</li>" for n in missing) + "</ul>"
        )
    return f'<section class="card" id="missing"><h2>{pc.t("web.dashboard.missing", period=label, count=len(missing))}</h2>{inner}</section>'


def _breakdown(pc: PageContext, view: ScoreView) -> str:
    modules = "".join(
        f'<tr><td>{esc(m.name)}</td><td class="num">{esc(num(m.capped))}</td></tr>'
        for m in view.modules
    )
    rules = "".join(
        f'<tr><td>{esc(r.name)}</td><td class="num">{esc(num(r.points))}</td></tr>'
        for r in view.rules
    )
    funnel = "".join(
        f"<li>{esc(f.from_stage)} → {esc(f.to_stage)}: {esc(f'{f.rate}%' if f.rate is not None else '—')} "
        f"({pc.t('web.dashboard.funnel_line', reached=f.reached, base=f.base, benchmark=f.benchmark)})</li>"
        for f in view.funnel
    )
    return (
        f'<section class="card" id="breakdown"><h2>{pc.t("web.dashboard.unit_total", period=view.span.label(pc.locale), total=num(view.total), rank=view.rank, of=view.of_units)}</h2>'
        f'<table class="rank"><tbody>{modules}</tbody></table>'
        f'<h3>{pc.t("web.dashboard.by_rule")}</h3><table class="rank" id="rules"><tbody>{rules or "<tr><td>—</td></tr>"}</tbody></table>'
        + (
            f'<h3>{pc.t("web.dashboard.funnel")}</h3><ul class="plain">{funnel}</ul>'
            if funnel
            else ""
        )
        + "</section>"
    )
