"""One day parser for every step that asks for a day (bot/domain/dates.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.dates import parse_day
from bot.services import ServiceError
from bot.services.activities import parse_date
from bot.services.weekly import parse_leave

TUE = date(2026, 11, 17)  # a Tuesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天", date(2026, 11, 18)),
        ("后天", date(2026, 11, 19)),
        ("tomorrow", date(2026, 11, 18)),
        ("下周一", date(2026, 11, 23)),
        ("下个星期五", date(2026, 11, 27)),
        ("下礼拜天", date(2026, 11, 29)),
        ("本周五", date(2026, 11, 20)),
        ("周五", date(2026, 11, 20)),
        ("周一", date(2026, 11, 23)),  # looking ahead: the next Monday
        ("next monday", date(2026, 11, 23)),
        ("12月3日", date(2026, 12, 3)),
        ("12月3号", date(2026, 12, 3)),
        ("1月5日", date(2027, 1, 5)),  # already past this year: next year's
        ("２０２６－１２－０３", date(2026, 12, 3)),
        ("2026年12月3日。", date(2026, 12, 3)),
        ("3天后", date(2026, 11, 20)),
        ("in 10 days", date(2026, 11, 27)),
    ],
)
def test_days_looking_ahead(text: str, expected: date) -> None:
    assert parse_day(text, TUE, future=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("昨天", date(2026, 11, 16)),
        ("前天", date(2026, 11, 15)),
        ("周五", date(2026, 11, 13)),  # looking back: last Friday
        ("上周三", date(2026, 11, 11)),
        ("12月3日", date(2025, 12, 3)),
        ("11-20", date(2025, 11, 20)),
        ("3天前", date(2026, 11, 14)),
        ("今天", TUE),
    ],
)
def test_days_looking_back(text: str, expected: date) -> None:
    assert parse_day(text, TUE, future=False) == expected


@pytest.mark.parametrize("text", ["", "下礼拜八", "2月30日", "13月1日", "someday", "周"])
def test_what_names_no_day_is_none(text: str) -> None:
    assert parse_day(text, TUE, future=True) is None


def test_leave_understands_the_same_words_as_the_forms() -> None:
    assert parse_leave("明天", TUE) == date(2026, 11, 18)
    assert parse_leave("until 下周一", TUE) == date(2026, 11, 23)
    assert parse_leave("至12月3日", TUE) == date(2026, 12, 3)
    assert parse_leave("off", TUE) is None
    assert parse_leave("whenever", TUE) is False


def test_activity_dates_keep_their_past_only_rule() -> None:
    assert parse_date("昨天", TUE) == date(2026, 11, 16)
    assert parse_date("11月20日", TUE) == date(2025, 11, 20)
    with pytest.raises(ServiceError) as err:
        parse_date("明天", TUE)
    assert err.value.code == "activity.future_date"
    with pytest.raises(ServiceError) as err:
        parse_date("whenever", TUE)
    assert err.value.code == "activity.bad_date"
