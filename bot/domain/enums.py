"""The domain's closed sets of values: roles, chat kinds, review states, activity kinds,
weekly outcomes and version states, outbox states, and the human ids (``L0001``, ``A0001``).

They are plain Python (stored as their string values), so services use them without
importing the storage layer; ``storage.models`` re-exports them for the models and queries.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    LIAISON = "liaison"
    HEAD = "head"
    LEADER = "leader"
    ADMIN = "admin"

    @property
    def needs_unit(self) -> bool:
        return self in (Role.LIAISON, Role.HEAD)


class ChatKind(enum.StrEnum):
    UNIT = "unit"
    LEADERS = "leaders"


class Review:
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ActivityKind:
    TRAINING = "training"
    PACKAGING = "packaging"
    EVENT = "event"
    INTENT = "intent"
    TRIP = "trip"
    FOREIGN_CAPITAL = "foreign_capital"
    ALL = (TRAINING, PACKAGING, EVENT, INTENT, TRIP, FOREIGN_CAPITAL)


class Outcome:
    """A unit's result for one period."""

    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"


class VersionStatus:
    SUBMITTED = "submitted"  # waiting for the head
    CONFIRMED = "confirmed"  # counts (also: accepted without confirmation)
    RETURNED = "returned"  # the head sent it back with a reason
    SUPERSEDED = "superseded"  # a newer version replaced it before a decision


class OutboxStatus:
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; see scheduler/outbox/sender.py
    SENT = "sent"
    FAILED = "failed"  # permanent: blocked, chat not found, bad request
    SKIPPED = "skipped"  # past its grace time, quiet hours until the deadline, on leave
    CANCELLED = "cancelled"  # no longer needed (the unit submitted, the week was skipped)
    UNKNOWN = "unknown"  # a claim that never came back (crash mid-send): not resent


def lead_code(lead_id: int) -> str:
    """Human id shown everywhere: L0001 … L9999, L10000 …"""
    return f"L{lead_id:04d}"


def activity_code(activity_id: int) -> str:
    """Human id shown everywhere: A0001 …"""
    return f"A{activity_id:04d}"
