"""The bot process's collector and allocator settings (bot/operations/heap.py)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.operations import heap


@pytest.fixture
def restored() -> Iterator[None]:
    """The test process's collector as it was (other tests run in this process)."""
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.usefixtures("restored")
def test_settling_freezes_the_heap_and_lets_the_young_generation_grow() -> None:
    gc.unfreeze()
    kept = object()  # alive when the heap settles: frozen with it
    _, middle, old = gc.get_threshold()
    heap.settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (heap.YOUNG, middle, old)
    assert heap.YOUNG > 700  # CPython's default, which a report's objects trip hundreds of times
    del kept


ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter sends "workbooks" of 20 MB, one after the other, and reports how much
# of that it still holds afterwards.
CHILD = """
import json, sys
from pathlib import Path
from bot.operations import heap

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "on":
    assert heap.hand_back_large_buffers()
before = rss()
for _ in range(4):
    workbook = b"x" * (20 * 2**20)  # written: its pages are resident
    del workbook
print(json.dumps(rss() - before))
"""


def _kept_mb(setting: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, setting],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return float(json.loads(done.stdout))


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's allocator",
)
def test_large_buffers_are_given_back_once_freed() -> None:
    assert _kept_mb("off") > 15  # glibc's own bound moved up: the heap kept the buffer
    assert _kept_mb("on") < 5
