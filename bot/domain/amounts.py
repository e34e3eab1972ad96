"""The one place where money text typed by people becomes a ``Decimal``.

Amounts of record are in 万元 (10,000 yuan).  Reporters type them in every
way Chinese office text allows -- ``5000``, ``5,000万元``, ``1.2亿``,
``一亿两千万``, ``壹仟万元``, ``约5000多万`` -- and a wrong reading silently
inflates a ranking by four orders of magnitude, so this module is strict: it
accepts the forms listed in the tests and rejects everything else with an
:class:`AmountError` whose ``code`` lets the UI pick a catalog text.

Reading rules (the same for RMB and USD):

* the unit comes only from 万 / 亿 / 元 (or 十/百/千 before them); currency
  markers such as ``¥``, ``RMB``, ``人民币`` never change it;
* a figure with no unit at all is in the *record* unit: 万元 for
  :func:`parse_wan`, dollars for :func:`parse_usd`;
* a figure with 万/亿 or a trailing 元 is in base units (yuan / dollars);
* hedges (约, 大约, 约合, 预计, 计划, 左右, 多, 余) are dropped -- an estimate
  is what the form asks for.  ``以上`` is *not* dropped: a lower bound is not
  a figure, and the reporter should give one;
* precision is capped at one yuan (4 decimals of 万) / one cent.

Chinese numerals are read by ``cn2an``; this module only provides the glue
and guards against cn2an's quirks (see ``_integer_numeral``). cn2an is imported when a
Chinese numeral is first read (:func:`_cn2an`): it costs some 3 MB and 40 ms that an idle
bot would hold for nothing; its digit and unit tables are copied here (tests/unit/
test_amounts.py holds them equal to cn2an's).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import Any

__all__ = [
    "ERROR_CODES",
    "MAX_INPUT_CHARS",
    "MAX_USD",
    "MAX_WAN",
    "AmountError",
    "format_wan",
    "format_wan_human",
    "parse_usd",
    "parse_wan",
]

MAX_WAN = Decimal("100000000")  # 1 万亿元 = 1e8 万元; anything above is absurd
MAX_USD = Decimal("1000000000000")  # one trillion dollars
MAX_INPUT_CHARS = 100  # longer text is not an amount; also bounds the work done

ERROR_CODES = frozenset(
    {"empty", "not_a_number", "not_positive", "too_large", "too_precise", "wrong_currency"}
)

_MESSAGES = {
    "empty": "请输入金额。",
    "not_a_number": "无法识别的金额，请输入如“5000万”或“1.2亿”。",
    "not_positive": "金额必须大于零。",
    "too_large": "金额过大，请检查单位（万元/亿元）。",
    "too_precise": "金额精度过高（最多精确到1元/1美分）。",
    "wrong_currency": "币种不符，请换算为要求的币种后填写。",
}

# Exact arithmetic: inputs are at most MAX_INPUT_CHARS digits, shifted by at
# most 12 places, so 200 significant digits can never round.
_EXACT = Context(prec=200)


class AmountError(ValueError):
    """Rejected amount text.

    ``str(err)`` is safe to show to the user, but the UI should prefer a
    catalog text chosen by ``err.code`` so it can be localised.
    """

    code: str

    def __init__(self, code: str, message: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown AmountError code: {code!r}")
        super().__init__(message or _MESSAGES[code])
        self.code = code


# --------------------------------------------------------------------------
# Currency profiles


def _ascii_words(*words: str) -> str:
    """Latin currency codes only count as whole words ("rub" ≠ "rubbish")."""
    return "|".join(rf"(?<![a-z]){re.escape(w)}(?![a-z])" for w in words)


_OTHER_CJK_CURRENCIES = "欧元|港元|港币|日元|円|英镑|澳元|加元|韩元|卢布|台币|法郎|外币"
_OTHER_ASCII_CURRENCIES = (
    "eur",
    "euro",
    "euros",
    "hkd",
    "jpy",
    "gbp",
    "aud",
    "cad",
    "sgd",
    "krw",
    "rub",
    "twd",
    "chf",
)


@dataclass(frozen=True)
class _Currency:
    """What one parse function accepts, strips and rejects."""

    foreign: re.Pattern[str]  # any hit means the text is in another currency
    prefixes: tuple[str, ...]  # own-currency markers allowed before the figure
    suffixes: tuple[str, ...]  # ... and after it
    base_marker: bool  # a trailing 元 means "base units" (RMB only)
    shift: int  # power of ten from base units to record units
    places: int  # decimal places allowed in record units
    maximum: Decimal


_RMB = _Currency(
    foreign=re.compile(
        rf"美元|美金|{_OTHER_CJK_CURRENCIES}|[$€£₩₽]|"
        + _ascii_words("usd", "dollar", "dollars", *_OTHER_ASCII_CURRENCIES)
    ),
    prefixes=("人民币", "rmb", "cny", "¥"),
    suffixes=("人民币", "rmb", "cny"),
    base_marker=True,
    shift=-4,
    places=4,
    maximum=MAX_WAN,
)

_USD = _Currency(
    foreign=re.compile(
        rf"人民币|(?<!美)元|{_OTHER_CJK_CURRENCIES}|[¥€£₩₽]|(?<![a-z])(?:hk|nt|a|c|s)\$|"
        + _ascii_words("rmb", "cny", *_OTHER_ASCII_CURRENCIES)
    ),
    prefixes=("us$", "usd", "$", "美元", "美金"),
    suffixes=("美元", "美金", "usd", "us$", "$", "dollars", "dollar"),
    base_marker=False,
    shift=0,
    places=2,
    maximum=MAX_USD,
)


# --------------------------------------------------------------------------
# Public API


def parse_wan(text: str) -> Decimal:
    """Read an RMB amount and return it in 万元.

    A bare number is already in 万元 because that is the unit every form
    asks for; ``12345元`` is read as yuan (1.2345 万).
    """
    return _parse(text, _RMB)


def parse_usd(text: str) -> Decimal:
    """Read a US-dollar amount (foreign capital) and return it in dollars.

    Unlike :func:`parse_wan`, a bare number is in dollars: foreign-capital
    forms ask for ``美元``, and 万 must be written (``2万美元``).
    """
    return _parse(text, _USD)


def format_wan(value: Decimal) -> str:
    """Canonical machine text for an amount in 万元, read back exactly by
    :func:`parse_wan` -- used for edit prompts and exports that may be
    re-imported.  Uses 亿 only when that loses no digits.
    """
    with localcontext(_EXACT):
        value = _finite(value)
        yi = value.scaleb(-4)
        if abs(value) >= 10000 and _places(yi) <= 4:
            return f"{_plain(yi)}亿"
        return f"{_plain(value)}万"


def format_wan_human(value: Decimal, locale: str = "zh_CN") -> str:
    """Display text: ``1.2亿元`` / ``5,000万元`` for Chinese, ``¥120,000,000``
    (whole yuan) for everyone else -- a plain yuan figure is unambiguous to
    readers who do not think in 万.
    """
    with localcontext(_EXACT):
        value = _finite(value)
        sign = "-" if value < 0 else ""
        value = abs(value)
        if not _is_chinese(locale):
            return f"{sign}¥{_grouped(value.scaleb(4))}"
        yi = value.scaleb(-4)
        if value >= 10000 and _places(yi) <= 4:
            return f"{sign}{_grouped(yi)}亿元"
        return f"{sign}{_grouped(value)}万元"


# --------------------------------------------------------------------------
# Pipeline


def _parse(text: str, currency: _Currency) -> Decimal:
    """Normalise, strip decorations, evaluate, then validate -- in that order
    so that the error code names the first thing that is wrong."""
    with localcontext(_EXACT):
        s = _normalise(text)
        if currency.foreign.search(s):
            raise AmountError("wrong_currency")
        s = _strip_decorations(s, currency)
        negative, s = _split_sign(s)
        s = _strip_decorations(s, currency)
        s, in_base_units = _strip_base_marker(s, currency)
        s = _MORE_THAN.sub("", s, count=1)
        number, has_big_unit = _evaluate(_ungroup(s))
        if in_base_units or has_big_unit:
            number = number.scaleb(currency.shift)
        return _validated(-number if negative else number, currency)


_VARIANTS = str.maketrans({"萬": "万", "億": "亿", "兩": "两", "圆": "元", "圓": "元"})


def _normalise(text: str) -> str:
    """Full-width → half-width, lower case, no whitespace anywhere (people
    type ``RMB 5000 万``), traditional unit characters → simplified."""
    if not isinstance(text, str):
        raise TypeError(f"amount text must be str, not {type(text).__name__}")
    if not text.strip():
        raise AmountError("empty")
    if len(text) > MAX_INPUT_CHARS:
        raise AmountError("not_a_number", "输入过长，不是一个金额。")
    s = unicodedata.normalize("NFKC", text).casefold()
    # People end a chat message as a sentence: ``5000万。`` / ``1.2亿!`` / ``2万美元，``.
    return "".join(s.split()).translate(_VARIANTS).rstrip(_TRAILING_PUNCTUATION)


# After NFKC (，！？；： are already half-width): sentence ends typed after an amount.
_TRAILING_PUNCTUATION = "。.,!?;:、~…"


_LEADING_HEDGES = ("大约", "约合", "预计", "计划", "约")
_TRAILING_HEDGES = ("左右",)


def _strip_decorations(s: str, currency: _Currency) -> str:
    """Drop hedges and own-currency markers at either end, in any order
    (``约人民币5000万元左右``), until nothing more comes off."""
    leading = _LEADING_HEDGES + currency.prefixes
    trailing = _TRAILING_HEDGES + currency.suffixes
    while True:
        before = s
        for word in leading:
            s = s.removeprefix(word)
        for word in trailing:
            s = s.removesuffix(word)
        if s == before:
            return s


def _split_sign(s: str) -> tuple[bool, str]:
    """Signs are recognised only so that ``-5`` gets ``not_positive``
    rather than a puzzling ``not_a_number``."""
    if s[:1] in ("-", "−", "负"):
        return True, s[1:]
    return False, s.removeprefix("+")


def _strip_base_marker(s: str, currency: _Currency) -> tuple[str, bool]:
    """A trailing 元 (or accounting-style 元整) means the figure is in yuan."""
    if currency.base_marker:
        for marker in ("元整", "元"):
            if s.endswith(marker):
                return s[: -len(marker)], True
    return s, False


# cn2an.conf's NUMBER_CN2AN and UNIT_CN2AN: the characters cn2an reads as digits and units.
NUMBER_CN2AN = {
    **dict.fromkeys("零〇", 0),
    **dict.fromkeys("一壹幺", 1),
    **dict.fromkeys("二贰两", 2),
    **dict.fromkeys("三叁", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
UNIT_CN2AN = {
    **dict.fromkeys("十拾", 10),
    **dict.fromkeys("百佰", 100),
    **dict.fromkeys("千仟", 1000),
    "万": 10000,
    "亿": 100000000,
}
_NUMERAL_CHARS = frozenset("0123456789") | frozenset(NUMBER_CN2AN) | frozenset(UNIT_CN2AN)
_ZERO_CHARS = frozenset("0零〇")
_UNIT_CHARS = frozenset(UNIT_CN2AN)
_NUMERAL_CLASS = "".join(sorted(_NUMERAL_CHARS))

# 多/余 ("5000多万", "5000余万元", "1亿多") right after a numeral, before a
# big unit or at the end.  "很多" stays and is rejected.
_MORE_THAN = re.compile(rf"(?<=[{_NUMERAL_CLASS}])[多余](?=[万亿]|$)")

_GROUPED = re.compile(r"(?<![0-9.])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])")


def _ungroup(s: str) -> str:
    """Remove thousands separators, but only where they sit every three
    digits: ``5000,6000万`` is two numbers, not 50006000."""
    if "," not in s:
        return s
    s = _GROUPED.sub(lambda m: m.group().replace(",", ""), s)
    if "," in s:
        raise AmountError("not_a_number", "千分位逗号位置不正确。")
    return s


# --------------------------------------------------------------------------
# Evaluation

_UNIT_EXPONENTS = {
    "": 0,
    "十": 1,
    "百": 2,
    "千": 3,
    "万": 4,
    "十万": 5,
    "百万": 6,
    "千万": 7,
    "亿": 8,
    "十亿": 9,
    "百亿": 10,
    "千亿": 11,
    "万亿": 12,
}
_UNIT_PATTERN = "|".join(sorted((u for u in _UNIT_EXPONENTS if u), key=len, reverse=True))
_ARABIC = re.compile(rf"(?P<num>[0-9]+(?:\.[0-9]+)?)(?P<unit>{_UNIT_PATTERN})?")
_CHINESE_DECIMAL = re.compile(rf"(?P<int>[^点万亿]+)点(?P<frac>[^点]+?)(?P<unit>{_UNIT_PATTERN})?")


def _evaluate(s: str) -> tuple[Decimal, bool]:
    """Return the figure and whether it carried 万/亿 (i.e. is in base units).

    Arabic decimals never go through cn2an: it returns floats for them and
    truncates ``1.23456789123亿`` to whole yuan, hiding ``too_precise``.
    """
    if not s:
        raise AmountError("not_a_number")
    arabic = _ARABIC.fullmatch(s)
    if arabic:
        unit = arabic["unit"] or ""
        return Decimal(arabic["num"]).scaleb(_UNIT_EXPONENTS[unit]), _has_big_unit(unit)
    if "点" in s:
        return _chinese_decimal(s)
    return Decimal(_integer_numeral(s)), _has_big_unit(s)


def _has_big_unit(s: str) -> bool:
    return "万" in s or "亿" in s


def _chinese_decimal(s: str) -> tuple[Decimal, bool]:
    """``一点五亿``: cn2an rejects a unit after the fraction, so split it off
    and read the fraction digit by digit with cn2an's ``direct`` mode."""
    match = _CHINESE_DECIMAL.fullmatch(s)
    if not match:
        raise AmountError("not_a_number")
    whole = _integer_numeral(match["int"])
    try:
        fraction = _cn2an(match["frac"], "direct")
    except (ValueError, KeyError, IndexError) as exc:
        raise AmountError("not_a_number") from exc
    if not (isinstance(fraction, str) and fraction.isascii() and fraction.isdigit()):
        raise AmountError("not_a_number")
    unit = match["unit"] or ""
    number = Decimal(f"{whole}.{fraction}").scaleb(_UNIT_EXPONENTS[unit])
    return number, _has_big_unit(unit)


