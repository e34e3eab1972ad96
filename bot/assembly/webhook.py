"""``leadbot webhook``: Telegram updates over HTTPS, plus ``/healthz`` and ``/metrics``.

An aiohttp server (not PTB's built-in tornado webhook) so health and metrics share
the port and the shutdown is ours:

* ``POST {webhook_path}``: the ``X-Telegram-Bot-Api-Secret-Token`` header must equal
  ``webhook_secret`` (compared in constant time), else 403 and the body is not read;
  bodies over :data:`MAX_BODY_BYTES` get 413; a body whose ``update_id`` is not an
  integer gets 400 before any handler sees it; the update is written to the durable
  inbox (bot/assembly/inbox.py) and Telegram gets 200 only once that write is committed. When
  the database cannot take it the answer is 503, and Telegram sends it again later.
* ``GET /healthz``: ``app.health`` (see :mod:`bot.operations.health`), 200 or 503, JSON.
* ``GET /metrics``: ``app.metrics`` in Prometheus text format.

Start: the application is initialised and started (no updater polling), the server
listens, then ``setWebhook`` tells Telegram where to post. Stop (SIGTERM/SIGINT):
new updates are refused with 503 (Telegram retries them later), the listener
closes, the update in hand is finished (the others stay stored in the inbox for the
next start or another instance), then the database is disposed. The webhook stays registered, so Telegram keeps the
updates for the next start (or for another instance behind the same URL).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.assembly.app import ALLOWED_UPDATES
from bot.assembly.config import Settings
from bot.assembly.inbox import update_id_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024  # Telegram's updates are far smaller; a larger body is not Telegram
SHUTDOWN_TIMEOUT = 10.0


class WebhookServer:
    """Serves one started Application; works with any PTB Application (the bench's echo
    bot too); health and metrics are served when the application has them."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        *,
        secret: str,
        path: str = "/telegram",
        public_url: str | None = None,
        allowed_updates: list[str] | None = None,
        drop_pending_updates: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not secret:
            raise ValueError("a webhook secret is required")
        self.app = app
        self.path = path
        self.public_url = public_url
        self.allowed_updates = allowed_updates or list(ALLOWED_UPDATES)
        self.drop_pending_updates = drop_pending_updates
        self.max_body_bytes = max_body_bytes
        self._secret = secret.encode()
        self._accepting = False
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._host = ""

    @classmethod
    def from_settings(
        cls, app: Application[Any, Any, Any, Any, Any, Any], settings: Settings
    ) -> WebhookServer:
        return cls(
            app,
            secret=settings.webhook_secret_value() or "",
            path=settings.webhook_path,
            public_url=settings.webhook_url,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=settings.webhook_drop_pending,
        )

    # -- the aiohttp application ---------------------------------------------------
    def web_app(self) -> web.Application:
        web_app = web.Application(client_max_size=self.max_body_bytes)
        web_app.router.add_post(self.path, self._receive)
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/metrics", self._metrics)
        pages = getattr(self.app, "web", None)  # the web app (docs/web.md), on the same port
        if pages is not None:
            pages.add_routes(web_app)
        return web_app

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook call without the right secret from %s", request.remote)
            return _json(403, {"ok": False, "error": "forbidden"})
        if not self._accepting:
            return _json(503, {"ok": False, "error": "shutting down"})
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return _json(413, {"ok": False, "error": "body too large"})
        try:
            data = await request.json()  # over client_max_size: aiohttp answers 413
            update_id_of(data)  # before anything else looks at it
            update = Update.de_json(data, self.app.bot)
        except web.HTTPException:
            raise
        except Exception:
            log.warning("webhook body is not a Telegram update", exc_info=True)
            return _json(400, {"ok": False, "error": "not a Telegram update"})
        if update is None:
            return _json(400, {"ok": False, "error": "not a Telegram update"})
        inbox = getattr(self.app, "inbox", None)
        if inbox is None:  # a plain PTB application (the bench's echo bot)
            await self.app.update_queue.put(update)
            return _json(200, {"ok": True})
        try:
            await inbox.accept([data])  # stored and committed before Telegram hears "200"
        except Exception:
            log.exception(
                "webhook: could not store update %s; Telegram will retry", data["update_id"]
            )
            return _json(503, {"ok": False, "error": "could not store the update"})
        return _json(200, {"ok": True})

    async def _healthz(self, request: web.Request) -> web.Response:
        health = getattr(self.app, "health", None)
        if health is None:
            return _json(200, {"status": "ok"})
        report = await health.run()
        if not report.ok:
            log.warning("health check failed: %s", report.body.get("reason"))
        return _json(report.status, report.body)

    async def _metrics(self, request: web.Request) -> web.Response:
        metrics = getattr(self.app, "metrics", None)
        if metrics is None:
            raise web.HTTPNotFound()
        body, content_type = await metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    # -- lifecycle ----------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "", "::") else self._host
        return f"http://{host}:{self._port}"

    async def start(self, host: str = "0.0.0.0", port: int = 8080) -> None:
        """Start the application, listen, then register the webhook with Telegram."""
        await self.app.initialize()
        await self.app.start()
        runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            await self._stop_app()
            raise
        self._runner = runner
        self._host, self._port = runner.addresses[0][:2]
        self._accepting = True
        if self.public_url:
            try:
                await self.app.bot.set_webhook(
                    url=self.public_url + self.path,
                    secret_token=self._secret.decode(),
                    allowed_updates=self.allowed_updates,
                    drop_pending_updates=self.drop_pending_updates,
                )
            except BaseException:
                await self.stop()
                raise
            log.info("webhook registered at %s%s", self.public_url, self.path)
        log.info("listening on %s:%s (%s, /healthz, /metrics)", host, self._port, self.path)

    async def stop(self) -> None:
        """Refuse new updates, close the listener, finish the queued updates."""
        self._accepting = False
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()  # waits for requests in flight
        await self._stop_app()

    async def _stop_app(self) -> None:
        if self.app.running:
            await self.app.stop()  # handles every update already in update_queue
        await self.app.shutdown()


async def serve(settings: Settings) -> int:
    """``leadbot webhook``: run until SIGTERM or SIGINT, then shut down gracefully."""
    from bot.assembly.app import build_application
    from storage.db import Database

    db = Database(settings.database_url)
    server = WebhookServer.from_settings(build_application(settings, db), settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start(settings.webhook_listen, settings.webhook_port)
        await stop.wait()
        log.info("stopping: finishing the updates in hand")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        try:
            await server.stop()
        finally:
            await db.dispose()
    return 0


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
    )
