"""统一社会信用代码: the GB 32100-2015 check character, and splitting it off a name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.credit_code import (
    ALPHABET,
    CreditCodeError,
    check_character,
    parse_credit_code,
    split_credit_code,
)

# Published codes: the example used in guides to the standard, and a well-known company.
VALID = ["91350100M000100Y43", "91110000802100433B"]


@pytest.mark.parametrize("code", VALID)
def test_published_codes_pass_their_check(code: str) -> None:
    assert parse_credit_code(code) == code


def test_full_width_lower_case_and_spaces_are_folded() -> None:
    assert parse_credit_code(" ９１３５０１００ｍ０００ １００-Y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("91350100M000100Y4", "dedup.credit.length"),
        ("91350100M000100Y433", "dedup.credit.length"),
        ("", "dedup.credit.length"),
        ("91350100M000100I43", "dedup.credit.characters"),  # I, O, Z, S, V are never used
        ("91350100M000100Y44", "dedup.credit.check"),
        ("91350100M000100Y34", "dedup.credit.check"),  # two characters swapped
    ],
)
def test_bad_codes_say_why(text: str, reason: str) -> None:
    with pytest.raises(CreditCodeError) as err:
        parse_credit_code(text)
    assert err.value.code == reason


def test_a_check_of_31_is_written_0() -> None:
    first17 = next(f"9133{n:013d}" for n in range(10**6) if check_character(f"9133{n:013d}") == "0")
    assert parse_credit_code(first17 + "0") == first17 + "0"


code17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(code17)
def test_every_code_with_its_check_character_is_valid(first17: str) -> None:
    code = first17 + check_character(first17)
    assert parse_credit_code(code) == code


@given(code17, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_any_single_wrong_character_is_caught(first17: str, at: int, wrong: str) -> None:
    code = first17 + check_character(first17)
    typo = code[:at] + wrong + code[at + 1 :]
    if typo != code:
        with pytest.raises(CreditCodeError):
            parse_credit_code(typo)


@given(code17, st.sampled_from([" ", "，", ",", "、", "  "]))
def test_a_code_after_the_name_is_split_off(first17: str, gap: str) -> None:
    code = first17 + check_character(first17)
    if sum(ch.isdigit() for ch in code) >= 8:
        assert split_credit_code(f"北京云算科技有限公司{gap}{code}") == (
            "北京云算科技有限公司",
            code,
        )


def test_names_without_a_code_stay_whole() -> None:
    for name in (
        "北京云算科技有限公司",
        "TCL 科技 集团",
        "3M 中国有限公司",
        "ABCDEFGHIJKLMNOPQR 公司",
    ):
        assert split_credit_code(name) == (name, None)


def test_a_mistyped_code_after_a_name_is_refused() -> None:
    with pytest.raises(CreditCodeError):
        split_credit_code("北京云算科技有限公司 91350100M000100Y44")
