"""Formatted text: HTML, MarkdownV2 and legacy Markdown turned into plain text + entities,
refusing what Telegram refuses with "can't parse entities".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.localapi.records import FormattingError, _bad_request

_TRIM_CHARS = " \t\r\n"


def _utf16_len(text: str) -> int:
    """Telegram measures entity offsets in UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """Telegram's parse errors report UTF-8 byte offsets."""
    return len(text[:index].encode("utf-8"))


class _TextBuilder:
    """Collects output text while tracking its UTF-16 length for entity offsets."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.utf16 = 0

    def add(self, chunk: str) -> None:
        self._parts.append(chunk)
        self.utf16 += _utf16_len(chunk)

    @property
    def text(self) -> str:
        return "".join(self._parts)


def _entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "offset": offset, "length": length, **extra}


def _sorted_entities(entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Telegram orders entities by offset, outer (longer) ones first."""
    return sorted(
        (e for e in entities if e["length"] > 0), key=lambda e: (e["offset"], -e["length"])
    )


_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[a-zA-Z][a-zA-Z0-9]{0,31});")
_HTML_PLAIN_RE = re.compile(r"[^<&]+")
_HTML_TAG_NAME_RE = re.compile(r"[^\s>]*")
_HTML_ATTR_NAME_RE = re.compile(r"[^\s=>]+")
_HTML_UNQUOTED_VALUE_RE = re.compile(r"[^\s>]+")
_WHITESPACE_RE = re.compile(r"\s*")


@dataclass
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


