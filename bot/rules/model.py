"""The engine's inputs and outputs as plain frozen dataclasses.

The storage layer turns database rows into :class:`Event` values and stores
:class:`Entry` values in the ledger; the engine never sees a session.  Keeping
them frozen lets the engine compare whole entries when it reconciles an old
derivation with a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = [
    "EVENT_KINDS",
    "MANUAL_RULE_ID",
    "WEEKLY_STATUSES",
    "Entry",
    "Event",
    "LeadFacts",
    "lead_code",
]

EVENT_KINDS: tuple[str, ...] = (
    "lead_reported",
    "lead_verified",
    "stage_reached",
    "activity",
    "weekly",
    "funds",
    "stage_overdue",
    "blacklisted",  # derived by the engine: a unit's deductions in a row put it on the 黑榜
)
WEEKLY_STATUSES: tuple[str, ...] = ("on_time", "late", "missing")

# Ledger lines written by leaders by hand carry this rule id; the engine never
# produces, changes or drops them, and no rules file may claim the id.
MANUAL_RULE_ID = "manual"


@dataclass(frozen=True)
class LeadFacts:
    """A lead's attributes as of the event: rules judge the lead as it was then."""

    lead_id: int
    unit_id: int
    amount_wan: Decimal
    origin: str
    industry: str
    tags: frozenset[str]
    verified: bool
    duplicate: bool
    foreign_usd: Decimal | None = None
    outside_share: Decimal | None = None  # 县外投资比例 in percent, None when not recorded
    tax_wan: Decimal | None = None  # tax paid to date (万元), None when none is recorded
    # The tax records behind ``tax_wan`` (counts_at, 万元), up to the event: a condition with a
    # 考核期限 sums only those within the lead's window (seed 004 二(四)1②, 二(七)).
    tax_paid: tuple[tuple[datetime, Decimal], ...] = ()
    # Stages reached by then, and when: filled in by the engine from the lead's stage events
    # (a later stage implies the earlier ones), for ``reached`` and the 考核期限.
    reached: tuple[tuple[str, datetime], ...] = ()

    @property
    def stages(self) -> frozenset[str]:
        return frozenset(stage for stage, _ in self.reached)

    def reached_at(self, stage: str) -> datetime | None:
        return next((at for s, at in self.reached if s == stage), None)


@dataclass(frozen=True)
class Event:
    """Something that happened to a unit; ``id`` is the stable key of its source row."""

    id: str
    kind: str
    unit_id: int
    at: datetime
    lead: LeadFacts | None = None
    stage: str | None = None
    activity: str | None = None
    verified: bool = False
    amount_usd: Decimal | None = None
    amount_wan: Decimal | None = None
    status: str | None = None


@dataclass(frozen=True)
class Entry:
    """One ledger line; ``source`` ties it back to the event(s) it was derived from."""

    unit_id: int
    rule_id: str
    module: str | None
    points: Decimal
    at: datetime
    source: str
    note: str


def lead_code(lead_id: int) -> str:
    """The human id shown everywhere in the bot (L0001)."""
    return f"L{lead_id:04d}"
