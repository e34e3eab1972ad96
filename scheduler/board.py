"""The monthly 红黑榜: on the first working day of a month (from 09:00), last month's
board goes to the leaders' group, once -- its text and picture as one row of the
outbox (the outbox key is the month and the chat; the picture is the row's attachment).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from bot import catalog
from bot.rendering.board import board_picture, board_text
from bot.services import ranking
from bot.services.ranking import Board

BOARD_HOUR = time(9, 0)  # the board goes out from 09:00 on the first working day


async def monthly_board(app: Any, now: datetime) -> None:
    """A JobRunner job (scheduler/schedule.py)."""
    settings = app.services.settings
    setup = app.services.scoring
    local = now.astimezone(settings.zone)
    first = setup.periods.first_workday_of_month(local.year, local.month)
    if local.date() < first or (local.date() == first and local.time() < BOARD_HOUR):
        return
    month_key = ranking.previous_month_key(setup, now)

    def picture(locale: str, board: Board) -> tuple[bytes, str]:
        caption = catalog.t("board.caption", locale, month=board.month.label(locale))
        return board_picture(locale, board), str(caption)

    async with app.services.db.session() as session:
        await ranking.plan_board(
            session,
            setup,
            now,
            month_key,
            settings.board_top_n,
            settings.locale,
            board_text,
            picture,
        )
