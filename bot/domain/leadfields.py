"""Checking the free-text fields of a lead, the same way in the form and in edits.

Each check returns the cleaned value or raises :class:`FieldError` whose code
names a catalog message that says what to type instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

PROJECT_MAX = 200
COMPANY_MAX = 200
CONTACT_MAX = 64
NOTES_MAX = 2000
_SPACES = re.compile(r"\s+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(?:-\d{1,6})?$")
_INTERNATIONAL = re.compile(r"^\+\d{6,15}$")
_PERCENT = re.compile(r"^(?:百分之)?\s*(\d+(?:\.\d+)?)\s*(?:%|％|个百分点)?$")


class FieldError(ValueError):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Limits:
    project: int = PROJECT_MAX
    company: int = COMPANY_MAX
    contact: int = CONTACT_MAX
    notes: int = NOTES_MAX


def clean_line(text: str | None, limit: int, *, multiline: bool = False) -> str:
    """Fold whitespace, drop control characters, refuse empty or over-long text."""
    raw = "" if text is None else unicodedata.normalize("NFC", str(text))
    if multiline:
        lines = [_SPACES.sub(" ", line).strip() for line in raw.splitlines()]
        cleaned = "\n".join(line for line in lines if line)
    else:
        cleaned = _SPACES.sub(" ", raw).strip()
    cleaned = "".join(ch for ch in cleaned if ch == "\n" or unicodedata.category(ch)[0] != "C")
    if not cleaned:
        raise FieldError("field.empty")
    if len(cleaned) > limit:
        raise FieldError("field.too_long", limit=limit, length=len(cleaned))
    return cleaned


def parse_phone(text: str) -> str:
    """Mainland mobiles, landlines with area code, or +international numbers."""
    compact = unicodedata.normalize("NFKC", text or "")
    compact = re.sub(r"[\s()（）]", "", compact).replace("—", "-").replace("－", "-")
    if compact.startswith("+86"):
        compact = compact[3:].lstrip("-")
    if _MOBILE.match(compact.replace("-", "")):
        return compact.replace("-", "")
    if _LANDLINE.match(compact) or _INTERNATIONAL.match(compact):
        return compact
    raise FieldError("field.bad_phone")


def parse_percent(text: str) -> Decimal:
    """县外投资比例 (seed 004 二(四)): ``30%``, ``30``, ``百分之30``, 0 to 100; ``0.3`` is not
    guessed to mean 30 % (it is 0.3 %), so the form asks for a percent sign's number."""
    match = _PERCENT.match(unicodedata.normalize("NFKC", text or "").strip())
    if match is None:
        raise FieldError("field.bad_percent")
    value = Decimal(match.group(1))
    if value > 100:
        raise FieldError("field.bad_percent")
    return value


def mask_phone(phone: str) -> str:
    """What logs and other units may see: 138****5678."""
    digits = phone.replace("-", "")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"
