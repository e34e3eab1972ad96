"""The near-match index's own process: ``python -m bot.operations.near_server``.

Started by the bot (:class:`bot.operations.near_process.NearProcess`) with pipes on its
standard input and output. It answers one request at a time, in order, from one
:class:`bot.domain.near_index.NearIndex`, and exits at the end of its input: when the bot
stops, and when it is killed (the kernel closes the pipe of a killed process), so it
never outlives the bot. It holds only what the bot gave it: nothing to save.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from bot.domain.near_index import NearIndex, fragments, judged_among
from bot.operations import heap
from bot.operations.near_process import read_frame, write_frame

log = logging.getLogger("bot.operations.near_server")


class Server:
    """The requests a bot may send, by name (nothing else is called)."""

    def __init__(self) -> None:
        self.index = NearIndex()
        self.calls: dict[str, Callable[..., Any]] = {
            "load": self.load,
            "finish": self.finish,
            "absorb": lambda rows: self.index.absorb(rows),
            "judged": lambda *args: self.index.judged(*args),
            "near": lambda *args: self.index.near(*args),
            "fragments": fragments,
            "among": judged_among,
            "reset": self.reset,
        }

    def load(self, rows: list[Any]) -> None:
        self.index.load(rows)

    def finish(self) -> int:
        count = self.index.finish()
        heap.settle()  # a long-lived index: later collections need not scan it
        return count

    def reset(self) -> None:
        self.index = NearIndex()

    def answer(self, request: Any) -> tuple[bool, Any]:
        try:
            op, args = request
            return True, self.calls[op](*args)
        except Exception as exc:  # one bad request: the bot is told, the index stays
            log.exception("near-match index: a request failed")
            return False, f"{type(exc).__name__}: {exc}"


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    server = Server()
    while (request := read_frame(requests)) is not None:
        write_frame(replies, server.answer(request))


def main() -> None:
    # Ctrl+C in a terminal reaches the whole process group: the bot stops, then closes
    # our input; dying first would only fail its last checks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print from a library goes to the log, not into a reply
    serve(requests, replies)


if __name__ == "__main__":
    main()
