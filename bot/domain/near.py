"""What a near-match check gives and gets, without the index itself.

The index (:mod:`bot.domain.near_index`) needs numpy, pypinyin and its tables; the bot's
process asks it through these plain types only, so that it need not load any of them
when the index lives in a process of its own (:mod:`bot.operations.near_process`).
"""

from __future__ import annotations

__all__ = ["NEAR_LIMIT", "Judged", "Queries", "Row"]

NEAR_LIMIT = 3  # at most this many "same company?" buttons
Row = tuple[int, str | None, str]  # (lead id, first_key or None, company name) of any lead
Judged = dict[int, tuple[float, str]]  # lead id -> (score, reason: core|place|typo|spelling|fuzzy)
Queries = list[tuple[list[str], int]]  # (key fragments, at most this many names) per query
