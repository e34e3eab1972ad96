"""The in-memory index of first reports' company keys, for near (not exact) hits.

:func:`bot.domain.dedup.company_key` is the identity; this index finds the keys a few
edits from a query's (rapidfuzz), so the reporter is asked "same company?" about a typo.
It lives in the near-match index's process (:mod:`bot.operations.near_server`), apart
from :mod:`bot.domain.dedup`, so that the bot's own process, which only needs the key, does
not load numpy for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

__all__ = ["CompanyIndex", "Match"]


@dataclass(frozen=True)
class Match:
    """A near (not exact) hit: the indexed key, its score and what it refers to."""

    key: str
    score: float
    ref: Any


class CompanyIndex:
    """In-memory index of active leads' keys.

    Exact lookups decide first-report-wins; near lookups (rapidfuzz, in C++)
    warn about likely duplicates.  Several refs may share a key (e.g. while a
    duplicate awaits review).

    A near lookup first rules keys out in bulk (numpy) and scores only the few
    that could reach the threshold: ``fuzz.ratio`` is ``1 - d / (la + lb)`` with
    ``d`` the Indel distance, and ``d`` is at least the length difference and at
    least the number of differing bits of the keys' character signatures (see
    :func:`_signature`). It looks only at the keys holding one of the query's
    ``dmax + 1`` rarest characters (a character → slots inverted index): a key
    lacking ``dmax + 1`` of the query's characters is at least that many edits
    away. At 100 000 keys that is a fraction of a full scan (which is kept for
    low thresholds and queries made of common characters only). The bounds
    never drop a true match; the property tests compare them with a scan of
    every key.
    """

    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        # The bot holds one for every first report (100 000): one dictionary and flat
        # arrays, a key's lone ref stored as itself (several: a _Refs list).
        self._keys: list[str] = []  # distinct keys, the choices for rapidfuzz
        self._slot: dict[str, int] = {}  # key -> position in _keys, _held, _sigs and _lens
        self._held: list[Any] = []  # the ref, or the _Refs, of each slot's key
        self._entries = 0
        self._sigs = np.zeros(64, dtype=np.uint64)
        self._lens = np.zeros(64, dtype=np.uint8)  # the length, at most 255 (a name is ≤ 200)
        self._posts: dict[str, _Posting] = {}  # character -> slots of the keys holding it
        for key, ref in items:
            self.add(key, ref)
        self.compact()

    def compact(self) -> None:
        """Drop the room kept for growth (after a bulk load)."""
        for posting in self._posts.values():
            posting.trim()

    def __len__(self) -> int:
        """Number of (key, ref) entries."""
        return self._entries

    def __contains__(self, key: object) -> bool:
        return key in self._slot

    def _refs(self, slot: int) -> Sequence[Any]:
        held = self._held[slot]
        return held if isinstance(held, _Refs) else (held,)

    def add(self, key: str, ref: Any) -> None:
        if not key:
            raise ValueError("company key must not be empty")
        self._entries += 1
        slot = self._slot.get(key)
        if slot is not None:
            held = self._held[slot]
            if isinstance(held, _Refs):
                held.append(ref)
            else:
                self._held[slot] = _Refs((held, ref))
            return
        slot = len(self._keys)
        if slot == len(self._sigs):  # amortised growth, like a list's
            self._sigs = np.resize(self._sigs, 2 * slot)
            self._lens = np.resize(self._lens, 2 * slot)
        self._slot[key] = slot
        self._keys.append(key)
        self._held.append(ref)
        self._sigs[slot] = _signature(key)
        self._lens[slot] = min(len(key), 255)
        for ch in set(key):
            posting = self._posts.get(ch)
            if posting is None:
                posting = self._posts[ch] = _Posting()
            posting.add(slot)

    def remove(self, key: str, ref: Any) -> None:
        """Remove one (key, ref) entry; ``KeyError`` if absent, because a
        miss means the index has drifted from the database."""
        slot = self._slot.get(key)
        if slot is None or ref not in self._refs(slot):
            raise KeyError((key, ref))
        self._entries -= 1
        held = self._held[slot]
        if not isinstance(held, _Refs):
            self._drop_key(key)
            return
        held.remove(ref)
        if len(held) == 1:
            self._held[slot] = held[0]

    def _drop_key(self, key: str) -> None:
        """O(1) removal: move the last key into the freed slot."""
        slot = self._slot.pop(key)
        last = self._keys.pop()
        last_held = self._held.pop()
        for ch in set(key):
            self._posts[ch].discard(slot)
        if last != key:
            end = len(self._keys)
            for ch in set(last):
                self._posts[ch].move(end, slot)
            self._keys[slot] = last
            self._held[slot] = last_held
            self._slot[last] = slot
            self._sigs[slot] = self._sigs[end]
            self._lens[slot] = self._lens[end]

    def exact(self, key: str) -> list[Any]:
        slot = self._slot.get(key)
        return [] if slot is None else list(self._refs(slot))

    def near(self, key: str, threshold: float = 90.0, limit: int = 5) -> list[Match]:
        """Refs whose key scores ``>= threshold`` against ``key`` (exact
        equals excluded -- :meth:`exact` reports those), best first."""
        if not 0 <= threshold <= 100:
            raise ValueError(f"threshold must be within 0..100, got {threshold}")
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        slots = self._could_reach(key, threshold).tolist()
        choices = [self._keys[i] for i in slots]
        hits = process.extract(
            key, choices, scorer=fuzz.ratio, score_cutoff=threshold, limit=limit + 1
        )
        matches = [
            Match(choice, float(score), ref)
            for choice, score, at in hits
            if choice != key
            for ref in self._refs(slots[at])
        ]
        matches.sort(key=lambda m: (-m.score, m.key))
        return matches[:limit]

    def _could_reach(self, key: str, threshold: float) -> np.ndarray:
        """Slots of the keys whose score against ``key`` may reach ``threshold``."""
        slots = self._sharing(key, threshold)
        n = len(self._keys)
        lens = self._lens[:n] if slots is None else self._lens[slots]
        sigs = self._sigs[:n] if slots is None else self._sigs[slots]
        # Per key length: the largest Indel distance that still scores >= threshold (the
        # epsilon keeps an exact boundary, 9 vs 11 characters at 90, on the inclusive
        # side), and whether the length difference alone already exceeds it. Tables of
        # 256 entries read by length: cheaper than arithmetic over every key.
        other = np.arange(256)
        table = np.floor((1.0 - threshold / 100.0) * (other + len(key)) + 1e-6)
        budget = np.minimum(table, 255).astype(np.uint8)
        reachable = np.abs(other - len(key)) <= table
        differing = np.bitwise_count(sigs ^ np.uint64(_signature(key)))
        hits = np.flatnonzero((differing <= budget[lens]) & reachable[lens])
        return hits if slots is None else np.unique(slots[hits])  # a key in two postings

    def _sharing(self, key: str, threshold: float) -> np.ndarray | None:
        """Slots (repeated if in several postings) of the keys holding one of ``key``'s ``dmax + 1`` rarest characters
        (``dmax``: the largest Indel distance any key length allows), or None when a full
        scan is about as cheap (a low threshold, or common characters only)."""
        dmax = _max_distance(len(key), threshold)
        chars = set(key)
        if dmax is None or dmax + 1 > len(chars):
            return None
        sizes = sorted((len(self._posts[ch]) if ch in self._posts else 0, ch) for ch in chars)
        rarest = [ch for _, ch in sizes[: dmax + 1]]
        if sum(n for n, _ in sizes[: dmax + 1]) > POSTING_SHARE * len(self._keys):
            return None
        found = [self._posts[ch].slots() for ch in rarest if ch in self._posts]
        if not found:
            return np.zeros(0, dtype=np.int32)
        return found[0] if len(found) == 1 else np.concatenate(found)


# The inverted index is used while the keys it reads are at most this share of all keys:
# gathering by slot costs a few times a full scan's sliced pass per key.
POSTING_SHARE = 0.2


def _max_distance(length: int, threshold: float) -> int | None:
    """The largest Indel distance a key of any length may be from a ``length``-character
    key and still score ``>= threshold``; None if unbounded in practice (low thresholds)."""
    t = threshold / 100.0
    if t < 0.5:
        return None
    best, other = 0, length
    while other <= length * (2 - t) / t + 1:
        budget = int(np.floor((1.0 - t) * (other + length) + 1e-6))
        if other - length <= budget:
            best = max(best, budget)
        other += 1
    return best


class _Refs(list[Any]):
    """Several refs under one key."""


class _Posting:
    """A growable array of slots (numpy, so a query reads it without copying; int32: a
    key is one of at most a few million)."""

    __slots__ = ("_data", "_n")

    def __init__(self) -> None:
        self._data = np.zeros(4, dtype=np.int32)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def trim(self) -> None:
        """Drop the room kept for growth (after a bulk load)."""
        self._data = self._data[: self._n].copy()

    def add(self, slot: int) -> None:
        """Slots are added in increasing order, so the array stays sorted."""
        if self._n == len(self._data):
            self._data = np.resize(self._data, max(4, 2 * self._n))
        self._data[self._n] = slot
        self._n += 1

    def slots(self) -> np.ndarray:
        return self._data[: self._n]

    def discard(self, slot: int) -> None:
        keep = self._data[: self._n] != slot
        self._n = int(keep.sum())
        self._data[: self._n] = self._data[: len(keep)][keep]

    def move(self, old: int, new: int) -> None:
        """The key in slot ``old`` moved to ``new``: keep the array sorted."""
        self.discard(old)
        at = int(np.searchsorted(self._data[: self._n], new))
        self.add(0)  # make room
        self._data[at + 1 : self._n] = self._data[at : self._n - 1].copy()
        self._data[at] = new


def _signature(key: str) -> int:
    """A 64-bit set of the key's characters (each hashed to one bit).

    A bit set in one signature only is a character that only one key has, so
    the count of differing bits never exceeds the Indel distance.
    """
    bits = 0
    for ch in set(key):
        bits |= 1 << (((ord(ch) * 0x9E3779B1) >> 13) & 63)
    return bits
