"""The 红黑榜: the month's top and bottom units (ties kept whole), who was black-listed,
and planning the picture into the leaders' chat's outbox.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.enums import OutboxStatus
from bot.domain.periods import Span
from bot.services import ServiceError
from bot.services.rank_table import RankRow, rank
from bot.services.scoring import ScoringSetup
from storage import scoring_repo, weekly_repo


@dataclass(frozen=True)
class Tie:
    """Units tied at a list's cut that are too many to name: "另有 29 个单位并列 0 分"."""

    count: int
    points: Decimal


@dataclass(frozen=True)
class Board:
    """The month's 红黑榜: the units named on each list, and those tied at its cut when too many.

    ``top`` / ``bottom`` are listed by name; ``top_tie`` / ``bottom_tie`` count the units tied at
    the cut when naming them all would take more than twice the list's length.  Never an arbitrary
    part of a tie.  ``black`` says which 黑榜 the rules file defines: "bottom" (the lowest points)
    or "streak" (seed 004: units put on it by two deductions in a row during the month).
    """

    month: Span
    rows: tuple[RankRow, ...]
    top: tuple[RankRow, ...]
    bottom: tuple[RankRow, ...]
    missing: tuple[tuple[str, int], ...]  # (unit name, missed weekly submissions in the month)
    top_tie: Tie | None = None
    bottom_tie: Tie | None = None
    black: str = "bottom"


def cut_list(rows: list[RankRow], n: int) -> tuple[tuple[RankRow, ...], Tie | None]:
    """The first ``n`` rows (best first as given) and every row tied with the n-th.

    When the tied group would make the list longer than ``2 n`` the tied rows are summarised
    instead (returned as a :class:`Tie`), the rows strictly before them still listed by name.
    """
    if len(rows) <= n:
        return tuple(rows), None
    cut = rows[n - 1].points
    before = [r for r in rows[:n] if r.points != cut]
    tied = [r for r in rows if r.points == cut]
    if len(before) + len(tied) <= 2 * n:
        return (*before, *tied), None
    return tuple(before), Tie(len(tied), cut)


async def board(
    session: Any, setup: ScoringSetup, month_key: str, top_n: int, now: datetime | None = None
) -> Board:
    try:
        month = setup.periods.span_by_key("month", month_key)
    except ValueError:
        raise ServiceError("board.bad_month", key=month_key[:20]) from None
    if now is not None and month.start > now:
        raise ServiceError("board.future_month", key=month.key)
    table = await rank(session, setup, month.start, "month", key=month.key)
    rows = table.rows
    top, top_tie = cut_list([r for r in rows if r.points > 0], top_n)
    named = {r.unit_id for r in top}
    rest = [
        r
        for r in rows
        if r.unit_id not in named and (top_tie is None or r.points != top_tie.points)
    ]
    black = setup.rules.black_list.mode
    if black == "streak":
        listed = await blacklisted_in(session, setup, month)
        bottom, bottom_tie = tuple(r for r in rows if r.unit_id in listed), None
    else:
        worst_first, bottom_tie = cut_list(rest[::-1], top_n)
        bottom = tuple(worst_first[::-1])
    keys = weeks_due_in(setup, month)
    names = {u.id: u.name for u in await scoring_repo.units(session)}
    counts = Counter(u for u, _ in await scoring_repo.missing_weekly(session, keys) if u in names)
    missing = tuple(sorted(((names[u], n) for u, n in counts.items()), key=lambda x: (-x[1], x[0])))
    return Board(month, rows, top, bottom, missing, top_tie, bottom_tie, black)


async def blacklisted_in(session: Any, setup: ScoringSetup, month: Span) -> set[int]:
    """Units the engine put on the 黑榜 during the month (ledger lines of ``on = "blacklisted"`` rules)."""
    rule_ids = {r.id for r in setup.rules.scoring_rules if r.on == "blacklisted"}
    if not rule_ids:
        return set()
    rows = await scoring_repo.live_entries_between(session, month.start, month.end)
    return {r.unit_id for r in rows if r.rule_id in rule_ids}


def weeks_due_in(setup: ScoringSetup, month: Span) -> list[str]:
    """Weekly periods whose deadline falls inside the month."""
    keys = []
    week = setup.periods.week_of(month.start + timedelta(microseconds=1))
    while week.deadline < month.end:
        if week.deadline >= month.start:
            keys.append(week.key)
        week = setup.periods.next(week)
    return keys


def previous_month_key(setup: ScoringSetup, now: datetime) -> str:
    return setup.periods.previous_span(setup.periods.span("month", now)).key


BOARD_GRACE = timedelta(days=3)


async def plan_board(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    month_key: str,
    top_n: int,
    locale: str,
    render_text: Callable[[str, Board], str],
    render_picture: Callable[[str, Board], tuple[bytes, str]],
) -> Board | None:
    """Plan the monthly board once: its text and picture, one outbox row.

    The job mark ``board:<month>`` and the row are written in one transaction, so
    across restarts and instances the board is planned once and the outbox sends
    the text and then the picture exactly once. Returns the board planned; None
    when it was done already or there is no leaders' group to send to.
    ``render_picture`` gives the PNG and its HTML caption; it runs in a worker
    thread (matplotlib takes a moment and must not stall the bot).
    """
    chat = await weekly_repo.leaders_chat(session)
    if chat is None or not await weekly_repo.take_mark(session, f"board:{month_key}", now):
        return None
    found = await board(session, setup, month_key, top_n)
    png, caption = await asyncio.to_thread(render_picture, locale, found)
    picture = {
        "filename": f"board-{month_key}.png",
        "data": base64.b64encode(png).decode("ascii"),
        "caption": caption,
        "as": "photo",
    }
    row = {
        "kind": "board",
        "period_key": month_key,
        "chat_id": chat,
        "unit_id": None,
        "recipient": "leaders",
        "template": "board.outbox",
        "params": {"text": render_text(locale, found), "_document": picture},
        "locale": locale,
        "buttons": [],
        "due_at": now,
        "not_after": now + BOARD_GRACE,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": now,
    }
    await weekly_repo.enqueue(session, [row])
    return found
