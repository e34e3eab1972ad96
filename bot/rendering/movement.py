"""Movement against the previous period, in words: the one function every board, report and
workbook uses, so the chat, the digests and the exports never disagree.

``compare`` is what :class:`bot.services.ranking.RankRow` and the digests' score lines carry:
``"move"`` (ranked in both periods), ``"new"`` (the unit did not exist in the previous period)
or ``"none"`` (nobody scored in the previous period, so there is nothing to compare with).
"""

from __future__ import annotations

from bot import catalog


def move_text(locale: str, compare: str, move: int, *, say_none: bool = False) -> str:
    """↑2 / ↓1 / – against the previous period; 新 for a unit new since; for "none" nothing,
    or 无可比 with ``say_none`` (a table cell or a report line, where a blank would read as "–")."""
    if compare == "new":
        return catalog.plain("rank.new", locale)
    if compare == "none":
        return catalog.plain("digest.move_none", locale) if say_none else ""
    return "–" if move == 0 else (f"↑{move}" if move > 0 else f"↓{-move}")


def move_cell(compare: str, move: int) -> int | str:
    """A workbook's movement cell: the number (shown ↑2 / ↓1 / – by its format, so the column
    still sorts) when there is a comparison, else the same word as the chat (新 / 无可比).
    The workbooks are the jurisdiction's paper forms: Chinese whatever the reader's language."""
    if compare == "move":
        return move
    return move_text("zh_CN", compare, move, say_none=True)
