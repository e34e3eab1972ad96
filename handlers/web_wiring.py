"""Building the web app into the Telegram application, and serving it in polling mode.

Kept apart from :mod:`bot.assembly.app` so that the composition root stays short: it calls
:func:`build_web` once, and :func:`serve_web` when polling (the webhook server mounts
the same routes on its own port).

The web app's modules (and aiohttp with them) are imported only when it is built: a bot
without ``LEADBOT_WEB_URL`` would hold them for nothing.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from bot.assembly.config import NO_TELEGRAM_TOKEN, Settings
from handlers.web.auth import DingTalkLogin

if TYPE_CHECKING:
    from aiohttp import web

    from handlers.web.server import WebApp

log = logging.getLogger(__name__)


def build_web(app: Any, settings: Settings) -> WebApp | None:
    """The web app when ``LEADBOT_WEB_URL`` is set, on the application's own services."""
    token = "" if app.bot.token == NO_TELEGRAM_TOKEN else app.bot.token
    if not settings.web_url or not (settings.web_secret_value() or token):
        return None
    from handlers.web.pages import Runtime
    from handlers.web.server import WebApp

    runtime = Runtime(
        setup=lambda: app.services.scoring,
        weekly=lambda: app.weekly.cfg,
        deliver=lambda: app.weekly.outbox.drain(),
    )
    return WebApp(app.services, runtime, token, dingtalk_login(settings))


def dingtalk_login(settings: Settings) -> DingTalkLogin | None:
    """免登 for the web app opened inside DingTalk: needs the DingTalk app and its CorpId."""
    if not settings.dingtalk_enabled or not settings.dingtalk_corp_id:
        return None
    from handlers.dingtalk.openapi import OpenApiClient
    from handlers.dingtalk.sdk import openapi_endpoint

    secret = settings.dingtalk_client_secret
    client = OpenApiClient(
        openapi_endpoint(),
        str(settings.dingtalk_client_id),
        secret.get_secret_value() if secret else "",
        str(settings.dingtalk_robot_code),
    )
    return DingTalkLogin(
        settings.dingtalk_corp_id,
        settings.dingtalk_jsapi_url,
        client.user_by_auth_code,
        client.close,
    )


async def serve_web(app: Any, host: str, port: int) -> web.AppRunner:
    """Polling mode: the web app, ``/healthz`` and ``/metrics`` on ``LEADBOT_WEB_PORT``."""
    from aiohttp import web

    server = app.web.web_application()

    async def healthz(request: web.Request) -> web.Response:
        report = await app.health.run()
        return web.Response(
            status=report.status,
            text=json.dumps(report.body, default=str),
            content_type="application/json",
        )

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = await app.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    server.router.add_get("/healthz", healthz)
    server.router.add_get("/metrics", metrics)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("web app on %s:%s (%s/app/)", host, port, app.services.settings.web_url)
    return runner
