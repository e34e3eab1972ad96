"""The one callback codec: typed button values, one wire format, stale on anything odd."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.forms.callbacks import MAX_BYTES, STALE, CallbackTooLong, Codec
from bot.forms.model import Act, Choose


@dataclass(frozen=True)
class Page:
    page: int
    stage: str
    mine: bool = False


@dataclass(frozen=True)
class Pick:
    lead: int | None


@pytest.fixture
def codec() -> Codec:
    c = Codec()
    c.register("lp", Page)
    c.register("lk", Pick)
    c.register("rp", Choose, form="report")
    c.register("rs", Act, form="report")
    return c


def test_values_round_trip_through_their_prefix(codec: Codec) -> None:
    for value in (Page(2, "在谈", True), Page(0, "", False), Pick(None), Pick(7)):
        data = codec.encode(value)
        assert codec.decode(data) == value
    assert codec.encode(Page(2, "在谈", True)) == "lp:2:在谈:1"


def test_fixed_fields_are_not_on_the_wire(codec: Codec) -> None:
    assert codec.encode(Choose("report", "industry", "2")) == "rp:industry:2"
    assert codec.decode("rs:save") == Act("report", "save")
    with pytest.raises(KeyError):
        codec.encode(Act("weekly", "save"))  # no prefix for that form


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "zz:1",
        "lp",
        "lp:1",
        "lp:x:在谈:1",
        "lp:1:a:2",
        "lp:1:a:1:extra",
        "lk:1.5",
        "lp:" + "9" * 70,
        "rs",
        "rp:industry",
    ],
)
def test_forged_or_old_data_decodes_to_stale(codec: Codec, data: str | None) -> None:
    assert codec.decode(data) is STALE
    assert not STALE


def test_the_telegram_limit_and_the_separator_are_enforced(codec: Codec) -> None:
    with pytest.raises(CallbackTooLong):
        codec.encode(Page(1, "长" * 30))  # 90 bytes of UTF-8
    assert len(codec.encode(Page(1, "长" * 19)).encode()) <= MAX_BYTES
    with pytest.raises(ValueError, match="may not contain"):
        codec.encode(Page(1, "a:b"))


def test_registration_is_checked(codec: Codec) -> None:
    with pytest.raises(ValueError, match="twice"):
        codec.register("lp", Pick)

    @dataclass
    class Mutable:
        x: int

    with pytest.raises(TypeError, match="frozen"):
        codec.register("mu", Mutable)

    @dataclass(frozen=True)
    class Listy:
        x: list[int]

    with pytest.raises(TypeError, match="str, int or bool"):
        codec.register("li", Listy)


@dataclass(frozen=True)
class StageChosen:
    lead: int
    stage: int


def test_two_word_prefixes_keep_existing_button_data(codec: Codec) -> None:
    codec.register("lb:sg", StageChosen)
    codec.register("lb:c", Pick)
    assert codec.encode(StageChosen(1, 1)) == "lb:sg:1:1"
    assert codec.decode("lb:sg:1:1") == StageChosen(1, 1)
    assert codec.decode("lb:c:7") == Pick(7)
    assert codec.decode("lb:sg:x:1") is STALE and codec.decode("lb:zz:1") is STALE
    assert codec.handles("lb:sg:garbage") and not codec.handles("lb:zz:1")
    with pytest.raises(ValueError, match="at most one"):
        codec.register("a:b:c", Pick)
