"""Stage nodes (全流程倒排, seed 004 二(八)2): when a lead's next stage became overdue.

A rules file's ``[stage_deadlines]`` gives, per stage, the longest a lead may
stay in it: ``"在谈" = 90`` means a lead that reached 在谈 must reach 签约 (the
*node*) within 90 days.  A node is overdue when the lead reached it later than
that, or has not reached it and the time has passed.  The ``stage_overdue``
event names the node -- the stage that was not reached in time -- because that
is what ``on_time = true`` looks at: a node reached after its overdue record
earns no "on schedule" points, so each node earns either the bonus or the
deduction, never both.

Pure: the caller passes the stages a lead has reached (after a leader's
backward corrections, see ``bot.services.scoring.lead_timeline``) and ``now``.
A skipped stage counts as reached at the move, so it is never overdue itself
(its stay lasted no time), but the stage the lead skipped *from* may be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.rules.schema import RuleSet

__all__ = ["Overdue", "max_deadline", "overdue_nodes"]


@dataclass(frozen=True)
class Overdue:
    """The lead stayed in ``stage`` past its deadline: ``node`` (the next stage) was due at ``due``."""

    stage: str
    node: str
    due: datetime


def overdue_nodes(
    rules: RuleSet, reached: Mapping[str, datetime], now: datetime | None
) -> list[Overdue]:
    """The nodes of one lead that are overdue by ``now`` (None: only those already reached late).

    Moving on exactly at the deadline is on time; the record is dated at the deadline.
    """
    found = []
    for stage, days in rules.stage_deadlines.items():
        node = rules.next_stage(stage)
        entered = reached.get(stage)
        if node is None or entered is None:
            continue
        due = entered + timedelta(days=days)
        moved = reached.get(node)
        if (moved is not None and moved > due) or (
            moved is None and now is not None and due <= now
        ):
            found.append(Overdue(stage, node, due))
    return sorted(found, key=lambda o: (o.due, rules.stages.index(o.stage)))


def max_deadline(rules: RuleSet) -> timedelta:
    """How far before its overdue record a lead may have last moved (zero without deadlines)."""
    return timedelta(days=max(rules.stage_deadlines.values(), default=0))
