"""The composition root: the one place that builds the python-telegram-bot Application.

``leadbot run``, ``leadbot webhook``, ``leadbot console`` and the end-to-end
tests all call :func:`build_application`, so they run the same handlers.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

from bot import digest_text, logging_setup
from bot.cli import periods_for
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.forms import FormEngine
from bot.forms import report as report_form
from bot.health import HealthCheck, database_probe, scheduler_probe
from bot.metrics import Metrics
from bot.services import Services, maintenance, scoring, stage_nodes
from handlers import activity, ranking, register
from handlers.base import LeadbotContext
from handlers.forms import sweep_engine_forms
from handlers.menus import set_default_menus, set_web_menu_button
from handlers.persistence import DatabasePersistence
from handlers.web_wiring import build_web, serve_web
from scheduler import digests as digest_jobs
from scheduler import reminders as weekly_jobs
from scheduler.jobs import JobRunner
from scheduler.leader import LeaderElection, tick_when_leader
from storage.db import Database

log = logging.getLogger(__name__)
UpdateListener = Callable[[Update, str, float], None]
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
JOB_TICK_SECONDS = 5.0


class LeadbotApplication(Application):  # type: ignore[type-arg]
    """PTB's Application plus our services and a hook after each update.

    The hook lets tests and the console know when an update is fully handled
    (no sleeping), and feeds metrics; the per-update persistence flush makes a
    form step durable before the next message arrives.
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
    health: HealthCheck
    forms: FormEngine  # the form engine: drafts in form_drafts (bot/forms)
    leader: LeaderElection
    web: Any = None  # handlers.web.WebApp when LEADBOT_WEB_URL is set
    web_listen: tuple[str, int] | None = None  # polling mode: serve the web app here
    _job_scheduler: object | None = None
    _web_runner: Any = None

    async def initialize(self) -> None:
        """Schema first (persistence reads tables during initialise), menus after."""
        if self._initialized:
            return
        await self.services.db.ensure_schema()
        await self.services.claims.load()
        await super().initialize()
        if self.set_menus:
            await set_default_menus(self.bot, self.services.settings.admins)
            if self.web is not None:
                await set_web_menu_button(self.bot, self.services.settings)

    async def start(self) -> None:
        await super().start()
        if self.web is not None and self.web_listen is not None:
            self._web_runner = await serve_web(self, *self.web_listen)
        if self.run_jobs:
            await self.leader.start()
            self._job_scheduler = tick_when_leader(self.jobs, self.leader, JOB_TICK_SECONDS)

    async def stop(self) -> None:
        if self._web_runner is not None:
            await self._web_runner.cleanup()
            self._web_runner = None
        if self._job_scheduler is not None:
            self._job_scheduler.shutdown(wait=False)  # type: ignore[attr-defined]
            self._job_scheduler = None
        await self.leader.stop()
        await super().stop()  # in-flight updates finish first …
        await self.services.claims.close()  # … then every claimed id is written

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        outcome = "ok"
        scope = logging_setup.bind_update(update)  # update/user/handler on every log record
        try:
            await super().process_update(update)
            if self.persistence is not None:
                await self.update_persistence()
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
        self, update: object | None, error: Exception, job=None, coroutine=None
    ) -> bool:  # type: ignore[no-untyped-def]
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
    builder = (
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
        .persistence(DatabasePersistence(db, clock))
    )
    api = base_url or settings.bot_api_url
    if api:
        builder = builder.base_url(api).base_file_url(
            base_file_url or api.replace("/bot", "/file/bot")
        )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=5))
    app: LeadbotApplication = builder.build()  # type: ignore[assignment]
    app.services = services
    app.update_listeners = []
    app.set_menus = set_menus
    app.run_jobs = run_jobs
    app.jobs = _jobs(services)
    app.forms = FormEngine(
        [report_form.form()], timedelta(minutes=settings.form_timeout_minutes)
    )  # every form on the engine (bot/forms): /report
    app.jobs.add(
        "expire-idle-forms", timedelta(minutes=5), functools.partial(sweep_engine_forms, app)
    )
    _scoring(app, settings)
    register(app)
    logging_setup.name_handlers(app)
    _operations(app, settings, db, clock)
    app.weekly = weekly_jobs.install(app, periods_for(settings))
    app.web = build_web(app, settings)
    digest_jobs.install(
        app, digest_text.rendered
    )  # the leaders' reports: after the weekly close, through its outbox
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


def _scoring(app: LeadbotApplication, settings: Settings) -> None:
    """Rules in force (a bad rules file stops start-up), the monthly 红黑榜, idle activity forms."""
    setup = scoring.configure(settings)
    app.jobs.add(
        "expire-idle-activity-forms",
        timedelta(minutes=5),
        functools.partial(activity.FORM.sweep, app),
    )
    # 全流程倒排: a lead's stay in a stage runs out with no one acting; the units it hits are refreshed.
    # Hourly, not daily: the query is cheap, and a node due late on the 31st still makes the month's
    # 红黑榜 -- added before the board so that in one tick the refresh comes first.
    app.jobs.add(
        "scoring-stage-nodes",
        timedelta(hours=1),
        functools.partial(stage_nodes.refresh_fallen_due, app.services.db, setup),
    )
    app.jobs.add(
        "monthly-board", timedelta(minutes=10), functools.partial(ranking.monthly_board, app)
    )

    async def rules_check(now: datetime) -> None:
        async with app.services.db.session() as session:
            if await scoring.note_rules(session, setup, now):
                log.warning(
                    "the rules file (%s) changed since the ledger was derived: run `leadbot rescore`",
                    setup.source,
                )

    app.jobs.add("scoring-rules-check", timedelta(hours=24), rules_check)


def _jobs(services: Services) -> JobRunner:
    runner = JobRunner(services.clock)

    async def prune(now: datetime) -> None:
        async with services.db.session() as session:
            await maintenance.prune_processed_updates(session, now)

    runner.add("prune-update-ids", timedelta(hours=6), prune)
    return runner
