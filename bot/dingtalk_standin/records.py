"""What the DingTalk stand-in remembers: every call, every message a user would see, faults.

Kept apart from the servers so tests and the console read one plain structure.  The stand-in
runs on its own thread (the SDK calls the gateway with blocking ``requests``), so everything
here is guarded by one lock and handed out as copies.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "RecordedCall", "Recorder", "SentMessage"]

# DingTalk's new-style OpenAPI (api.dingtalk.com/v1.0/...) answers flow control with HTTP 403
# and a code of the "Forbidden.AccessDenied.QpsLimit..." family (DingTalk's "API调用频率限制"
# page lists QpsLimitForApi and QpsLimitForAppkeyAndApi).  Not verified against a live tenant.
THROTTLE_STATUS = 403
THROTTLE_CODE = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
THROTTLE_MESSAGE = "应用调用该接口的请求数超过限流频率"
SERVER_ERROR_CODE = "ServiceUnavailable"  # guessed: DingTalk documents 500 "systemError" too


@dataclass(frozen=True)
class RecordedCall:
    """One HTTP request (or WebSocket frame) as the stand-in answered it."""

    endpoint: str
    body: dict[str, Any]
    status: int
    response: Any
    at: float
    index: int


@dataclass(frozen=True)
class SentMessage:
    """A message the robot delivered, as the recipient would see it.

    ``to`` is ``("user", staff_id)`` or ``("group", open_conversation_id)``; ``msg_key`` is
    DingTalk's template key (sampleText, sampleMarkdown, sampleActionCard2 ...) and ``param``
    the decoded ``msgParam``.
    """

    to: tuple[str, str]
    msg_key: str
    param: dict[str, Any]
    via: str  # "batchSend", "groupMessages", "sessionWebhook"
    index: int

    @property
    def text(self) -> str:
        """The readable body: markdown text or plain content."""
        return str(self.param.get("text") or self.param.get("content") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, action URL) pairs of an action card, in order."""
        if "singleTitle" in self.param:  # sampleActionCard: one button
            return [(str(self.param["singleTitle"]), str(self.param.get("singleURL", "")))]
        out: list[tuple[str, str]] = []
        for i in range(1, 6):
            title = self.param.get(f"actionTitle{i}")
            if title is None:
                break
            out.append((str(title), str(self.param.get(f"actionURL{i}", ""))))
        return out


@dataclass
class Fault:
    """An injected failure for the next ``times`` calls to an endpoint."""

    status: int
    code: str
    message: str
    times: int = 1


@dataclass
class Recorder:
    """Thread-safe log of calls and deliveries, with the fault queues."""

    calls: list[RecordedCall] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def record(self, endpoint: str, body: dict[str, Any], status: int, response: Any) -> None:
        with self.changed:
            self.calls.append(
                RecordedCall(endpoint, body, status, response, time.monotonic(), len(self.calls))
            )
            self.changed.notify_all()

    def deliver(self, to: tuple[str, str], msg_key: str, param: dict[str, Any], via: str) -> None:
        with self.changed:
            self.sent.append(SentMessage(to, msg_key, param, via, len(self.sent)))
            self.changed.notify_all()

    def inject(self, endpoint: str, fault: Fault) -> None:
        with self.lock:
            self.faults.setdefault(endpoint, deque()).append(fault)

    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(endpoint)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return fault

    def calls_to(self, endpoint: str) -> list[RecordedCall]:
        with self.lock:
            return [c for c in self.calls if c.endpoint == endpoint]

    def messages(self, to: tuple[str, str] | None = None, start: int = 0) -> list[SentMessage]:
        with self.lock:
            return [m for m in self.sent[start:] if to is None or m.to == to]

    def wait_for_messages(
        self, count: int, to: tuple[str, str] | None = None, start: int = 0, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Block until ``count`` messages (to ``to``) arrived after ``start``; return them."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [m for m in self.sent[start:] if to is None or m.to == to]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} messages to {to}, got {len(found)}")
                self.changed.wait(left)
