"""The composition root: the one place that builds the python-telegram-bot Application.

``leadbot run``, ``leadbot webhook``, ``leadbot console`` and the end-to-end
tests all call :func:`build_application`, so they run the same handlers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    ExtBot,
)

from bot.assembly.clock import Clock, SystemClock
from bot.assembly.config import Settings
from bot.assembly.inbox import Inbox
from bot.forms import FormEngine, lead_prompts, weekly_return
from bot.forms import activity as activity_form
from bot.forms import report as report_form
from bot.forms import weekly as weekly_form
from bot.operations import heap, logging_setup
from bot.operations.health import HealthCheck, database_probe, scheduler_probe
from bot.operations.metrics import Metrics
from bot.rendering import digest_text
from bot.services import Services
from handlers import register
from handlers.base import LeadbotContext
from handlers.menus import set_default_menus, set_web_menu_button
from handlers.web_wiring import build_web, serve_web
from scheduler import digests as digest_jobs
from scheduler import reminders as weekly_jobs
from scheduler import schedule
from scheduler.jobs import JobRunner
from scheduler.leader import LeaderElection, Ticker, tick_when_leader
from storage.db import Database

log = logging.getLogger(__name__)
UpdateListener = Callable[[Update, str, float], None]
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
JOB_TICK_SECONDS = 5.0
INBOX_KEPT = timedelta(days=7)  # handled updates stay this long (redeliveries are dropped)


class LeadbotApplication(Application):
    """PTB's Application plus our services and a hook after each update.

    The hook lets tests and the console know when an update is fully handled
    (no sleeping), and feeds metrics. Nothing is kept in PTB's ``user_data``: a form
    step is durable in ``form_drafts`` before its next question is sent (bot/forms).
    """

    services: Services
    update_listeners: list[UpdateListener]
    set_menus: bool
    jobs: JobRunner
    run_jobs: bool
    metrics: Metrics
    weekly: (
        weekly_jobs.WeeklyRuntime
    )  # weekly cycle: config, outbox sender, jobs (scheduler/reminders.py)
    digests: digest_jobs.DigestJobs  # the leaders' reports (scheduler/digests.py)
    health: HealthCheck
    forms: FormEngine  # the form engine: drafts in form_drafts (bot/forms)
    leader: LeaderElection
    inbox: Inbox  # updates stored before they are acknowledged (bot/assembly/inbox.py)
    send_bot: ExtBot[None]  # the outbox's: no PTB rate limiter, the outbox paces itself
    web: Any = None  # handlers.web.server.WebApp when LEADBOT_WEB_URL is set
    web_listen: tuple[str, int] | None = None  # polling mode: serve the web app here
    _job_scheduler: Ticker | None = None
    _web_runner: Any = None

    async def initialize(self) -> None:
        """Schema first, menus after."""
        if self._initialized:
            return
        await self._prepare_core()
        await super().initialize()
        if self.send_bot is not self.bot:
            await self.send_bot.initialize()
        if self.set_menus:
            await set_default_menus(self.bot, self.services.settings.admins)
            if self.web is not None:
                await set_web_menu_button(self.bot, self.services.settings)

    async def start(self) -> None:
        await super().start()
        await self.inbox.start()
        await self._start_core()

    # -- the core without Telegram (DingTalk alone runs only this) --------------------------
    async def _prepare_core(self) -> None:
        heap.hand_back_large_buffers()  # a sent workbook's memory goes back to the system
        await self.services.db.ensure_schema()
        await self.services.claims.load()
        # The near-match index is built in the background: the first report does not wait.
        self.services.directory.start_warming(
            self.services.db, separate=self.services.settings.near_index_process
        )

    async def _start_core(self) -> None:
        self._warm_up = asyncio.create_task(self._warm())  # the first check or picture won't wait
        if self.web is not None and self.web_listen is not None:
            self._web_runner = await serve_web(self, *self.web_listen)
        if self.run_jobs:
            await self.leader.start()
            self._job_scheduler = tick_when_leader(self.jobs, self.leader, JOB_TICK_SECONDS)

    async def start_without_telegram(self) -> None:
        """DingTalk alone (no Telegram token): the schedule (reminders, the weekly close,
        digests, the outbox), the web app and the render workers run; Telegram is never
        called, its update loop is not started."""
        await self._prepare_core()
        await self._start_core()

    async def stop_without_telegram(self) -> None:
        await self._stop_core()
        await self.services.claims.close()

    async def _warm(self) -> None:
        """In the background at start: the render worker's process (the near-match index
        warms itself, see ``initialize``)."""
        try:
            await self.services.workers.warm()
        except Exception:  # the first real use retries; never fatal
            log.warning("warm-up at start failed", exc_info=True)

    async def stop(self) -> None:
        await self._stop_core()
        await self.inbox.stop()  # the update in hand is finished; the rest stay stored
        await super().stop()  # in-flight updates finish first …
        await self.services.claims.close()  # … then every claimed id is written

    async def _stop_core(self) -> None:
        if self._web_runner is not None:
            await self._web_runner.cleanup()
            self._web_runner = None
        if self.web is not None:
            await self.web.close()
        warm = getattr(self, "_warm_up", None)
        if warm is not None and not warm.done():
            warm.cancel()
        self.services.workers.shutdown()
        if self._job_scheduler is not None:
            await self._job_scheduler.stop()  # the tick in progress finishes first
            self._job_scheduler = None
        await self.leader.stop()
        await self.services.directory.stop_warming()

    async def shutdown(self) -> None:
        # The index's process goes also when start-up failed half-way (Telegram unreachable).
        await self.services.directory.stop_warming()
        await super().shutdown()
        if self.send_bot is not self.bot:
            await self.send_bot.shutdown()

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        outcome = "ok"
        scope = logging_setup.bind_update(update)  # update/user/handler on every log record
        try:
            await super().process_update(update)
        except Exception:
            outcome = "error"
            raise
        finally:
            outcome = "error" if scope.failed else outcome
            if isinstance(update, Update):
                elapsed = time.perf_counter() - started
                for listener in list(getattr(self, "update_listeners", [])):
                    listener(update, outcome, elapsed)
            logging_setup.unbind(scope)

    async def process_error(
        self, update: object | None, error: Exception, job: Any = None, coroutine: Any = None
    ) -> bool:
        logging_setup.mark_failed(update)  # a handler raised: the update's outcome is "error"
        return await super().process_error(update, error, job, coroutine)


def build_application(
    settings: Settings,
    db: Database,
    clock: Clock | None = None,
    *,
    token: str | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    rate_limiter: bool = True,
    set_menus: bool = True,
    run_jobs: bool = True,
) -> LeadbotApplication:
    clock = clock or SystemClock()
    services = Services(db=db, clock=clock, settings=settings)
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .application_class(LeadbotApplication)
        .token(token or settings.token_value() or "")
        .context_types(ContextTypes(context=LeadbotContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.zone,
            )
        )
    )
    api = base_url or settings.bot_api_url
    urls = ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot")
    if api:
        urls = (api, base_file_url or api.replace("/bot", "/file/bot"))
        builder = builder.base_url(urls[0]).base_file_url(urls[1])
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=5))
    app: LeadbotApplication = builder.build()  # type: ignore[assignment]
    app.send_bot = (
        ExtBot(app.bot.token, urls[0], urls[1], defaults=app.bot.defaults)
        if rate_limiter
        else app.bot
    )
    app.services = services
    app.inbox = Inbox(db, clock, app, lease=timedelta(seconds=settings.inbox_lease_seconds))
    app.update_listeners = [app.inbox.observe]
    app.set_menus = set_menus
    app.run_jobs = run_jobs
    app.jobs = JobRunner(clock)
    app.forms = FormEngine(
        [
            report_form.form(),
            *activity_form.forms(),
            weekly_form.form(),
            weekly_return.form(),
            *lead_prompts.forms(),
        ],
        timedelta(minutes=settings.form_timeout_minutes),
    )  # every form on the engine (bot/forms): /report, /activity and its reject reason,
    # /weekly and the head's return reason, the lead prompts
    register(app)
    logging_setup.name_handlers(app)
    _operations(app, settings, db, clock)
    app.weekly = weekly_jobs.install(app, services.periods)
    app.web = build_web(app, settings)  # the web app (docs/web.md), when LEADBOT_WEB_URL is set
    app.digests = digest_jobs.install(app, digest_text.rendered)
    schedule.register(app)  # every timed job, in one place
    return app


def _operations(app: LeadbotApplication, settings: Settings, db: Database, clock: Clock) -> None:
    """Metrics, health probes and scheduler leadership (docs/operations.md)."""
    app.metrics = Metrics()
    app.metrics.watch_pool(lambda: db.engine.pool)
    app.update_listeners.append(app.metrics.observe_update)
    app.leader = LeaderElection(
        db.url,
        retry_seconds=settings.leader_retry_seconds,
        takeover_seconds=settings.leader_takeover_seconds,
        clock=clock,
    )
    app.metrics.gauge_callback(
        "leadbot_scheduler_leader",
        "1 when this process runs the schedule",
        lambda: float(app.leader.is_leader),
    )
    app.health = HealthCheck()
    app.health.register("database", database_probe(db))
    app.health.register("inbox", app.inbox.probe)

    def responsible_since() -> datetime | None:
        return (
            app.leader.leader_since
            if app.run_jobs and app.running and app.leader.is_leader
            else None
        )

    app.health.register(
        "scheduler", scheduler_probe(app.jobs, clock, JOB_TICK_SECONDS, responsible_since)
    )
    app.health.register("scheduler.leader", app.leader.probe)
