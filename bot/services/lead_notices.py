"""Review results told to the lead's unit: planned through the notifier, counted after.

A verdict (核实 / 退回) tells every member of the reporting unit. The notices are
outbox rows written in the verdict's own transaction (:func:`plan_review`), keyed by
the update that gave the verdict, so an update handled twice plans them once; the
outbox sends them (paced, after a restart too). :func:`delivery` then says how many
of them arrived, for the reviewer's reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import notifier
from bot.domain.enums import OutboxStatus
from bot.forms.buttons import LeadCard
from bot.forms.callbacks import CODEC
from bot.services.lead_updates import ReviewResult
from storage.models import OutboxMessage

KIND = "leads.review"
TEMPLATES = {"verified": "leads.notify.verified", "rejected": "leads.notify.rejected"}


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int  # still in the outbox (paced, or Telegram asked us to wait)

    @property
    def planned(self) -> int:
        return self.sent + self.failed + self.waiting


async def plan_review(
    session: AsyncSession,
    result: ReviewResult,
    *,
    now: datetime,
    key: str,
    default_locale: str,
) -> int:
    """One notice per member of the unit (same text and 查看 button as ever); how many
    were new (0 when this key planned them already)."""
    planned = 0
    for person in result.recipients:
        planned += await notifier.notify(
            session,
            notifier.Recipient.telegram(person.tg_user_id, label=person.name, locale=person.locale),
            KIND,
            {"code": result.code, "project": result.project, "reason": result.note or ""},
            now=now,
            key=key,
            template=TEMPLATES[result.review],
            buttons=[
                [{"label": "leads.button.view", "data": CODEC.encode(LeadCard(result.lead_id))}]
            ],
            default_locale=default_locale,
        )
    return planned


async def delivery(session: AsyncSession, key: str) -> Delivery:
    """What became of the review notices planned under ``key``."""
    statuses = (
        await session.scalars(
            select(OutboxMessage.status).where(
                OutboxMessage.kind == notifier.KIND_PREFIX + KIND,
                OutboxMessage.period_key == key[:32],
            )
        )
    ).all()
    sent = sum(1 for s in statuses if s == OutboxStatus.SENT)
    failed = sum(1 for s in statuses if s in (OutboxStatus.FAILED, OutboxStatus.SKIPPED))
    return Delivery(sent, failed, len(statuses) - sent - failed)
