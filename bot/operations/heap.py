"""The bot process's garbage collector, set once the start-up heap is built.

Three settings, all for a long-running process that holds a large, long-lived heap (the
modules, the near-match index of every first report) and answers requests that each build
tens of thousands of short-lived objects (a monthly report: ~300 000):

* :func:`gc.freeze` moves everything alive at that point out of the collector's sight, so
  a full collection no longer walks the index and every imported module (100+ ms pauses in
  one ask of fifty before).
* The young generation may grow to :data:`YOUNG` objects before a collection instead of
  CPython's 700: a report otherwise runs some 200 young and 15 middle collections, each
  walking what it made so far. Objects without reference cycles are freed by their reference
  counts at once whatever the threshold; only cyclic garbage waits a little longer.
* Large buffers always get pages of their own (:func:`hand_back_large_buffers`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

YOUNG = 20_000  # objects allocated (less freed) before a young collection; CPython: 700


def settle() -> None:
    """Freeze the heap built so far and let the young generation grow (see the module)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE = 256 * 1024  # a buffer this large or larger is mapped on its own, and unmapped when freed


def hand_back_large_buffers() -> bool:
    """Give every buffer of :data:`LARGE` bytes or more pages of its own, returned to the
    system when it is freed; False where the C library is not glibc.

    glibc does so from 128 KiB, but raises that bound to the size of each such buffer freed,
    up to 32 MiB: after one workbook of 15 MB has been sent, the next ones are carved from
    the heap, which is never given back (the bot stayed ~30 MB larger after ``/export all``).
    Setting the bound once turns that adjustment off.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, LARGE))
    except (OSError, AttributeError):  # musl, macOS: their allocators do otherwise
        log.debug("mallopt is not available; large buffers are left to the C library")
        return False
