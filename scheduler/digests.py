"""The leaders' periodic reports on schedule, as a :class:`~scheduler.jobs.JobRunner` job.

Every few minutes the job asks, for each report switched on in the settings
(``digest_half_monthly``, ``digest_monthly``, ``digest_quarterly``,
``digest_annual``), which period ended last and when its report is due
(:func:`bot.services.digests.due`: the 1st and 16th for the half month, the first
working day of the next month / quarter / year for the others, from
``digest_hour``). Once due, and for up to :data:`~bot.services.digests.GRACE`
after, it plans the report into the outbox (:func:`bot.services.digests.plan`):
a durable job mark and the row in one transaction, so a restart or a second
instance plans nothing twice; the outbox sends the text, then the ``.xlsx``.

Registered after the weekly cycle's jobs, so a week whose deadline has passed is
closed (its missing-submission penalties in the scores) before a report reads the
scores; having planned a report, the job drains the outbox itself, so one
``run_due()`` plans and sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import digests

log = logging.getLogger(__name__)
EVERY = timedelta(minutes=5)
Render = Callable[[str, ZoneInfo], Callable[[digests.Report], digests.Rendered]]


class DigestJobs:
    def __init__(self, services: Any, render: Render, outbox: Any) -> None:
        self.services, self.render, self.outbox = services, render, outbox

    async def run(self, now: datetime) -> None:
        settings = self.services.settings
        setup = self.services.scoring
        render = self.render(settings.locale, settings.zone)
        planned_any = False
        for kind in digests.enabled_kinds(settings):
            span, at = digests.due(setup, kind, now, settings.digest_hour)
            if not at <= now <= at + digests.GRACE:
                continue
            async with self.services.db.session() as session:
                planned = await digests.plan(
                    session, setup, now, kind, span, at + digests.GRACE, settings.locale, render
                )
            if planned:
                planned_any = True
                log.info("digest %s %s planned for the leaders' group", kind, span.key)
        if planned_any:
            await self.outbox.drain(now)


def install(app: Any, render: Render) -> DigestJobs:
    """After :func:`scheduler.reminders.install`: it uses the weekly cycle's outbox sender."""
    return DigestJobs(app.services, render, app.weekly.outbox)  # scheduled by scheduler.schedule
