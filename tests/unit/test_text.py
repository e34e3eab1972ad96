from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rendering.text import TELEGRAM_LIMIT, split_html, visible_length


def test_short_text_is_one_part() -> None:
    assert split_html("<b>hi</b>") == ["<b>hi</b>"]


def test_splits_at_lines_under_the_limit() -> None:
    lines = [f"<b>第{i}行</b> " + "内容" * 30 for i in range(400)]
    parts = split_html("\n".join(lines))
    assert len(parts) > 1
    assert all(visible_length(p) <= TELEGRAM_LIMIT for p in parts)
    assert "\n".join(parts).count("<b>") == 400  # no line lost, none cut


def test_one_huge_line_is_cut_with_tags_reopened() -> None:
    text = "<b>" + "x" * 10000 + "</b>"
    parts = split_html(text)
    assert len(parts) == 3
    for p in parts:
        assert p.startswith("<b>") and p.endswith("</b>") and visible_length(p) <= TELEGRAM_LIMIT


def test_entities_are_never_cut() -> None:
    text = "&lt;" * 5000
    parts = split_html(text)
    assert all(re.fullmatch(r"(&lt;)+", p) for p in parts)


def test_emoji_count_as_two_units() -> None:
    assert visible_length("😀") == 2
    parts = split_html("😀" * 3000)
    assert all(visible_length(p) <= TELEGRAM_LIMIT for p in parts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=60), st.integers(50, 500))
def test_property_parts_fit_and_keep_every_character(lines: list[str], limit: int) -> None:
    import html

    text = "\n".join(html.escape(line) for line in lines)
    parts = split_html(text, limit)
    assert all(visible_length(p) <= limit for p in parts)
    joined = html.unescape("".join(parts)).replace("\n", "")
    assert joined == html.unescape(text).replace("\n", "") or not text.strip()
