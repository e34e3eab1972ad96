"""The near-match index of first reports: both of its indexes and the one judgement.

A company check asks two questions of every active first report: is its key a few edits
from the name's (:class:`bot.domain.key_index.CompanyIndex`, rapidfuzz), and is it a
plausible other spelling (:class:`bot.domain.company_match.NameIndex`: a typo of like
sound or shape, a place or a generic word more or less). :class:`NearIndex` holds both and
answers with one verdict per lead. It does no I/O: the bot feeds it the rows it reads, in
its own process or in the index's process (:mod:`bot.operations.near_server`), which keeps
pypinyin, numpy and a hundred thousand profiles out of the bot's memory.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.company_match import MAX_BUCKET, NameIndex, db_fragments
from bot.domain.key_index import CompanyIndex
from bot.domain.near import NEAR_LIMIT, Judged, Queries, Row

__all__ = ["DB_CANDIDATES", "NearIndex", "fragments", "judged_among"]

DB_CANDIDATES = 200  # names read from the database for one check during the build


class NearIndex:
    """The first reports among the rows it was given (a row without a key is a duplicate
    or rejected lead: skipped). A lead id is indexed once, however often it is given."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self._keys = CompanyIndex()
        self._names = NameIndex()
        self.load(rows)
        self.finish()

    def __len__(self) -> int:
        return len(self._names)

    def load(self, rows: Iterable[Row]) -> None:
        """One part of a bulk build: searchable only after :meth:`finish`."""
        for lead_id, key, name in rows:
            if key and lead_id not in self._names:
                self._keys.add(key, lead_id)
                self._names.extend(((name, lead_id),))

    def finish(self) -> int:
        """End a bulk build (its lookup keys are sorted once); the number of names held."""
        self._keys.compact()
        self._names.merge()
        return len(self._names)

    def absorb(self, rows: Iterable[Row]) -> None:
        """First reports that came after the build: searchable at once."""
        for lead_id, key, name in rows:
            if key and lead_id not in self._names:
                self._keys.add(key, lead_id)
                self._names.add(name, lead_id)

    def near(self, key: str, threshold: float) -> list[tuple[int, float]]:
        """The key-similarity hits alone (rapidfuzz ≥ ``threshold``), best first."""
        return [(int(m.ref), m.score) for m in self._keys.near(key, threshold=threshold, limit=3)]

    def judged(self, company: str, key: str, threshold: float) -> Judged:
        """Lead id → (score, reason) of every plausible other spelling of ``company``:
        the key similarity, then the name rules (the higher score wins a lead)."""
        found = {lead_id: (score, "fuzzy") for lead_id, score in self.near(key, threshold)}
        for c in self._names.candidates(company, limit=NEAR_LIMIT, threshold=threshold):
            if c.verdict.score >= found.get(int(c.ref), (0.0, ""))[0]:
                found[int(c.ref)] = (c.verdict.score, c.verdict.reason)
        return found


def judged_among(rows: Iterable[Row], company: str, key: str, threshold: float) -> Judged:
    """:meth:`NearIndex.judged` over these rows alone (the database's likely names, while
    the whole index is still being built)."""
    return NearIndex(rows).judged(company, key, threshold)


def fragments(company: str) -> Queries:
    """The database's queries for likely names while the index is built: the specific
    fragments of :func:`bot.domain.company_match.db_fragments` (at most
    :data:`DB_CANDIDATES` names), and its short ones, a two-character core shared by many
    names (at most :data:`~bot.domain.company_match.MAX_BUCKET`, as the index caps it)."""
    specific, short = db_fragments(company)
    return [(specific, DB_CANDIDATES), (short, MAX_BUCKET)]
