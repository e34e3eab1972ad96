"""The bot process's garbage collector, set once the start-up heap is built.

Two settings, both for a long-running process that holds a large, long-lived heap (the
modules, the near-match index of every first report) and answers requests that each build
tens of thousands of short-lived objects (a monthly report: ~300 000):

* :func:`gc.freeze` moves everything alive at that point out of the collector's sight, so
  a full collection no longer walks the index and every imported module (100+ ms pauses in
  one ask of fifty before).
* The young generation may grow to :data:`YOUNG` objects before a collection instead of
  CPython's 700: a report otherwise runs some 200 young and 15 middle collections, each
  walking what it made so far. Objects without reference cycles are freed by their reference
  counts at once whatever the threshold; only cyclic garbage waits a little longer.
"""

from __future__ import annotations

import gc

YOUNG = 20_000  # objects allocated (less freed) before a young collection; CPython: 700


def settle() -> None:
    """Freeze the heap built so far and let the young generation grow (see the module)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
