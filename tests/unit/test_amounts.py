"""Money text parsing: every accepted spelling, every rejection code, and
round-trip properties that keep format_wan and parse_wan in lock-step."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.amounts import (
    ERROR_CODES,
    MAX_USD,
    MAX_WAN,
    NUMBER_CN2AN,
    UNIT_CN2AN,
    AmountError,
    format_wan,
    format_wan_human,
    parse_usd,
    parse_wan,
)

D = Decimal

WAN_CASES = [
    ("5000", D("5000")),
    ("5000万", D("5000")),
    ("5,000万元", D("5000")),
    ("5，000万元", D("5000")),
    ("1.2亿", D("12000")),
    ("3亿元", D("30000")),
    ("一亿两千万", D("12000")),
    ("两千五百万", D("2500")),
    ("壹亿", D("10000")),
    ("壹仟万元", D("1000")),
    ("１２００万", D("1200")),
    ("0.5亿", D("5000")),
    ("1亿2000万", D("12000")),
    ("1亿零500万", D("10500")),
    ("十万", D("10")),
    ("8000万元人民币", D("8000")),
    ("RMB 5000万", D("5000")),
    ("rmb5000万", D("5000")),
    ("CNY 5000万", D("5000")),
    ("人民币5000万元", D("5000")),
    ("¥5000万", D("5000")),
    ("￥5000万", D("5000")),
    ("  5000万  ", D("5000")),
    ("\u30005000万\u3000", D("5000")),
    ("5000 万", D("5000")),
    ("约5000万", D("5000")),
    ("大约5000万", D("5000")),
    ("约合5000万元", D("5000")),
    ("预计5000万", D("5000")),
    ("计划5000万", D("5000")),
    ("5000万左右", D("5000")),
    ("约人民币5000万元左右", D("5000")),
    ("5000余万", D("5000")),
    ("5000多万", D("5000")),
    ("5000余万元", D("5000")),
    ("两千多万", D("2000")),
    ("1亿多", D("10000")),
    ("50000000元", D("5000")),
    ("12345元", D("1.2345")),
    ("1元", D("0.0001")),
    ("0.0001", D("0.0001")),
    ("5000.5", D("5000.5")),
    ("1,234.5678万", D("1234.5678")),
    ("5千万", D("5000")),
    ("1千2百万", D("1200")),
    ("三千五百万", D("3500")),
    ("一千二百三十四万五千六百七十八", D("1234.5678")),
    ("一万二", D("1.2")),
    ("十一万三", D("11.3")),
    ("一亿二", D("12000")),
    ("两亿五", D("25000")),
    ("一点五亿", D("15000")),
    ("三点二五亿元", D("32500")),
    ("1万亿", MAX_WAN),
    ("壹仟万元整", D("1000")),
    ("5000萬", D("5000")),
    ("兩億", D("20000")),
    ("+5000", D("5000")),
]


@pytest.mark.parametrize(("text", "expected"), WAN_CASES)
def test_parse_wan_accepts(text: str, expected: Decimal) -> None:
    assert parse_wan(text) == expected


@pytest.mark.parametrize(("text", "expected"), WAN_CASES)
def test_parse_wan_returns_plain_decimal(text: str, expected: Decimal) -> None:
    """Stored and echoed values should read ``12000``, not ``1.2E+4``."""
    assert "E" not in str(parse_wan(text))


ERROR_CASES = [
    ("", "empty"),
    ("   ", "empty"),
    ("\u3000\n\t", "empty"),
    ("1e30", "not_a_number"),
    ("1E5", "not_a_number"),
    ("abc万", "not_a_number"),
    ("很多", "not_a_number"),
    ("NaN", "not_a_number"),
    ("nan", "not_a_number"),
    ("inf", "not_a_number"),
    ("Infinity", "not_a_number"),
    ("万", "not_a_number"),
    ("亿", "not_a_number"),
    ("元", "not_a_number"),
    ("约", "not_a_number"),
    ("¥", "not_a_number"),
    ("5000万万", "not_a_number"),
    ("1.5亿2000万", "not_a_number"),
    ("1.2.3万", "not_a_number"),
    ("5000万以上", "not_a_number"),  # a lower bound, not a figure
    ("5,00万", "not_a_number"),  # misplaced thousands separator
    ("5000,6000万", "not_a_number"),  # two numbers, not 50006000
    ("亿1万千五", "not_a_number"),  # cn2an would say 100010500
    ("8百十两万", "not_a_number"),  # cn2an would say 8120000
    ("1万千7", "not_a_number"),
    ("0万六", "not_a_number"),
    ("5" * 5000, "not_a_number"),
    ("约" * 5000, "not_a_number"),
    ("-5", "not_positive"),
    ("－5", "not_positive"),
    ("负五千万", "not_positive"),
    ("-¥5000", "not_positive"),
    ("0", "not_positive"),
    ("零", "not_positive"),
    ("0.0000", "not_positive"),
    ("100000001", "too_large"),
    ("1.00001万亿", "too_large"),
    ("十万亿", "too_large"),
    ("99999999999999999999999999999999亿", "too_large"),
    ("0.00001", "too_precise"),
    ("12345.5元", "too_precise"),
    ("1.000000001亿", "too_precise"),  # cn2an would truncate this silently
    ("5000万美元", "wrong_currency"),
    ("$5000万", "wrong_currency"),
    ("USD 5000", "wrong_currency"),
    ("5000万港币", "wrong_currency"),
    ("5000万欧元", "wrong_currency"),
    ("€5000", "wrong_currency"),
]


@pytest.mark.parametrize(("text", "code"), ERROR_CASES)
def test_parse_wan_rejects(text: str, code: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_wan(text)
    assert caught.value.code == code
    assert str(caught.value)  # always a user-facing message


def test_every_error_code_is_exercised() -> None:
    assert {code for _, code in ERROR_CASES} == ERROR_CODES


def test_amount_error_is_a_value_error_with_known_codes_only() -> None:
    assert issubclass(AmountError, ValueError)
    assert AmountError("empty", "custom").args == ("custom",)
    with pytest.raises(ValueError):
        AmountError("no_such_code")


def test_non_string_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_wan(5000)  # type: ignore[arg-type]


USD_CASES = [
    ("20000", D("20000")),
    ("2万美元", D("20000")),
    ("2万", D("20000")),
    ("$20,000", D("20000")),
    ("US$ 20000", D("20000")),
    ("USD 2万", D("20000")),
    ("20000 dollars", D("20000")),
    ("1.5亿美元", D("150000000")),
    ("两万美元", D("20000")),
    ("约2万美金", D("20000")),
    ("20000.5", D("20000.5")),
    ("1万亿美元", MAX_USD),
]


@pytest.mark.parametrize(("text", "expected"), USD_CASES)
def test_parse_usd_accepts(text: str, expected: Decimal) -> None:
    assert parse_usd(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("很多", "not_a_number"),
        ("1e6", "not_a_number"),
        ("-5", "not_positive"),
        ("0美元", "not_positive"),
        ("1.1万亿", "too_large"),
        ("20000.555", "too_precise"),
        ("2万元", "wrong_currency"),
        ("2万人民币", "wrong_currency"),
        ("¥20000", "wrong_currency"),
        ("HK$5000", "wrong_currency"),
        ("2万港元", "wrong_currency"),
    ],
)
def test_parse_usd_rejects(text: str, code: str) -> None:
    with pytest.raises(AmountError) as caught:
        parse_usd(text)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("5000", "5000万"),
        ("12000", "1.2亿"),
        ("10000", "1亿"),
        ("12345", "1.2345亿"),
        ("12345.5", "12345.5万"),  # 1.23455亿 would need 5 decimals
        ("0.5", "0.5万"),
        ("0.0001", "0.0001万"),
        ("100000000", "10000亿"),
        ("5000.000", "5000万"),
    ],
)
def test_format_wan(value: str, text: str) -> None:
    assert format_wan(D(value)) == text
    assert parse_wan(text) == D(value)


@pytest.mark.parametrize(
    ("value", "locale", "text"),
    [
        ("12000", "zh_CN", "1.2亿元"),
        ("5000", "zh_CN", "5,000万元"),
        ("12345.6789", "zh_CN", "12,345.6789万元"),
        ("100000000", "zh", "10,000亿元"),
        ("0.5", "zh-Hans", "0.5万元"),
        ("12000", "en", "¥120,000,000"),
        ("5000", "en_US", "¥50,000,000"),
        ("1.2345", "en", "¥12,345"),
        ("-5000", "zh_CN", "-5,000万元"),
        ("5000", "ru", "¥50,000,000"),  # non-Chinese readers get plain yuan
    ],
)
def test_format_wan_human(value: str, locale: str, text: str) -> None:
    assert format_wan_human(D(value), locale) == text


def test_format_wan_human_defaults_to_chinese() -> None:
    assert format_wan_human(D("12000")) == "1.2亿元"


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_formatters_reject_non_finite(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        format_wan(bad)
    with pytest.raises(ValueError):
        format_wan_human(bad)


# ---------------------------------------------------------------- properties

valid_wan = st.decimals(min_value=D("0.0001"), max_value=MAX_WAN, places=4)


@given(valid_wan)
def test_format_wan_round_trips(value: Decimal) -> None:
    assert parse_wan(format_wan(value)) == value


@given(valid_wan)
def test_bare_number_and_wan_suffix_round_trip(value: Decimal) -> None:
    plain = format(value, "f")
    assert parse_wan(plain) == value
    assert parse_wan(f"{plain}万") == value
    assert parse_wan(f"{value}万") == value


@given(valid_wan)
def test_human_format_groups_the_same_number(value: Decimal) -> None:
    """The zh display text is the canonical text with separators and 元."""
    human = format_wan_human(value)
    assert human.endswith("元")
    assert parse_wan(human.replace(",", "")) == value


@settings(max_examples=500)
@given(st.text())
def test_parse_wan_only_ever_raises_amount_error(text: str) -> None:
    try:
        value = parse_wan(text)
    except AmountError as err:
        assert err.code in ERROR_CODES
    else:
        assert D(0) < value <= MAX_WAN


_NUMERAL_SOUP = st.text(alphabet="0123456789零一二两三五九十百千万亿壹仟点.,多余约元", max_size=12)


@settings(max_examples=500)
@given(_NUMERAL_SOUP)
def test_numeral_soup_never_escapes_as_another_exception(text: str) -> None:
    """cn2an raises KeyError on some inputs; none may leak through."""
    try:
        value = parse_wan(text)
    except AmountError:
        return
    assert D(0) < value <= MAX_WAN
    assert value == value.quantize(D("0.0001"))


@given(st.integers(min_value=1, max_value=int(MAX_USD)))
def test_parse_usd_round_trips_integers(value: int) -> None:
    assert parse_usd(str(value)) == value
    assert parse_usd(f"${value:,}") == value
    assert parse_usd(f"{value}美元") == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5000万。", Decimal("5000")),
        ("5000万.", Decimal("5000")),
        ("1.2亿！", Decimal("12000")),
        ("1.2亿!", Decimal("12000")),
        ("一亿两千万，", Decimal("12000")),
        ("约3000万元左右。", Decimal("3000")),
        ("5000万。。", Decimal("5000")),
        ("5000万？", Decimal("5000")),
    ],
)
def test_trailing_sentence_punctuation_is_accepted(text: str, expected: Decimal) -> None:
    assert parse_wan(text) == expected


def test_trailing_punctuation_on_dollars_and_nothing_but_punctuation() -> None:
    assert parse_usd("2万美元。") == Decimal("20000")
    assert parse_usd("$500,000!") == Decimal("500000")
    for text in ("。", "...", "，"):
        with pytest.raises(AmountError) as caught:
            parse_wan(text)
        assert caught.value.code == "not_a_number"


def test_the_numeral_tables_are_cn2ans() -> None:
    """amounts.py copies them so that cn2an is imported only to read a Chinese numeral."""
    from cn2an import conf

    assert conf.NUMBER_CN2AN == NUMBER_CN2AN
    assert conf.UNIT_CN2AN == UNIT_CN2AN
