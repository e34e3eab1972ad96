"""``/funds`` and ``/tax`` as text: what was recorded, and a lead's figures month by month.

The same words on every channel (Telegram, DingTalk): only the catalog, the locale and
the zone the recording dates are shown in. ``book`` says which monthly figure (到位资金
or 税收, :data:`bot.services.funds.FUNDS` / ``TAX``): its words are ``funds.*`` or ``tax.*``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot import catalog
from bot.catalog import Html
from bot.domain.amounts import format_wan_human
from bot.rendering.digest_text import money
from bot.services import funds

__all__ = ["history_text", "recorded_text"]


def _month(locale: str, month: str) -> str:
    return catalog.plain("funds.month", locale, year=int(month[:4]), month=int(month[5:7]))


def recorded_text(locale: str, result: funds.FundsResult, book: funds.Book = funds.FUNDS) -> Html:
    """``/funds L0007 3000万``: recorded, corrected, withdrawn or unchanged."""
    w = book.words
    values = {
        "lead": result.code,
        "project": result.project,
        "month": _month(locale, result.month),
        "amount": format_wan_human(result.amount_wan, locale),
        "year_total": money(result.year_total_wan, locale),
        "previous": format_wan_human(result.previous_wan, locale)
        if result.previous_wan is not None
        else "",
    }
    if result.unchanged:
        key = f"{w}.unchanged"
    elif result.previous_wan is None:
        key = f"{w}.recorded"
    else:
        key = f"{w}.withdrawn" if result.amount_wan == 0 else f"{w}.corrected"
    return catalog.t(key, locale, **values)


def history_text(
    locale: str, zone: tzinfo, found: funds.FundsHistory, book: funds.Book = funds.FUNDS
) -> Html:
    """``/funds L0007``: every month's figure, the superseded ones marked, and the total."""
    out = [
        catalog.t(
            f"{book.words}.history_title",
            locale,
            lead=found.code,
            project=found.project,
            unit=found.unit_name,
        )
    ]
    for f in found.lines:
        local: datetime = f.recorded_at.astimezone(zone)
        out.append(
            catalog.t(
                "funds.history_old" if f.superseded else "funds.history_line",
                locale,
                month=_month(locale, f.month),
                amount=money(f.amount_wan, locale),
                date=catalog.plain("digest.date", locale, month=local.month, day=local.day),
            )
        )
    if found.lines:
        out.append(catalog.t("funds.history_total", locale, total=money(found.total_wan, locale)))
    else:
        out.append(catalog.t(f"{book.words}.history_none", locale, lead=found.code))
    return Html("\n".join(out))
