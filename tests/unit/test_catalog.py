from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import catalog
from bot.assembly.commands import COMMANDS
from bot.catalog import LOCALES, Html, messages, placeholders

ROOT = Path(__file__).resolve().parents[2]


def test_every_locale_has_every_key_with_the_same_placeholders() -> None:
    zh, en = messages("zh_CN"), messages("en")
    assert set(zh) == set(en)
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key


def test_every_key_used_in_code_exists() -> None:
    used: set[str] = set()
    pattern = re.compile(
        r"""(?:\bt|\.t|label|plain|error_text|ServiceError|SheetError|_err)\(\s*f?["']([a-z_]+\.[a-z_.]+)["']"""
    )
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 40, "the key scanner found too little: is the pattern stale?"
    missing = sorted(k for k in used if "{" not in k and k not in messages("zh_CN"))
    assert not missing


def test_every_command_has_a_description() -> None:
    for locale in LOCALES:
        for command in COMMANDS:
            assert catalog.plain(f"cmd.{command.name}", locale)


def test_values_are_escaped_once_and_html_passes_through() -> None:
    out = catalog.t("start.hello", "zh_CN", name="<script>&")
    assert "&lt;script&gt;&amp;" in out and "<script>" not in out
    nested = catalog.t("start.hello", "en", name=Html("<b>x</b>"))
    assert "<b>x</b>" in nested


def test_unknown_key_fails_loudly() -> None:
    with pytest.raises(KeyError):
        catalog.t("no.such.key")


def test_locale_codes_from_telegram() -> None:
    assert catalog.normalize_locale("en-US") == "en"
    assert catalog.normalize_locale("zh-hans") == "zh_CN"
    assert catalog.normalize_locale(None) == "zh_CN"
    assert catalog.normalize_locale("ru") == "zh_CN"