def _integer_numeral(s: str) -> int:
    """Read a Chinese (or mixed, ``1亿零500万``) integer with cn2an.

    cn2an's "smart" mode is lenient to a fault: its colloquial branch reads
    ``亿1万千五`` as 100010500 and ``8百十两万`` as 8120000, and some inputs
    (``一亿二``, ``5亿5``) escape as ``KeyError``.  So the characters are
    whitelisted, units must follow digits, and the result must spell the same
    non-zero digits, in the same order, as the input (``九万27`` → 90027
    passes; garbage does not).
    """
    if not s or not set(s) <= _NUMERAL_CHARS:
        raise AmountError("not_a_number")
    if s.isascii():
        return int(s)  # cn2an would hand back a float
    if (s[0] in _ZERO_CHARS and set(s) - _ZERO_CHARS) or not _units_follow_digits(s):
        raise AmountError("not_a_number")
    if len(s) >= 3 and s[-2] == "亿" and s[-1] not in _ZERO_CHARS | _UNIT_CHARS:
        s += "千万"  # 一亿二 = 1.2亿; cn2an handles 一万二 but crashes here
    try:
        value = _cn2an(s, "smart")
    except (ValueError, KeyError, IndexError) as exc:
        raise AmountError("not_a_number") from exc
    if type(value) is not int or str(value).replace("0", "") != _spelled_digits(s):
        raise AmountError("not_a_number")
    return value


