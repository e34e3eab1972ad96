"""``BenchSize.liaisons``: more liaisons a unit for bench/reminders.py, the default unchanged."""

from __future__ import annotations

import pytest

from bot.operations import benchdata

NOW = benchdata.default_now()


def test_the_default_writes_one_liaison_and_one_head_a_unit() -> None:
    units, members = benchdata._people(3, NOW)
    assert len(units) == 3
    assert [(m["id"], m["tg_user_id"], m["unit_id"], m["role"]) for m in members] == [
        (1, 900_000_001, None, "leader"),
        (2, 800_000_010, 1, "liaison"),
        (3, 800_000_011, 1, "head"),
        (4, 800_000_020, 2, "liaison"),
        (5, 800_000_021, 2, "head"),
        (6, 800_000_030, 3, "liaison"),
        (7, 800_000_031, 3, "head"),
    ]


def test_further_liaisons_come_after_everybody_else() -> None:
    _, one = benchdata._people(3, NOW)
    _, three = benchdata._people(3, NOW, liaisons=3)
    assert three[: len(one)] == one  # the leads' reporter ids still point at the same people
    extra = three[len(one) :]
    assert [(m["id"], m["tg_user_id"], m["unit_id"]) for m in extra] == [
        (8, 800_000_012, 1),
        (9, 800_000_013, 1),
        (10, 800_000_022, 2),
        (11, 800_000_023, 2),
        (12, 800_000_032, 3),
        (13, 800_000_033, 3),
    ]
    assert {m["role"] for m in extra} == {"liaison"}
    assert len({m["tg_user_id"] for m in three}) == len(three)


@pytest.mark.parametrize("liaisons", [0, 10])
def test_liaisons_out_of_range_are_refused(liaisons: int) -> None:
    with pytest.raises(ValueError):
        benchdata._people(2, NOW, liaisons)
