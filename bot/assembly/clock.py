"""The one place that reads the wall clock.

Deadlines, reminders and expiry all depend on "now"; tests and the console move
time by swapping the clock, never by sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = _aware(when)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ShiftedClock:
    """Real time plus an offset, so a console session keeps ticking after ``:time``."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def set(self, when: datetime) -> None:
        self._offset = _aware(when) - self._base.now()


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("clock times must be timezone-aware")
    return when.astimezone(UTC)
