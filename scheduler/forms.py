"""The idle-form sweep: forms nobody finished are closed after the timeout, and their
owners told -- through the notifier, like every message not answering an update.

The draft is removed and the notice planned in one transaction, so a crash between the
two cannot close a form silently or tell someone twice; the outbox sends it (on this
tick: the job asks it to, and the next ``outbox-drain`` would anyway).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.notifier import Recipient, notify
from bot.services.identities import principal_lookup
from storage import repo

log = logging.getLogger(__name__)

KIND = "form.expired"


async def expire_idle_forms(app: Any, now: datetime) -> None:
    """A JobRunner job (scheduler/schedule.py)."""
    settings = app.services.settings
    async with app.services.db.session() as session:
        for idle in await app.forms.sweep(session, now):
            principal = await _principal(session, idle.person)
            if principal is None:
                log.info("idle form of %s closed; nobody to tell", idle.person)
                continue
            member = await repo.member_by_tg(session, principal)
            locale = (member.locale if member else None) or settings.locale
            await notify(
                session,
                Recipient.telegram(principal, member.display_name if member else None, locale),
                KIND,
                dict(idle.said.params),
                now=now,
                key=f"{idle.person}:{idle.form}:{int(now.timestamp())}",
                template=idle.said.key,
                default_locale=settings.locale,
            )
    weekly = getattr(app, "weekly", None)
    if weekly is not None:
        await weekly.outbox.drain()


async def _principal(session: AsyncSession, person: str) -> int | None:
    """The member id behind a draft's owner: ``tg:<id>`` (a Telegram id, or a principal of
    another channel) or ``dt:<staff id>`` (DingTalk, through its channel identity)."""
    channel, _, ident = person.partition(":")
    if channel == "tg" and ident.lstrip("-").isdigit():
        return int(ident)
    if channel == "dt":
        return await principal_lookup(session, "dingtalk", "user", ident)
    return None
