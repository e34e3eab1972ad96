"""The composition root: the one place that builds the python-telegram-bot Application.

``leadbot run``, ``leadbot webhook``, ``leadbot console`` and the end-to-end
tests all call :func:`build_application`, so they run the same handlers.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from collections.abc import Callable

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.services import Services, maintenance
from handlers import register
from handlers.base import LeadbotContext
from handlers.menus import set_default_menus
from handlers.persistence import DatabasePersistence
from scheduler.jobs import JobRunner
from storage.db import Database

log = logging.getLogger(__name__)
UpdateListener = Callable[[Update, str, float], None]


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
    _job_scheduler: object | None = None

    async def initialize(self) -> None:
        """Schema first (persistence reads tables during initialise), menus after."""
        if self._initialized:
            return
        await self.services.db.ensure_schema()
        await super().initialize()
        if self.set_menus:
            await set_default_menus(self.bot, self.services.settings.admins)

    async def start(self) -> None:
        await super().start()
        if self.run_jobs:
            self._job_scheduler = self.jobs.start()

    async def stop(self) -> None:
        if self._job_scheduler is not None:
            self._job_scheduler.shutdown(wait=False)  # type: ignore[attr-defined]
            self._job_scheduler = None
        await super().stop()

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        outcome = "ok"
        try:
            await super().process_update(update)
            if self.persistence is not None:
                await self.update_persistence()
        except Exception:
            outcome = "error"
            raise
        finally:
            if isinstance(update, Update):
                elapsed = time.perf_counter() - started
                for listener in list(getattr(self, "update_listeners", [])):
                    listener(update, outcome, elapsed)


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
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True), tzinfo=settings.zone))
        .persistence(DatabasePersistence(db, clock))
    )
    api = base_url or settings.bot_api_url
    if api:
        builder = builder.base_url(api).base_file_url(base_file_url or api.replace("/bot", "/file/bot"))
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=5))
    app: LeadbotApplication = builder.build()  # type: ignore[assignment]
    app.services = services
    app.update_listeners = []
    app.set_menus = set_menus
    app.run_jobs = run_jobs
    app.jobs = _jobs(services)
    register(app)
    return app



def _jobs(services: Services) -> JobRunner:
    runner = JobRunner(services.clock)

    async def prune(now: datetime) -> None:
        async with services.db.session() as session:
            await maintenance.prune_processed_updates(session, now)

    runner.add("prune-update-ids", timedelta(hours=6), prune)
    return runner
