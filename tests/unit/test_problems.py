"""Problems (存在问题) found in progress notes: what counts as one and what does not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.problems import PROBLEM_MAX, problems_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("已完成环评；问题：用地指标待协调", ["用地指标待协调"]),
        ("存在问题：资金未到位。下周继续对接", ["资金未到位"]),
        ("困难: 电力增容\n难点：环评批复慢", ["电力增容", "环评批复慢"]),
        ("堵点：规划调整；需协调解决的问题：道路接入", ["规划调整", "道路接入"]),
        ("需要协调：供气；待协调事项：排污指标", ["供气", "排污指标"]),
        ("企业诉求：希望减免租金", ["希望减免租金"]),
        ("Problem: land quota; blocker: grid capacity", ["land quota", "grid capacity"]),
        ("问题：无；困难：暂无", []),
        ("问题：", []),
        ("没有问题，进展顺利", []),  # no colon: ordinary prose
        ("解决了问题", []),
        ("问题：土地；问题：土地", ["土地"]),
        ("", []),
    ],
)
def test_problem_statements(text: str, expected: list[str]) -> None:
    assert problems_in(text) == expected


def test_none_and_a_long_statement() -> None:
    assert problems_in(None) == []
    assert problems_in("问题：" + "地" * 5000) == ["地" * PROBLEM_MAX]


@given(st.text(max_size=300))
def test_any_text_gives_short_non_empty_pieces_of_itself(text: str) -> None:
    found = problems_in(text)
    assert len(found) == len(set(found))
    for problem in found:
        assert problem and len(problem) <= PROBLEM_MAX and problem in text
