"""Which period a report is for: the ``/digest`` arguments (kind words, key shapes) and
the last complete period of a kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.domain.periods import Span
from bot.services import ServiceError
from bot.services.scoring import ScoringSetup

KINDS: tuple[str, ...] = ("half", "month", "quarter", "year")
KIND_WORDS: dict[str, str] = {
    "half": "half",
    "h": "half",
    "半月": "half",
    "半月报": "half",
    "信息汇总": "half",
    "month": "month",
    "m": "month",
    "月": "month",
    "月报": "month",
    "通报": "month",
    "每月通报": "month",
    "quarter": "quarter",
    "q": "quarter",
    "季": "quarter",
    "季度": "quarter",
    "季报": "quarter",
    "考评": "quarter",
    "year": "year",
    "y": "year",
    "年": "year",
    "年度": "year",
    "年报": "year",
    "考核": "year",
    "年终考核": "year",
}
KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("half", re.compile(r"(\d{4})-(\d{1,2})-H(\d)")),
    ("quarter", re.compile(r"(\d{4})-Q(\d)")),
    ("month", re.compile(r"(\d{4})-(\d{1,2})")),
    ("year", re.compile(r"(\d{4})")),
)
KEY_EXAMPLES = {"half": "2026-10-H1", "month": "2026-10", "quarter": "2026-Q3", "year": "2026"}


@dataclass(frozen=True)
class DigestQuery:
    kind: str
    key: str | None


def parse_args(text: str) -> DigestQuery:
    """``half|month|quarter|year [KEY]`` (or 半月/月/季/年), or a key alone (its shape names the kind)."""
    kind = key = None
    for token in (text or "").split():
        low = token.lower()
        if low in KIND_WORDS and kind is None:
            kind = KIND_WORDS[low]
            continue
        shape = key_kind(token)
        if shape is None or key is not None:
            raise ServiceError("digest.usage")
        key = token
        if kind is None:
            kind = shape
        elif shape != kind:
            raise ServiceError("digest.bad_period", key=token[:20], example=KEY_EXAMPLES[kind])
    if kind is None:
        raise ServiceError("digest.usage")
    return DigestQuery(kind, key)


def key_kind(token: str) -> str | None:
    t = token.strip().upper()
    for kind, pattern in KEY_SHAPES:
        if pattern.fullmatch(t):
            return kind
    return None


def _normal_key(kind: str, key: str) -> str:
    """``2026-1`` → ``2026-01``; the periods module wants two-digit months."""
    t = key.strip().upper()
    match = (
        KEY_SHAPES[0][1].fullmatch(t)
        if kind == "half"
        else KEY_SHAPES[2][1].fullmatch(t)
        if kind == "month"
        else None
    )
    if match is None:
        return t
    month = f"{int(match[2]):02d}"
    return f"{match[1]}-{month}-H{match[3]}" if kind == "half" else f"{match[1]}-{month}"


def last_complete(setup: ScoringSetup, kind: str, now: datetime) -> Span:
    """The period of ``kind`` that ended most recently."""
    return setup.periods.previous_span(setup.periods.span(kind, now))


def resolve(setup: ScoringSetup, kind: str, key: str | None, now: datetime) -> Span:
    """The span a request names (default: the last complete one); a period not begun yet is refused."""
    if kind not in KINDS:
        raise ServiceError("digest.usage")
    if key is None:
        return last_complete(setup, kind, now)
    try:
        span = setup.periods.span_by_key(kind, _normal_key(kind, key))
    except ValueError:
        raise ServiceError("digest.bad_period", key=key[:20], example=KEY_EXAMPLES[kind]) from None
    if span.start > now:
        raise ServiceError("digest.future", period=span.label())
    return span
