"""Updates: the queue the simulated users fill, long polling as Telegram does it, and the
webhook settings.
"""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any
from urllib.parse import urlsplit

from bot.localapi.params import _get_bool, _get_int, _get_str
from bot.localapi.records import MAX_LONG_POLL_SECONDS, ApiError, Params, _bad_request, _Upload
from bot.localapi.state import _ApiState

_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})


_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class _Updates(_ApiState):
    """The update queue, getUpdates and the webhook methods."""

    def continue_update_ids(self, after: int) -> None:
        """Number the next updates past ``after``: a console reopening a database whose bot
        has already seen ids 1…after would otherwise have its updates dropped as redeliveries."""
        self._next_update_id = max(self._next_update_id, after + 1)

    def enqueue_update(self, update: dict[str, Any], times: int = 1) -> int:
        """Queue a raw update; ``times`` > 1 delivers the same update_id repeatedly, as
        Telegram does when confirmation is lost.

        An update without ``update_id`` gets the next one; an explicit id is kept (to replay
        a captured update) but is dropped like any other once the bot confirms past it.
        """
        return self._enqueue(copy.deepcopy(update), times)

    def duplicate_next(self, n: int = 1) -> None:
        """Deliver the next enqueued update ``n`` extra times."""
        self._duplicate_next += n

    def _enqueue(self, update: dict[str, Any], times: int = 1) -> int:
        update.setdefault("update_id", self._next_update_id)
        update_id = update["update_id"]
        if not isinstance(update_id, int):
            raise ValueError("update_id must be an integer")
        self._next_update_id = max(self._next_update_id, update_id + 1)
        times += self._duplicate_next
        self._duplicate_next = 0
        self._updates.extend(copy.deepcopy(update) for _ in range(times))
        self._updates.sort(key=lambda u: u["update_id"])
        self._update_signal.fire()
        return update_id

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet confirmed by the bot."""
        return len(self._updates)

    async def wait_for_pending_poll(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates request is parked on the server, so a test can prove that
        enqueueing an update (or stopping) is what ends it."""
        await self._wait_until(
            self._poll_signal, lambda: True if self._polls_waiting else None, timeout
        )

    async def _get_updates(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> list[dict[str, Any]]:
        """Long polling as Telegram does it: a newer request terminates an older one."""
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _get_int(params, "offset") or 0
        limit = min(max(_get_int(params, "limit") or 100, 1), 100)
        timeout = params.get("timeout") or 0
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise _bad_request('invalid value for parameter "timeout"')
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._update_signal.fire()
        await self._park_poll(generation, min(max(float(timeout), 0.0), MAX_LONG_POLL_SECONDS))
        return self._batch(limit)

    async def _park_poll(self, generation: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - loop.time()
            if self._updates or self._stopping or remaining <= 0:
                return
            self._polls_waiting += 1
            self._poll_signal.fire()
            try:
                await self._update_signal.wait(remaining)
            finally:
                self._polls_waiting -= 1

    def _confirm(self, offset: int) -> None:
        """An offset confirms every update below it; a negative one keeps only the last -offset."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` updates, never splitting the copies of one update_id."""
        batch = self._updates[:limit]
        rest = self._updates[limit:]
        while batch and rest and rest[0]["update_id"] == batch[-1]["update_id"]:
            batch.append(rest.pop(0))
        return copy.deepcopy(batch)

    async def _set_webhook(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        url = _get_str(params, "url")
        if url is None:
            raise _bad_request("bad webhook: Webhook URL must be specified")
        if url == "":
            return await self._delete_webhook(params, uploads)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in _WEBHOOK_PORTS:
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = _get_str(params, "secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        if _get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        self.webhook = dict(params)
        if "certificate" in uploads:
            self.webhook["certificate"] = uploads["certificate"].file_name
        self._update_signal.fire()
        return True

    async def _delete_webhook(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        if _get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    async def _get_webhook_info(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": "certificate" in (self.webhook or {}),
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if self.webhook and key in self.webhook:
                info[key] = self.webhook[key]
        return info
