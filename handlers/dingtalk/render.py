"""Catalog text (safe HTML, as Telegram gets it) turned into DingTalk markdown.

The catalog renders messages as HTML with user values already HTML-escaped.  Here the tags
the catalog uses become markdown (``<b>`` → ``**``, ``<i>`` → ``*``, ``<code>`` → `` ` ``,
``<a href>`` → ``[..](..)``) and every piece of text — template or user value — is escaped
for DingTalk markdown exactly once.  DingTalk's markdown is a subset and also renders a few
HTML tags (``<font>``, ``<br>``); so ``<``/``>`` become entities and markdown punctuation
is backslash-escaped.  That DingTalk honours backslash escapes and entities in every client is
**not verified** against a live tenant (it is what CommonMark does and what the desktop client
showed in DingTalk's own examples).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["MAX_MARKDOWN_CHARS", "escape_markdown", "html_to_markdown", "split_markdown"]

# msgParam may hold 15 000 bytes; CJK is 3 bytes in UTF-8, plus JSON quoting: stay well below.
MAX_MARKDOWN_CHARS = 4000

_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+\-.!|~])")
_TAGS = {"b": "**", "strong": "**", "i": "*", "em": "*", "code": "`", "s": "~~", "del": "~~"}


def escape_markdown(text: str) -> str:
    """User text, safe inside DingTalk markdown: shows as typed, opens no markup."""
    text = _SPECIAL.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # DingTalk needs two trailing spaces or a blank line for a line break in markdown.
    return text.replace("\n", "  \n")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _TAGS:
            self.out.append(_TAGS[tag])
        elif tag == "a":
            self.href.append(dict(attrs).get("href") or "")
            self.out.append("[")
        elif tag == "br":
            self.out.append("  \n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _TAGS:
            self.out.append(_TAGS[tag])
        elif tag == "a":
            href = self.href.pop() if self.href else ""
            self.out.append(f"]({href.replace(')', '%29')})")

    def handle_data(self, data: str) -> None:
        self.out.append(escape_markdown(data))


def html_to_markdown(html: str) -> str:
    converter = _Converter()
    converter.feed(html)
    converter.close()
    return "".join(converter.out)


def split_markdown(text: str, limit: int = MAX_MARKDOWN_CHARS) -> list[str]:
    """Long replies in parts of at most ``limit`` characters, cut at line ends when possible."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= limit // 2:
            cut = limit
            while cut > 0 and text[cut - 1] == "\\":  # never split an escape from its char
                cut -= 1
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return [p for p in parts if p] or [""]
