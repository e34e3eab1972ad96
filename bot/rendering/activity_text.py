"""``/activities`` as text: a member's records, or a leader's card per record to review.

The same words and buttons on every channel: [✅ 认定] [❌ 驳回]
(:class:`bot.forms.buttons.ActivityReview`) under a leader's cards, and [📎 附件] when the
record has files (the trip report a leader reads before 认定).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot import catalog
from bot.catalog import Html
from bot.forms.buttons import ActivityFiles, ActivityReview
from bot.services.activities import ActivityView

__all__ = ["activity_card", "activity_line", "review_rows", "usd"]


def usd(locale: str, value: Decimal) -> str:
    return catalog.plain("activity.usd", locale, amount=f"{value.normalize():,f}")


def activity_line(locale: str, v: ActivityView) -> Html:
    return catalog.t(
        "activity.list_line",
        locale,
        code=v.code,
        unit=v.unit_name,
        kind=v.kind_name,
        date=v.on_date.isoformat(),
        text=v.text if len(v.text) <= 40 else v.text[:39] + "…",
        review=catalog.plain(f"activity.review.{v.review}", locale),
    )


def activity_card(locale: str, v: ActivityView) -> Html:
    """One record as a leader reviews it: the line, the amount, the lead, files, who."""
    lines = [activity_line(locale, v)]
    if v.amount_usd:
        lines.append(catalog.t("activity.card.amount", locale, amount=usd(locale, v.amount_usd)))
    if v.lead_code:
        lines.append(catalog.t("activity.card.lead", locale, code=v.lead_code))
    if v.files:
        lines.append(catalog.t("activity.card.files", locale, count=v.files))
    if v.reporter:
        lines.append(catalog.t("activity.card.reporter", locale, name=v.reporter))
    return Html("\n".join(lines))


def review_rows(locale: str, v: ActivityView) -> list[list[tuple[str, Any]]]:
    """A leader's buttons under one card, as (label, button value) rows."""
    rows: list[list[tuple[str, Any]]] = [
        [
            (catalog.plain("activity.button.verify", locale), ActivityReview("ok", v.activity_id)),
            (catalog.plain("activity.button.reject", locale), ActivityReview("no", v.activity_id)),
        ]
    ]
    if v.files:
        label = catalog.plain("activity.button.files", locale, count=v.files)
        rows.append([(label, ActivityFiles(v.activity_id))])
    return rows
