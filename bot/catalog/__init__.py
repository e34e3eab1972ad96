"""The message catalog: every user-facing string, zh_CN first, en second.

Messages are gettext ``.po`` files read with Babel, one domain per feature area
(``leadbot.po``, ``leads.po``, …) so that features do not edit one file; a msgid
is a stable key such as ``start.welcome`` and the msgstr is HTML with
``{placeholders}``. Values are
HTML-escaped here, once, unless wrapped in :class:`Html` (already rendered by
this catalog), so user text can never inject markup.
"""

from __future__ import annotations

import html
import string
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
_DIR = Path(__file__).parent / "locale"


class Html(str):
    """Text that is already safe HTML (rendered by the catalog)."""

    __slots__ = ()


def normalize_locale(code: str | None) -> str:
    """Map Telegram's language codes (zh-hans, en-US …) onto our two catalogs."""
    if not code:
        return DEFAULT_LOCALE
    low = code.replace("-", "_").lower()
    if low.startswith("en"):
        return "en"
    return DEFAULT_LOCALE


@cache
def messages(locale: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for m in catalog:
            if m.id and m.string:
                if m.id in found:
                    raise ValueError(f"message {m.id!r} is defined twice ({path.name})")
                found[str(m.id)] = str(m.string)
    return found


def raw(key: str, locale: str = DEFAULT_LOCALE) -> str:
    """The template itself; falls back to zh_CN, then fails loudly."""
    found = messages(locale).get(key) or messages(DEFAULT_LOCALE).get(key)
    if found is None:
        raise KeyError(f"message {key!r} is not in the catalog")
    return found


def t(key: str, locale: str = DEFAULT_LOCALE, /, **values: Any) -> Html:
    """Render one message as safe HTML."""
    template = raw(key, locale)
    return Html(template.format(**{k: _escape(v) for k, v in values.items()}))


def plain(key: str, locale: str = DEFAULT_LOCALE, /, **values: Any) -> str:
    """Render one message for a place that shows no HTML (button labels, CLI)."""
    template = raw(key, locale)
    return template.format(**{k: (v if isinstance(v, str) else str(v)) for k, v in values.items()})


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _escape(value: Any) -> str:
    if isinstance(value, Html):
        return value
    return html.escape(str(value), quote=False)
