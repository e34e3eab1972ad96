"""The bot process's collector settings (bot/operations/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

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
