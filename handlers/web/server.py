"""The web app: pages under ``/app/`` on the bot's own aiohttp server (docs/web.md).

An adapter like the chat ones: a request is authenticated (:mod:`handlers.web.auth`),
the person resolved to the same :class:`~bot.services.access.Actor` the chat uses,
one service is called, and the result is rendered (:mod:`handlers.web.pages`).

Security, in one place (:meth:`WebApp._guard`): every response carries a content
security policy with no external origin (but DingTalk's JSAPI script when the app is a
DingTalk H5 micro app); pages with data are ``no-store``; a request
without a valid session gets 401 and no data; every POST needs the session's CSRF
token (header ``X-CSRF-Token`` or form field ``csrf``) and, when the browser sends
one, an ``Origin`` equal to ours.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.assembly.config import Settings
from bot.catalog import normalize_locale
from bot.domain.enums import Role
from bot.services import ServiceError, Services
from bot.services.access import Actor, resolve_actor
from bot.services.identities import principal_lookup
from handlers.web import auth, pages
from handlers.web.auth import AuthError, DingTalkLogin, SessionCodec, WebUser
from handlers.web.html import PageContext, bare_page, esc
from storage import web_signins

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SIGNIN_TTL = timedelta(minutes=10)
MAX_FORM_BYTES = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'{scripts}; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org https://*.dingtalk.com"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ACTOR_KEY = web.AppKey("leadbot_actor", object)
MAX_AUTH_CODE = 128
# Refusals that are not "fix your input" (400): a missing or forbidden thing.
STATUS = {"attach.not_found": 404, "leads.files.denied": 403, "leads.not_found": 404}
IN_DINGTALK = "dingtalk"  # DingTalk's in-app browser says "DingTalk/7.x" in its User-Agent


class WebRequestContext:
    """Who sent this request and what they may see; built by the guard, read by the pages."""

    def __init__(self, actor: Actor, session: auth.Session, page: PageContext) -> None:
        self.actor = actor
        self.session = session
        self.page = page


class WebApp:
    """Routes and guard of the web app; ``services`` and ``runtime`` are the bot's own."""

    def __init__(
        self,
        services: Services,
        runtime: pages.Runtime,
        bot_token: str,
        dingtalk: DingTalkLogin | None = None,
    ) -> None:
        settings = services.settings
        secret = settings.web_secret_value() or bot_token
        if not settings.web_url or not secret:
            raise ValueError(
                "the web app needs LEADBOT_WEB_URL and a bot token or LEADBOT_WEB_SECRET"
            )
        self.bot_token = bot_token
        self.services = services
        self.settings: Settings = settings
        self.runtime = runtime
        self.codec = SessionCodec.derived(secret)
        self.origin = _origin(settings.web_url)
        self.pages = pages.Pages(services, runtime)
        self.dingtalk = dingtalk
        scripts = f" {_origin(dingtalk.jsapi_url)}" if dingtalk else ""
        self.csp = CSP.format(scripts=scripts)

    async def close(self) -> None:
        if self.dingtalk is not None and self.dingtalk.close is not None:
            await self.dingtalk.close()

    def page_for(self, form: str) -> str | None:
        """The page that fills the chat form ``form`` on one screen, if there is one."""
        path = {"report": "/app/report", "weekly": "/app/weekly"}.get(form)
        return f"{self.settings.web_url}{path}" if path else None

    # -- wiring ---------------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/app", self._root)
        r.add_get("/app/", self._root)
        r.add_get("/app/static/{name}", self._static)
        r.add_get("/app/login", self._login)
        r.add_post("/app/api/session", self._session_from_init_data)
        r.add_post("/app/api/session/dingtalk", self._session_from_dingtalk)
        r.add_post("/app/logout", self._guarded(self._logout, post=True))
        r.add_get("/app/report", self._guarded(self.pages.report_page))
        r.add_post("/app/report", self._guarded(self.pages.report_save, post=True))
        r.add_get("/app/api/company", self._guarded(self.pages.company_check))
        r.add_post("/app/api/files", self._guarded(self.pages.report_upload, post=True))
        r.add_get("/app/files/{token}", self._guarded(self.pages.file_download))
        r.add_get("/app/api/amount", self._guarded(self.pages.amount_preview))
        r.add_get("/app/leads", self._guarded(self.pages.leads_page))
        r.add_get("/app/leads/{code}", self._guarded(self.pages.lead_page))
        r.add_get("/app/api/leads", self._guarded(self.pages.leads_json))
        r.add_get("/app/api/leads/{code}", self._guarded(self.pages.lead_json))
        r.add_get("/app/weekly", self._guarded(self.pages.weekly_page))
        r.add_post("/app/weekly", self._guarded(self.pages.weekly_save, post=True))
        r.add_post("/app/weekly/decide", self._guarded(self.pages.weekly_decide, post=True))
        r.add_get("/app/dashboard", self._guarded(self.pages.dashboard_page))
        r.add_get("/app/dashboard/unit/{unit_id}", self._guarded(self.pages.unit_page))
        r.add_get("/app/api/dashboard", self._guarded(self.pages.dashboard_json))
        app.middlewares.append(self._headers)

    def web_application(self) -> web.Application:
        """A server of its own, for polling mode (``LEADBOT_WEB_PORT``)."""
        app = web.Application(client_max_size=MAX_FORM_BYTES)
        self.add_routes(app)
        return app

    # -- sign-in ----------------------------------------------------------------------------
    async def create_signin_link(self, user: WebUser) -> str:
        """``/web`` in the bot: a link that signs this person in once, within ten minutes."""
        token = auth.new_signin_token()
        async with self.services.db.session() as session:
            await web_signins.create(
                session,
                auth.token_hash(token),
                user.channel,
                user.user_id,
                user.name,
                self.services.clock.now(),
                SIGNIN_TTL,
            )
        return f"{self.settings.web_url}/app/login?t={token}"

    async def _login(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("t", "")
        now = self.services.clock.now()
        used = None
        if 20 <= len(token) <= 100:
            async with self.services.db.session() as session:
                used = await web_signins.consume(session, auth.token_hash(token), now)
        if used is None:
            return self._refused(request, "web.signin.link_used")
        user = WebUser(used.channel, used.user_id, used.name)
        response = web.HTTPSeeOther("/app/")
        self._set_cookie(response, user)
        raise response

    async def _session_from_init_data(self, request: web.Request) -> web.StreamResponse:
        """The Mini App posts Telegram's signed launch data; the answer sets our cookie."""
        if not self._origin_ok(request):
            return _json({"ok": False, "error": "origin"}, 403)
        try:
            body = await request.json() if request.can_read_body else {}
            init_data = str(body.get("initData", "")) if isinstance(body, dict) else ""
            user = auth.validate_init_data(
                init_data,
                self.bot_token,
                self.services.clock.now(),
                timedelta(seconds=self.settings.web_initdata_max_age),
            )
        except (AuthError, ValueError) as err:
            log.info("web sign-in refused: %s", getattr(err, "reason", "bad body"))
            return _json({"ok": False, "error": "unauthorized"}, 401)
        actor = await self._actor(user)
        if actor is None:
            return _json({"ok": False, "error": "unauthorized"}, 401)
        response = _json({"ok": True})
        self._set_cookie(response, user)
        return response

    async def _session_from_dingtalk(self, request: web.Request) -> web.StreamResponse:
        """The page inside DingTalk posts its 免登 code; DingTalk says whose it is."""
        if self.dingtalk is None:
            return _json({"ok": False, "error": "unavailable"}, 404)
        if not self._origin_ok(request):
            return _json({"ok": False, "error": "origin"}, 403)
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = {}
        code = str(body.get("authCode", "")) if isinstance(body, dict) else ""
        if not 0 < len(code) <= MAX_AUTH_CODE:
            return _json({"ok": False, "error": "unauthorized"}, 401)
        try:
            staff_id, name = await self.dingtalk.exchange(code)
        except Exception as err:  # refused, expired, DingTalk unreachable: no session
            log.info("DingTalk sign-in refused: %s", err)
            return _json({"ok": False, "error": "unauthorized"}, 401)
        user = WebUser("dingtalk", staff_id, name)
        if not staff_id or await self._actor(user) is None:
            return _json({"ok": False, "error": "unauthorized"}, 401)
        response = _json({"ok": True})
        self._set_cookie(response, user)
        return response

    def _set_cookie(self, response: web.StreamResponse, user: WebUser) -> None:
        value, _ = self.codec.issue(user, self.services.clock.now())
        response.set_cookie(
            auth.COOKIE_NAME,
            value,
            max_age=int(auth.SESSION_AGE.total_seconds()),
            path="/app",
            httponly=True,
            secure=True,
            samesite="Lax",
        )

    async def _logout(self, request: web.Request, ctx: WebRequestContext) -> web.StreamResponse:
        response = web.HTTPSeeOther("/app/")
        response.del_cookie(auth.COOKIE_NAME, path="/app")
        raise response

    # -- the guard --------------------------------------------------------------------------
    def _guarded(
        self,
        handler: Callable[[web.Request, WebRequestContext], Awaitable[web.StreamResponse]],
        *,
        post: bool = False,
    ) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            ctx = await self._context(request)
            if ctx is None:
                return self._refused(request, "web.signin.needed")
            if post:
                if not self._origin_ok(request):
                    return self._error(request, ctx, 403, "web.error.forbidden")
                given = request.headers.get("X-CSRF-Token")
                if given is None and request.content_type in (
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                ):
                    given = str((await request.post()).get("csrf", ""))
                if not self.codec.check_csrf(ctx.session, given):
                    return self._error(request, ctx, 403, "web.error.forbidden")
            try:
                return await handler(request, ctx)
            except ServiceError as err:
                status = STATUS.get(err.code, 400)
                return self._error(request, ctx, status, err.code, **err.params)

        return guarded

    async def _context(self, request: web.Request) -> WebRequestContext | None:
        now = self.services.clock.now()
        try:
            session = self.codec.read(request.cookies.get(auth.COOKIE_NAME), now)
        except AuthError:
            return None
        actor = await self._actor(session.user)
        if actor is None:
            return None
        page = PageContext(
            actor.locale, actor.display_name, self.codec.csrf_token(session), actor.is_leader
        )
        return WebRequestContext(actor, session, page)

    async def _actor(self, user: WebUser) -> Actor | None:
        """The member behind a channel's user id; strangers and removed members are None."""
        async with self.services.db.session() as session:
            if user.channel == "dingtalk":
                principal = await principal_lookup(session, "dingtalk", "user", user.user_id)
            elif user.channel == "telegram" and user.user_id.lstrip("-").isdigit():
                principal = int(user.user_id)
            else:
                principal = None
            if principal is None:
                return None
            actor = await resolve_actor(
                session, self.settings, principal, user.name, user.language_code
            )
        if user.channel == "dingtalk" and user.user_id in self.settings.dingtalk_admins:
            actor = dataclasses.replace(actor, role=Role.ADMIN)  # as the DingTalk adapter does
        return actor if actor.is_member else None

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        return origin is None or origin == self.origin

    def _refused(self, request: web.Request, key: str) -> web.StreamResponse:
        locale = normalize_locale(request.headers.get("Accept-Language", "zh")[:5])
        if _wants_json(request):
            return _json({"ok": False, "error": "unauthorized"}, 401)
        ctx = PageContext(locale, "", "", False, member=False)
        corp = ""
        before: tuple[str, ...] = ()
        if self.dingtalk is not None:
            corp = f' data-dd-corp="{esc(self.dingtalk.corp_id)}"'
            if IN_DINGTALK in request.headers.get("User-Agent", "").lower():
                before = (self.dingtalk.jsapi_url,)
        body = (
            f'<section class="card signin" id="signin" data-state="start"{corp}>'
            f"<h2>{ctx.t('web.signin.title')}</h2><p>{ctx.t(key)}</p>"
            f'<p class="hint">{ctx.t("web.signin.how")}</p></section>'
        )
        return web.Response(
            status=401,
            text=bare_page(locale, ctx.p("web.signin.title"), body, before=before),
            content_type="text/html",
        )

    def _error(
        self, request: web.Request, ctx: WebRequestContext, status: int, key: str, **params: Any
    ) -> web.StreamResponse:
        message = ctx.page.p(key, **params) if _has_key(key) else ctx.page.p("web.error.generic")
        if _wants_json(request):
            return _json({"ok": False, "error": key, "message": message}, status)
        body = f'<section class="card"><p class="err show">{esc(message)}</p></section>'
        return web.Response(
            status=status,
            text=pages.page(ctx.page, "", ctx.page.p("web.error.title"), body),
            content_type="text/html",
        )

    # -- static and headers -----------------------------------------------------------------
    async def _root(self, request: web.Request) -> web.StreamResponse:
        ctx = await self._context(request)
        if ctx is None:
            return self._refused(request, "web.signin.needed")
        raise web.HTTPSeeOther("/app/dashboard" if ctx.actor.is_leader else "/app/report")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return web.Response(
            body=path.read_bytes(),
            content_type=kind,
            charset="utf-8" if kind.startswith("text") or kind.endswith("javascript") else None,
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
            if not request.path.startswith("/app"):
                raise
            _secure(response, request, self.csp)
            raise
        if request.path.startswith("/app"):
            _secure(response, request, self.csp)
        return response


def _secure(response: web.StreamResponse, request: web.Request, csp: str) -> None:
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = (
        "same-origin"  # no-referrer would make form posts say Origin: null
    )
    if not request.path.startswith("/app/static/"):
        response.headers["Cache-Control"] = "no-store"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/app/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def _has_key(key: str) -> bool:
    from bot.catalog import messages

    return key in messages("zh_CN")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(data, ensure_ascii=False, default=str),
        content_type="application/json",
    )
