"""Splitting long HTML replies under Telegram's 4096-character limit.

Telegram counts the text after entity parsing, in UTF-16 code units. We cut at
line breaks where we can and never inside a tag or an entity; tags open at a cut
are closed before it and reopened after, so every part parses on its own.
"""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
_TOKEN = re.compile(r"<[^>]*>|&[#A-Za-z0-9]+;|[^<&]+|[<&]")
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z-]+)")


def visible_length(text: str) -> int:
    """Length as Telegram counts it: tags removed, entities decoded, UTF-16 units."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", text))
    return len(plain.encode("utf-16-le")) // 2


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut ``text`` into parts that each fit ``limit`` and are valid HTML."""
    if visible_length(text) <= limit:
        return [text]
    parts: list[str] = []
    for block in _pack_lines(text.split("\n"), limit):
        parts.extend(_split_block(block, limit))
    return [p for p in parts if p.strip()]


def _pack_lines(lines: list[str], limit: int) -> list[str]:
    """Greedily join whole lines while they fit; long lines travel alone."""
    blocks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        n = visible_length(line) + 1
        if current and size + n > limit:
            blocks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += n
    if current:
        blocks.append("\n".join(current))
    return blocks


def _split_block(block: str, limit: int) -> list[str]:
    if visible_length(block) <= limit:
        return [block]
    parts: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, opening tag text)
    buf: list[str] = []
    size = 0
    for token in _TOKEN.findall(block):
        if token.startswith("<") and len(token) > 1:
            _track(token, open_tags)
            buf.append(token)
            continue
        for piece in _pieces(token):
            n = visible_length(piece)
            if size + n > limit:
                parts.append("".join(buf) + _closing(open_tags))
                buf, size = [tag for _, tag in open_tags], 0
            buf.append(piece)
            size += n
    parts.append("".join(buf))
    return parts


def _pieces(token: str) -> list[str]:
    """Entities stay whole; plain text may be cut between any two characters."""
    return [token] if token.startswith("&") else list(token)


def _track(tag: str, open_tags: list[tuple[str, str]]) -> None:
    m = _TAG.match(tag)
    if not m or tag.endswith("/>"):
        return
    closing, name = m.group(1) == "/", m.group(2).lower()
    if not closing:
        open_tags.append((name, tag))
        return
    for i in range(len(open_tags) - 1, -1, -1):
        if open_tags[i][0] == name:
            del open_tags[i]
            return


def _closing(open_tags: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(open_tags))