def _cn2an(text: str, mode: str) -> Any:
    """cn2an's reading of ``text``; the library imported here, at the first Chinese numeral."""
    import cn2an

    return cn2an.cn2an(text, mode)


def _units_follow_digits(s: str) -> bool:
    """百/千 need a digit before them and 万/亿 a digit or smaller unit
    (一万亿 is fine); cn2an otherwise invents the missing 一 (``1万千7``)."""
    previous = ""
    for ch in s:
        after_digit = _is_digit(previous)
        if ch in "百佰千仟" and not after_digit:
            return False
        if ch in "万亿" and not (after_digit or previous in "十拾百佰千仟万"):
            return False
        if ch in "十拾" and previous in ("十", "拾"):
            return False
        previous = ch
    return True


def _is_digit(ch: str) -> bool:
    """Arabic 0 counts (the ``0`` of ``10万``); a standalone 零 does not."""
    return (ch.isascii() and ch.isdigit()) or NUMBER_CN2AN.get(ch, 0) > 0


def _spelled_digits(s: str) -> str:
    """Non-zero digits as written, counting the implied 一 of a leading 十
    (``十万`` is 一十万)."""
    digits: list[str] = []
    previous = ""
    for ch in s:
        if ch in "十拾" and (not previous or previous in "零〇0万亿"):
            digits.append("1")
        digit = int(ch) if ch.isascii() else NUMBER_CN2AN.get(ch, 0)
        if digit:
            digits.append(str(digit))
        previous = ch
    return "".join(digits)


def _validated(value: Decimal, currency: _Currency) -> Decimal:
    """Range and precision checks, then a plain representation (``12000``,
    not ``1.2E+4``) so stored and echoed values look like what was meant."""
    if value <= 0:
        raise AmountError("not_positive")
    if value > currency.maximum:
        raise AmountError("too_large")
    if _places(value) > currency.places:
        raise AmountError("too_precise")
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


# --------------------------------------------------------------------------
# Formatting helpers


def _finite(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"amount must be Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"amount must be finite, got {value}")
    return value


def _places(value: Decimal) -> int:
    """Decimal places actually needed (trailing zeros do not count)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only
    return max(0, -exponent)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _grouped(value: Decimal) -> str:
    return format(value.normalize(), ",f")


def _is_chinese(locale: str) -> bool:
    return locale.replace("-", "_").lower().startswith("zh")
