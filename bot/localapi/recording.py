"""Recording: every call as the server answered it, for tests and the console to follow."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from bot.localapi.records import Params, RecordedCall, _Upload
from bot.localapi.state import _ApiState


class _Recording(_ApiState):
    """The call log, its observers, and waiting for a call."""

    def _record(
        self,
        method: str,
        params: Params,
        uploads: dict[str, _Upload],
        ok: bool,
        response: Any,
        peer: tuple[str, int] | None = None,
    ) -> None:
        recorded = dict(params)
        for name, upload in uploads.items():
            recorded[name] = {
                "file_name": upload.file_name,
                "mime_type": upload.mime_type,
                "file_size": len(upload.data),
            }
        call = RecordedCall(
            method=method,
            params=recorded,
            ok=ok,
            response=copy.deepcopy(response),
            at=time.monotonic(),
            index=len(self.calls),
            peer=peer,
        )
        self.calls.append(call)
        self._call_signal.fire()
        for observer in list(self.observers):
            observer(call)

    def calls_of(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(
        self,
        predicate: Callable[[RecordedCall], bool],
        timeout: float = 5.0,
        start: int = 0,
    ) -> RecordedCall:
        """The first successful call at index >= start that matches; TimeoutError otherwise.

        The predicate sees every successful call, getUpdates and getMe included.
        """
        scanned = start

        def find() -> RecordedCall | None:
            nonlocal scanned
            while scanned < len(self.calls):
                call = self.calls[scanned]
                scanned += 1
                if call.ok and predicate(call):
                    return call
            return None

        return await self._wait_until(self._call_signal, find, timeout)
