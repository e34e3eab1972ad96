"""Fault injection: errors on demand (429 with retry_after, 5xx, blocked chats) and a
reproducible random failure rate.
"""

from __future__ import annotations

import random
from collections import deque

from bot.localapi.records import ApiError, _Fault, _RandomFault
from bot.localapi.state import _ApiState


class _Faults(_ApiState):
    """Queued and random faults, and blocked chats."""

    def inject_error(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` ("*" = any method but getUpdates)."""
        method = self._fault_key(method)
        _check_status(status)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, deque()).append(
            _Fault(status, retry_after, description, remaining=times)
        )

    def fail_randomly(
        self,
        method: str,
        fraction: float,
        status: int = 429,
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Fail a reproducible fraction of calls; fraction 0 switches it off."""
        method = self._fault_key(method)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        if fraction == 0:
            self._random_faults.pop(method, None)
            return
        _check_status(status)
        self._random_faults[method] = _RandomFault(
            fraction, _Fault(status, retry_after, None), random.Random(seed)
        )

    def _fault_key(self, method: str) -> str:
        """Canonical method name; a typo would otherwise make the fault silently never fire."""
        if method == "*":
            return method
        try:
            return self._canonical_names[method.lower()]
        except KeyError:
            raise ValueError(f"{method!r} is not a method this server implements") from None

    def block_chat(self, chat_id: int) -> None:
        """Sending into this chat fails with 403 from now on (user blocked / bot kicked)."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def _take_fault(self, method: str) -> ApiError | None:
        keys = (method,) if method == "getUpdates" else (method, "*")
        for key in keys:
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault.error()
        for key in keys:
            chance = self._random_faults.get(key)
            if chance and chance.rng.random() < chance.fraction:
                return chance.fault.error()
        return None


def _check_status(status: int) -> None:
    if not 400 <= status <= 599:
        raise ValueError("injected errors need an HTTP error status (400-599)")
