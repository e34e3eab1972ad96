"""统一社会信用代码 (unified social credit code, GB 32100-2015).

Eighteen characters from 0-9 and the capitals without I, O, Z, S, V: the
registration authority, the kind of body, the six-digit division code, the
nine-character organisation code and a check character. The check character is
``31 - (Σ value(cᵢ) · 3ⁱ mod 31) mod 31``, over the first seventeen; a check of
31 is written 0. Two leads with one code are one company, whatever their names.
"""

from __future__ import annotations

import unicodedata

__all__ = ["ALPHABET", "CreditCodeError", "check_character", "parse_credit_code"]

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
