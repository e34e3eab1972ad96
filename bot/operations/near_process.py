"""Where the near-match index lives: a process of its own, or the bot's.

At 100 000 first reports the index (:class:`bot.domain.near_index.NearIndex`), its
libraries (numpy, pypinyin, OpenCC, the character tables) and the heap its build leaves
behind take ~130 MB, more than the rest of the bot. :class:`NearProcess` keeps all of it
in a child (:mod:`bot.operations.near_server`) and asks it over a pipe: a check is a round
trip of well under a millisecond next to the few milliseconds of its judgement. The child
holds nothing that is not in the database, so when it dies the bot starts another and
builds it again (:class:`bot.services.leads.CompanyDirectory`); meanwhile checks ask the
database for likely names, as after a restart. :class:`InlineMatcher` is the same index in
the bot's process: for an in-memory database and for a host that cannot start processes.

Both answer the same calls (:class:`Matcher`). Frames on the pipe: a 4-byte big-endian
length, then a pickle (the child is our own code, started by us: nothing else writes to
the pipe). Replies come back in the order of the requests.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import pickle
import struct
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain.near import Judged, Queries, Row

if TYPE_CHECKING:
    from bot.domain.near_index import NearIndex

log = logging.getLogger(__name__)

HEADER = struct.Struct(">I")
REPLY_TIMEOUT_S = 60.0  # a request unanswered this long: the child is stuck, it is replaced
_ROOT = Path(__file__).resolve().parents[2]  # where the ``bot`` package is


class NearIndexDown(Exception):
    """The index's process is gone or stuck: build it again."""


class NearIndexError(Exception):
    """The index's process failed one request (a bug: the message says where)."""


class Matcher(Protocol):
    """The near-match index, wherever it is held."""

    async def start(self) -> None: ...

    async def load(self, rows: Sequence[Row]) -> None:
        """One part of the build (searchable after :meth:`finish`)."""

    async def finish(self) -> int:
        """End the build; the number of names held."""

    def absorb(self, rows: Sequence[Row]) -> None:
        """First reports that came after the build (no answer is awaited)."""

    async def judged(self, company: str, key: str, threshold: float) -> Judged: ...

    async def near(self, key: str, threshold: float) -> list[tuple[int, float]]: ...

    async def fragments(self, company: str) -> Queries: ...

    async def among(self, rows: Sequence[Row], company: str, key: str, threshold: float) -> Judged:
        """The judgement over these rows alone (while the index is being built)."""

    async def reset(self) -> None:
        """Forget everything (a build that failed half-way)."""

    async def close(self) -> None: ...


class InlineMatcher:
    """The index in the bot's process (the build's parts in a thread, off the loop)."""

    def __init__(self) -> None:
        self._index: NearIndex | None = None

    @property
    def index(self) -> NearIndex:
        if self._index is None:
            from bot.domain.near_index import NearIndex

            self._index = NearIndex()
        return self._index

    async def start(self) -> None:
        return None

    async def load(self, rows: Sequence[Row]) -> None:
        await asyncio.to_thread(self.index.load, rows)

    async def finish(self) -> int:
        return await asyncio.to_thread(self.index.finish)

    def absorb(self, rows: Sequence[Row]) -> None:
        self.index.absorb(rows)

    async def judged(self, company: str, key: str, threshold: float) -> Judged:
        return self.index.judged(company, key, threshold)

    async def near(self, key: str, threshold: float) -> list[tuple[int, float]]:
        return self.index.near(key, threshold)

    async def fragments(self, company: str) -> Queries:
        from bot.domain.near_index import fragments

        return fragments(company)

    async def among(self, rows: Sequence[Row], company: str, key: str, threshold: float) -> Judged:
        from bot.domain.near_index import judged_among

        return judged_among(rows, company, key, threshold)

    async def reset(self) -> None:
        self._index = None

    async def close(self) -> None:
        self._index = None


