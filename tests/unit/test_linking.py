"""Link codes are typed by hand into another app: forgiving to type, hard to guess."""

from __future__ import annotations

from bot.services.linking import ALPHABET, LENGTH, normalize


def test_case_spaces_and_dashes_do_not_matter() -> None:
    assert normalize("abcd-efgh") == normalize("ABCD EFGH") == normalize(" ABCDEFGH ") == "ABCDEFGH"


def test_the_alphabet_has_no_look_alikes_and_forty_bits() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(ALPHABET) ** LENGTH >= 2**39
