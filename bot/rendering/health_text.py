"""``/health`` as text: when the schedule last ran and how the outbox stands.

The same words on every channel (Telegram, DingTalk); what they read is
:func:`bot.services.health.outbox_health` and the job runner's last run.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot import catalog
from bot.catalog import Html
from bot.domain.enums import OutboxStatus
from bot.rendering.outbox_words import kind_words, period_words
from bot.services.health import OutboxHealth
from bot.services.reminders import error_text
from bot.services.weekly import remaining_text

__all__ = ["health_text"]


def health_text(
    locale: str, zone: tzinfo, now: datetime, last_run: datetime | None, found: OutboxHealth
) -> Html:
    def t(key: str, /, **values: object) -> Html:
        return catalog.t(key, locale, **values)

    lines = [t("weekly.health.title")]
    if last_run is None:
        lines.append(t("weekly.health.never"))
    else:
        lines.append(
            t(
                "weekly.health.last_run",
                when=last_run.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                ago=remaining_text(now - last_run, locale),
            )
        )
    oldest = found.oldest_due
    due_note = (
        catalog.plain(
            "weekly.health.oldest", locale, when=oldest.astimezone(zone).strftime("%m-%d %H:%M")
        )
        if oldest
        else ""
    )
    counts = found.counts
    lines.append(
        t(
            "weekly.health.outbox",
            pending=counts.get(OutboxStatus.PENDING, 0),
            sending=counts.get(OutboxStatus.SENDING, 0),
            sent=counts.get(OutboxStatus.SENT, 0),
            skipped=counts.get(OutboxStatus.SKIPPED, 0),
            cancelled=counts.get(OutboxStatus.CANCELLED, 0),
            oldest=due_note,
        )
    )
    failed, unknown = counts.get(OutboxStatus.FAILED, 0), counts.get(OutboxStatus.UNKNOWN, 0)
    lines.append(t("weekly.health.failed", failed=failed, unknown=unknown))
    for row in found.failures:
        lines.append(
            t(
                "weekly.health.failure_line",
                who=row.recipient or str(row.chat_id),
                kind=kind_words(row.kind, locale),
                period=period_words(row.period_key, locale),
                status=catalog.plain(f"weekly.health.status_{row.status}", locale),
                error=error_text(row.error, locale),
            )
        )
    return Html("\n".join(lines))
