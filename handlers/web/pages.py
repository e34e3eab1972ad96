"""The pages of the web app, one module each; this one holds what they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from bot.services import Services, attachments
from handlers.web.html import PageContext, layout

if TYPE_CHECKING:
    from bot.services.scoring import ScoringSetup
    from bot.services.weekly import WeeklyConfig
    from handlers.web.server import WebRequestContext


@dataclass(frozen=True)
class Runtime:
    """What the pages need besides the services, built once by the composition root."""

    setup: Callable[[], ScoringSetup]
    weekly: Callable[[], WeeklyConfig]
    # Notices to other people are planned in the page's transaction (handlers/web/notices.py);
    # this sends what is due at once (the scheduler's next tick would too).
    deliver: Callable[[], Awaitable[object]] | None = None


def page(ctx: PageContext, name: str, title: str, body: str) -> str:
    return layout(ctx, name, title, body)


def html_response(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html")


class Pages:
    """The request handlers, each ``(request, ctx) -> response``; see the route table."""

    def __init__(self, services: Services, runtime: Runtime) -> None:
        from handlers.web import dashboard_view, leads_view, report_view, weekly_view

        self.services = services
        self.runtime = runtime
        self._report = report_view.ReportView(services)
        self._leads = leads_view.LeadsView(services, runtime)
        self._dashboard = dashboard_view.DashboardView(services, runtime)
        self._weekly = weekly_view.WeeklyView(services, runtime)

    async def report_page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._report.page(request, ctx)

    async def report_save(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._report.save(request, ctx)

    async def company_check(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        return await self._report.company(request, ctx)

    async def amount_preview(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        return await self._report.amount(request, ctx)

    async def report_upload(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        return await self._report.upload(request, ctx)

    async def file_download(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        """A lead's web upload, for those who may see the lead's details (the guard answers
        403 and 404 for the refusals, see ``server.STATUS``)."""
        token = request.match_info["token"][:40]
        async with self.services.db.session() as session:
            found = await attachments.read(session, ctx.actor, token)
        how = "inline" if found.is_photo else "attachment"
        return web.Response(
            body=found.data,
            content_type=found.content_type,
            headers={
                "Content-Disposition": f"{how}; filename*=UTF-8''{quote(found.name, safe='')}",
                "Cache-Control": "private, no-store",
            },
        )

    async def leads_page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._leads.page(request, ctx)

    async def lead_page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._leads.card_page(request, ctx)

    async def leads_json(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._leads.json(request, ctx)

    async def lead_json(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._leads.card_json(request, ctx)

    async def weekly_page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._weekly.page(request, ctx)

    async def weekly_save(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._weekly.save(request, ctx)

    async def weekly_decide(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        return await self._weekly.decide(request, ctx)

    async def dashboard_page(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        return await self._dashboard.page(request, ctx)

    async def unit_page(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        return await self._dashboard.unit(request, ctx)

    async def dashboard_json(
        self, request: web.Request, ctx: WebRequestContext
    ) -> web.StreamResponse:
        return await self._dashboard.json(request, ctx)