class NearProcess:
    """The index in a child process (see the module). Not started until :meth:`start`;
    once the child is gone every call raises :class:`NearIndexDown`."""

    def __init__(self, timeout: float = REPLY_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        # One entry per request sent, in order: the future its reply resolves (None: an
        # absorb, whose reply is dropped).
        self._waiting: collections.deque[asyncio.Future[Any] | None] = collections.deque()
        self._down = False
        self._started = asyncio.Event()  # set once start() has run, whatever came of it

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Start the child (``OSError`` when this host cannot start processes); calls
        made before wait for it."""
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(_ROOT), path)))}
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.operations.near_server",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
        except BaseException:
            self._down = True
            raise
        finally:
            self._started.set()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        try:
            while True:
                (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
                ok, value = pickle.loads(await stdout.readexactly(size))
                waiter = self._waiting.popleft()
                if waiter is None or waiter.done():
                    continue
                if ok:
                    waiter.set_result(value)
                else:
                    waiter.set_exception(NearIndexError(value))
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, pickle.PickleError):
            pass  # the child is gone (or talks nonsense): every caller is told
        except asyncio.CancelledError:
            self._down = True  # the bot's loop is closing: nothing to warn about
            raise
        finally:
            self._gone()

    def _gone(self) -> None:
        if not self._down:
            log.warning("near-match index process %s is gone", self.pid)
        self._down = True
        while self._waiting:
            waiter = self._waiting.popleft()
            if waiter is not None and not waiter.done():
                waiter.set_exception(NearIndexDown())

    def _send(self, op: str, args: tuple[Any, ...], answer: bool) -> asyncio.Future[Any] | None:
        proc = self._proc
        if self._down or proc is None or proc.stdin is None or proc.stdin.is_closing():
            raise NearIndexDown()
        proc.stdin.write(frame((op, args)))
        waiter = asyncio.get_running_loop().create_future() if answer else None
        if waiter is not None:  # a caller that gave up (timed out, cancelled) is not told
            waiter.add_done_callback(_heard)
        self._waiting.append(waiter)
        return waiter

    async def _call(self, op: str, *args: Any) -> Any:
        await self._started.wait()
        waiter = self._send(op, args, answer=True)
        assert waiter is not None and self._proc is not None and self._proc.stdin is not None
        try:
            await self._proc.stdin.drain()
            return await asyncio.wait_for(asyncio.shield(waiter), self.timeout)
        except (ConnectionError, BrokenPipeError) as exc:
            raise NearIndexDown() from exc
        except TimeoutError as exc:
            log.error("near-match index process %s: no answer to %s", self.pid, op)
            self._kill()
            raise NearIndexDown() from exc

    async def load(self, rows: Sequence[Row]) -> None:
        await self._call("load", list(rows))

    async def finish(self) -> int:
        return int(await self._call("finish"))

    def absorb(self, rows: Sequence[Row]) -> None:
        with contextlib.suppress(NearIndexDown):  # a new child reads them from the database
            self._send("absorb", (list(rows),), answer=False)

    async def judged(self, company: str, key: str, threshold: float) -> Judged:
        return dict(await self._call("judged", company, key, threshold))

    async def near(self, key: str, threshold: float) -> list[tuple[int, float]]:
        return list(await self._call("near", key, threshold))

    async def fragments(self, company: str) -> Queries:
        return list(await self._call("fragments", company))

    async def among(self, rows: Sequence[Row], company: str, key: str, threshold: float) -> Judged:
        return dict(await self._call("among", list(rows), company, key, threshold))

    async def reset(self) -> None:
        await self._call("reset")

    def _kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        self._gone()

    async def close(self) -> None:
        """Close its stdin (it exits on end of input) and wait a moment for it."""
        proc, self._proc = self._proc, None
        self._down = True
        self._started.set()  # a call still waiting for a start that never came: down
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        self._gone()


def _heard(waiter: asyncio.Future[Any]) -> None:
    """Mark a reply's error as seen: asyncio would log one nobody awaited any more."""
    if not waiter.cancelled():
        waiter.exception()


def read_frame(stream: Any) -> Any:
    """The next request on a blocking binary stream, None at its end (the server's side)."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def frame(value: Any) -> bytes:
    """One request or reply as it goes on the pipe: its length, then its pickle."""
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def write_frame(stream: Any, value: Any) -> None:
    """A reply on a blocking binary stream (the server's side)."""
    stream.write(frame(value))
    stream.flush()
