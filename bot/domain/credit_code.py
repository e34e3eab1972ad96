"""统一社会信用代码 (unified social credit code, GB 32100-2015).

Eighteen characters from 0-9 and the capitals without I, O, Z, S, V: the
registration authority, the kind of body, the six-digit division code, the
nine-character organisation code and a check character. The check character is
``31 - (Σ value(cᵢ) · 3ⁱ mod 31) mod 31``, over the first seventeen; a check of
31 is written 0. Two leads with one code are one company, whatever their names.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ALPHABET",
    "CreditCodeError",
    "check_character",
    "parse_credit_code",
    "split_credit_code",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
LENGTH = 18


class CreditCodeError(ValueError):
    """Not a credit code; ``code`` is the catalog key of the reason."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check_character(first17: str) -> str:
    """The 18th character for the first seventeen (already upper case)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(text: str) -> str:
    """Typed text → the code in canonical form (full-width folded, spaces and
    dashes dropped, upper case), or :class:`CreditCodeError`."""
    raw = unicodedata.normalize("NFKC", text or "").upper()
    raw = "".join(ch for ch in raw if ch not in " -\u3000\t")
    if len(raw) != LENGTH:
        raise CreditCodeError("dedup.credit.length")
    if any(ch not in _VALUE for ch in raw):
        raise CreditCodeError("dedup.credit.characters")
    if check_character(raw[:17]) != raw[17]:
        raise CreditCodeError("dedup.credit.check")
    return raw


_TOKEN = re.compile(r"[0-9A-Za-z]{18}")


def split_credit_code(text: str) -> tuple[str, str | None]:
    """``"北京云算科技有限公司 91110108MA01ABCD2X"`` → (name, code).

    The code may follow the name after a space or a comma; an 18-character
    token that is mostly digits is taken for a code and must pass its check
    (:class:`CreditCodeError` otherwise). Text without one is all name.
    """
    folded = unicodedata.normalize("NFKC", text or "")
    parts = re.split(r"[\s,，;；、:：]+", folded.strip())
    if len(parts) < 2:
        return text, None
    last = parts[-1]
    if not _TOKEN.fullmatch(last) or sum(ch.isdigit() for ch in last) < 8:
        return text, None
    name = folded.strip()[: -len(last)].rstrip(" \t,，;；、:：")
    return name, parse_credit_code(last)
