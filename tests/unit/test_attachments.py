"""Names and types of files uploaded on the web page: safe in a header, a page and a zip."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.services.attachments import MAX_NAME, clean_name, content_type_of, kind_of, token_of


def test_a_path_is_cut_to_its_last_part() -> None:
    assert clean_name("C:\\Users\\张三\\项目投资计划书.pdf") == "项目投资计划书.pdf"
    assert clean_name("../../etc/passwd") == "passwd"


def test_an_empty_or_dots_only_name_becomes_file() -> None:
    assert clean_name("") == "file"
    assert clean_name("...") == "file"
    assert clean_name("a/") == "file"


def test_a_long_name_keeps_its_extension() -> None:
    name = clean_name("计划书" * 100 + ".pdf")
    assert len(name) <= MAX_NAME and name.endswith(".pdf")


def test_html_and_scripts_are_never_served_as_themselves() -> None:
    assert content_type_of("x.html", "text/html") == "application/octet-stream"
    assert content_type_of("x.svg", "image/svg+xml") == "application/octet-stream"
    assert content_type_of("x", "application/javascript") == "application/octet-stream"
    assert content_type_of("plan.pdf", "text/html") == "application/pdf"  # the name decides
    assert content_type_of("photo.jpg", "") == "image/jpeg"


def test_pictures_are_photos_and_the_rest_documents() -> None:
    assert kind_of("image/png") == "photo"
    assert kind_of("application/pdf") == "document"
    assert kind_of("image/svg+xml") == "document"


def test_only_web_references_have_a_token() -> None:
    assert token_of("web:" + "a" * 32) == "a" * 32
    assert token_of("BQACAgIAAxkBAAI") is None


@given(st.text(max_size=400))
def test_any_name_is_short_flat_and_printable(raw: str) -> None:
    name = clean_name(raw)
    assert 0 < len(name) <= MAX_NAME
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(c)[0] == "C" for c in name)


def test_a_picture_without_a_name_is_known_by_its_bytes() -> None:
    from bot.services.attachments import FALLBACK_TYPE, sniffed

    assert sniffed("图片", FALLBACK_TYPE, b"\xff\xd8\xff\xe0rest") == ("图片.jpg", "image/jpeg")
    assert sniffed("图片", FALLBACK_TYPE, b"\x89PNG\r\n\x1a\nrest") == ("图片.png", "image/png")
    assert sniffed("plan", FALLBACK_TYPE, b"%PDF") == ("plan", FALLBACK_TYPE)
    assert sniffed("a.pdf", "application/pdf", b"\x89PNG") == ("a.pdf", "application/pdf")
