"""Problems (存在问题) found in progress notes, for the leaders' monthly notice.

The seeds ask units to report the difficulties a project meets (难点、堵点) so that
leaders can step in. Adding a question to every progress entry would lengthen the
weekly form for everyone; instead a liaison writes the problem where the progress
goes, after a marker the way Chinese work reports already do: ``已完成环评；问题：
用地指标待协调``. This module finds those statements; nothing else reads meaning
into free text.

Rules (the tests pin each one):

* a marker is one of 存在问题 / 问题 / 困难 / 难点 / 堵点 / 需协调 (需要协调, 待协调,
  需协调解决的问题 …) / 诉求, or problem / issue / blocker in English, followed by a
  colon (full or half width); a marker without a colon is ordinary prose;
* the statement runs to the next 。；; or line break, and is trimmed;
* "no problem" answers (无, 暂无, 没有, none …) and empty statements are dropped;
* each statement is capped at :data:`PROBLEM_MAX` characters; repeats are kept once.
"""

from __future__ import annotations

import re

__all__ = ["PROBLEM_MAX", "problems_in"]

PROBLEM_MAX = 200

_MARKER = re.compile(
    r"(?:存在(?:的)?问题|需(?:要)?协调(?:解决)?(?:的)?(?:问题|事项)?|待协调(?:事项|问题)?"
    r"|问题|困难|难点|堵点|诉求|problems?|issues?|blockers?)"
    r"\s*[:：]\s*([^。；;\n\r]*)",
    re.IGNORECASE,
)
_NONE = frozenset(
    {"无", "暂无", "没有", "无问题", "暂无问题", "none", "no", "n/a", "nil", "-", "—"}
)


def problems_in(text: str | None) -> list[str]:
    """The problem statements of one note, in the order written."""
    found: list[str] = []
    for match in _MARKER.finditer(text or ""):
        statement = match.group(1).strip(" \t,，、.")
        if not statement or statement.lower() in _NONE:
            continue
        statement = statement[:PROBLEM_MAX]
        if statement not in found:
            found.append(statement)
    return found