class _HtmlParser:
    """Telegram's (tdlib's) HTML dialect: a fixed tag set, four named entities.

    Stricter than Telegram in one respect, on purpose: a bare ``&`` is an error, because
    it almost always means user input reached the message without ``html.escape``.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _TextBuilder()
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def error(self, message: str) -> FormattingError:
        return FormattingError(message)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        while i < len(self.source):
            char = self.source[i]
            if char == "&":
                decoded, i = self._decode_entity(i)
                self.out.add(decoded)
            elif char == "<":
                i = self._end_tag(i) if self.source.startswith("</", i) else self._start_tag(i)
            else:
                match = _HTML_PLAIN_RE.match(self.source, i)
                assert match is not None
                self.out.add(match.group())
                i = match.end()
        if self.stack:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        return self.out.text, _sorted_entities(self.entities)

    def _decode_entity(self, i: int) -> tuple[str, int]:
        match = _HTML_ENTITY_RE.match(self.source, i)
        offset = _byte_offset(self.source, i)
        if match is None:
            raise self.error(
                f'Unescaped "&" at byte offset {offset}; write a literal "&" as "&amp;"'
            )
        name = match.group(1)
        if name.startswith("#"):
            code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise self.error(f'Invalid HTML entity "{match.group()}" at byte offset {offset}')
            return chr(code), match.end()
        if name not in _NAMED_HTML_ENTITIES:
            raise self.error(f'Unsupported HTML entity "{match.group()}" at byte offset {offset}')
        return _NAMED_HTML_ENTITIES[name], match.end()

    def _unescape_attribute(self, raw: str) -> str:
        parts: list[str] = []
        i = 0
        while i < len(raw):
            if raw[i] == "&":
                decoded, i = _HtmlParser(raw)._decode_entity(i)
                parts.append(decoded)
            else:
                parts.append(raw[i])
                i += 1
        return "".join(parts)

    def _skip_space(self, i: int) -> int:
        match = _WHITESPACE_RE.match(self.source, i)
        assert match is not None
        return match.end()

    def _start_tag(self, begin: int) -> int:
        offset = _byte_offset(self.source, begin)
        name_match = _HTML_TAG_NAME_RE.match(self.source, begin + 1)
        assert name_match is not None
        name = name_match.group().lower()
        i = name_match.end()
        if i >= len(self.source):
            raise self.error(f"Unclosed start tag at byte offset {offset}")
        if name not in _HTML_ENTITY_TYPES:
            raise self.error(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs, i = self._attributes(i, offset)
        self._check_required_attributes(name, attrs, offset)
        self.stack.append(_OpenTag(name=name, start=self.out.utf16, attrs=attrs))
        return i

    def _attributes(self, i: int, offset: int) -> tuple[dict[str, str], int]:
        attrs: dict[str, str] = {}
        while True:
            i = self._skip_space(i)
            if i >= len(self.source):
                raise self.error(f"Unclosed start tag at byte offset {offset}")
            if self.source[i] == ">":
                return attrs, i + 1
            name_match = _HTML_ATTR_NAME_RE.match(self.source, i)
            if name_match is None:
                raise self.error(f"Empty attribute name in the tag at byte offset {offset}")
            attr_name = name_match.group().lower()
            i = self._skip_space(name_match.end())
            value = ""
            if i < len(self.source) and self.source[i] == "=":
                value, i = self._attribute_value(self._skip_space(i + 1), offset)
            attrs[attr_name] = value

    def _attribute_value(self, i: int, offset: int) -> tuple[str, int]:
        if i >= len(self.source):
            raise self.error(f"Unclosed start tag at byte offset {offset}")
        quote = self.source[i]
        if quote in "\"'":
            end = self.source.find(quote, i + 1)
            if end < 0:
                raise self.error(f"Unclosed start tag at byte offset {offset}")
            return self._unescape_attribute(self.source[i + 1 : end]), end + 1
        match = _HTML_UNQUOTED_VALUE_RE.match(self.source, i)
        if match is None:
            raise self.error(f"Unclosed start tag at byte offset {offset}")
        return self._unescape_attribute(match.group()), match.end()

    def _check_required_attributes(self, name: str, attrs: dict[str, str], offset: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.error(
                f'Tag "tg-emoji" must have a numeric attribute "emoji-id" at byte offset {offset}'
            )

    def _end_tag(self, begin: int) -> int:
        offset = _byte_offset(self.source, begin)
        name_match = _HTML_TAG_NAME_RE.match(self.source, begin + 2)
        assert name_match is not None
        name = name_match.group().lower()
        i = self._skip_space(name_match.end())
        if i >= len(self.source) or self.source[i] != ">":
            raise self.error(f"Unclosed end tag at byte offset {offset}")
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {offset}")
        tag = self.stack.pop()
        if name != tag.name:
            raise self.error(
                f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", '
                f'found "</{name}>"'
            )
        self._emit(tag)
        return i + 1

    def _emit(self, tag: _OpenTag) -> None:
        length = self.out.utf16 - tag.start
        kind = _HTML_ENTITY_TYPES[tag.name]
        extra: dict[str, Any] = {}
        if tag.name == "code" and self.stack and self.stack[-1].name == "pre":
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                # <pre><code class="language-x"> is one pre entity carrying the language.
                self.stack[-1].language = language.removeprefix("language-")
                return
        if kind == "text_link":
            if not tag.attrs.get("href"):
                return
            extra["url"] = tag.attrs["href"]
        elif kind == "pre" and tag.language:
            extra["language"] = tag.language
        elif kind == "blockquote" and "expandable" in tag.attrs:
            kind = "expandable_blockquote"
        elif kind == "custom_emoji":
            extra["custom_emoji_id"] = tag.attrs["emoji-id"]
        self.entities.append(_entity(kind, tag.start, length, **extra))


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "`": "Code",
    "```": "Pre",
    "[": "TextUrl",
    "![": "CustomEmoji",
}


@dataclass
class _OpenMarker:
    marker: str
    start: int
    byte_offset: int
    language: str | None = None


class _MarkdownV2Parser:
    """MarkdownV2 as Telegram parses it; every reserved character must be escaped.

    Covers bold, italic, underline, strikethrough, spoiler, code, pre, links, custom
    emoji and line-start blockquotes - the constructs a bot realistically emits.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _TextBuilder()
        self.stack: list[_OpenMarker] = []
        self.entities: list[dict[str, Any]] = []
        self.quote_start: int | None = None

    def error(self, message: str) -> FormattingError:
        return FormattingError(message)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        while i < len(self.source):
            i = self._step(i)
        if self.stack:
            top = self.stack[-1]
            raise self.error(
                f"Can't find end of {_MDV2_NAMES[top.marker]} entity at byte offset "
                f"{top.byte_offset}"
            )
        self._close_quote()
        return self.out.text, _sorted_entities(self.entities)

    def _in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1].marker in ("`", "```")

    def _step(self, i: int) -> int:
        char = self.source[i]
        if char == "\\" and i + 1 < len(self.source) and 0 < ord(self.source[i + 1]) <= 126:
            self.out.add(self.source[i + 1])
            return i + 2
        if self._in_code():
            return self._code_step(i)
        if char == "\n":
            self._newline(i)
            return i + 1
        if char not in _MDV2_RESERVED:
            self.out.add(char)
            return i + 1
        return self._reserved(i)

    def _code_step(self, i: int) -> int:
        marker = self.stack[-1].marker
        if self.source.startswith(marker, i):
            self._close(self.stack.pop())
            return i + len(marker)
        self.out.add(self.source[i])
        return i + 1

    def _newline(self, i: int) -> None:
        if self.quote_start is not None and not self.source.startswith(">", i + 1):
            self._close_quote()
        self.out.add("\n")

    def _close_quote(self) -> None:
        if self.quote_start is not None:
            length = self.out.utf16 - self.quote_start
            self.entities.append(_entity("blockquote", self.quote_start, length))
            self.quote_start = None

    def _reserved(self, i: int) -> int:
        for marker in ("```", "||", "__", "![", "`", "*", "_", "~", "["):
            if self.source.startswith(marker, i):
                return self._marker(marker, i)
        char = self.source[i]
        if char == "]" and self.stack and self.stack[-1].marker in ("[", "!["):
            return self._link_end(i)
        if char == ">" and (i == 0 or self.source[i - 1] == "\n"):
            if self.quote_start is None:
                self.quote_start = self.out.utf16
            return i + 1
        raise self.error(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def _marker(self, marker: str, i: int) -> int:
        if self.stack and self.stack[-1].marker == marker and marker not in ("[", "!["):
            self._close(self.stack.pop())
            return i + len(marker)
        if marker == "__" and self.stack and self.stack[-1].marker == "_":
            # "_italic_" followed immediately by "_" - close the italic first.
            self._close(self.stack.pop())
            return i + 1
        opened = _OpenMarker(marker, self.out.utf16, _byte_offset(self.source, i))
        i += len(marker)
        if marker == "```":
            newline = self.source.find("\n", i)
            header = self.source[i:newline] if newline >= 0 else ""
            if newline >= 0 and re.fullmatch(r"[A-Za-z0-9_+#-]*", header):
                opened.language = header or None
                i = newline + 1
        self.stack.append(opened)
        return i

    def _link_end(self, i: int) -> int:
        opened = self.stack.pop()
        if not self.source.startswith("(", i + 1):
            return i + 1
        url, end = self._url(i + 2, opened)
        if opened.marker == "![":
            emoji_id = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
            if emoji_id is None:
                raise self.error("Custom emoji entity must contain a tg://emoji URL")
            kind, extra = "custom_emoji", {"custom_emoji_id": emoji_id.group(1)}
        else:
            kind, extra = "text_link", {"url": url}
        length = self.out.utf16 - opened.start
        self.entities.append(_entity(kind, opened.start, length, **extra))
        return end

    def _url(self, i: int, opened: _OpenMarker) -> tuple[str, int]:
        chars: list[str] = []
        while i < len(self.source):
            char = self.source[i]
            if char == "\\" and i + 1 < len(self.source):
                chars.append(self.source[i + 1])
                i += 2
                continue
            if char == ")":
                return "".join(chars), i + 1
            chars.append(char)
            i += 1
        raise self.error(f"Can't find end of a URL at byte offset {opened.byte_offset}")

    def _close(self, opened: _OpenMarker) -> None:
        length = self.out.utf16 - opened.start
        if opened.marker == "`":
            self.entities.append(_entity("code", opened.start, length))
        elif opened.marker == "```":
            extra = {"language": opened.language} if opened.language else {}
            self.entities.append(_entity("pre", opened.start, length, **extra))
        else:
            self.entities.append(_entity(_MDV2_MARKERS[opened.marker], opened.start, length))


_MARKDOWN_KINDS = {"*": "bold", "_": "italic", "`": "code"}


def _parse_markdown_legacy(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: no nesting, an unmatched marker is an error."""
    out = _TextBuilder()
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and source[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(source[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        closer = "```" if source.startswith("```", i) else ("]" if char == "[" else char)
        start = i + len(closer) if closer != "]" else i + 1
        end = source.find(closer, start)
        if end < 0:
            raise FormattingError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
            )
        inner = source[start:end]
        offset = out.utf16
        out.add(inner)
        i = end + len(closer)
        if closer == "]":
            url_match = re.match(r"\(([^)]*)\)", source[i:])
            if url_match:
                entities.append(
                    _entity("text_link", offset, _utf16_len(inner), url=url_match.group(1))
                )
                i += url_match.end()
            continue
        kind = "pre" if closer == "```" else _MARKDOWN_KINDS[closer]
        entities.append(_entity(kind, offset, _utf16_len(inner)))
    return out.text, _sorted_entities(entities)


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips surrounding whitespace; entities shift and clip with the text."""
    stripped = text.strip(_TRIM_CHARS)
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip(_TRIM_CHARS))])
    total = _utf16_len(stripped)
    trimmed: list[dict[str, Any]] = []
    for ent in entities:
        start = max(0, ent["offset"] - lead)
        end = min(total, ent["offset"] + ent["length"] - lead)
        if end > start:
            trimmed.append({**ent, "offset": start, "length": end - start})
    return stripped, trimmed


def normalize_parse_mode(parse_mode: str | None) -> str | None:
    """Telegram accepts parse modes case-insensitively; anything else is refused."""
    if not parse_mode:
        return None
    canonical = {"html": "HTML", "markdown": "Markdown", "markdownv2": "MarkdownV2"}
    try:
        return canonical[parse_mode.lower()]
    except KeyError:
        raise _bad_request("unsupported parse_mode") from None


def parse_formatted_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return the text a user would read plus its entities, Telegram-style.

    Raises FormattingError for markup Telegram refuses; the text is trimmed the way
    Telegram trims it.
    """
    mode = normalize_parse_mode(parse_mode)
    if mode == "HTML":
        plain, entities = _HtmlParser(text).parse()
    elif mode == "MarkdownV2":
        plain, entities = _MarkdownV2Parser(text).parse()
    elif mode == "Markdown":
        plain, entities = _parse_markdown_legacy(text)
    else:
        plain, entities = text, []
    return _trim(plain, entities)
