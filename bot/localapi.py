"""A local stand-in for the Telegram Bot API, served over real HTTP.

The real ``telegram.ext.Application`` runs against it unchanged (only ``base_url`` and
``base_file_url`` differ), so end-to-end tests and ``leadbot console`` exercise the same
request encoding, error mapping, retries and polling code that production uses.  The
server validates requests the way Telegram does (HTML entities, message length, inline
keyboard limits, edit rules, ...) because bugs in those areas only show up against a
strict server, and it can inject faults (429, 5xx, blocked users) on demand.

All state lives on the event loop the server runs on; the simulation methods
(``send_text``, ``press`` ...) are synchronous and must be called from that loop (use
``loop.call_soon_threadsafe`` from other threads).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import mimetypes
import random
import re
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

__all__ = [
    "FormattingError",
    "LocalBotAPI",
    "RecordedCall",
    "SentMessage",
    "parse_formatted_text",
]

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
Params = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_LONG_POLL_SECONDS = 50.0
MAX_COMMANDS = 100

_TRIM_CHARS = " \t\r\n"


# --------------------------------------------------------------------------------------
# Public records
# --------------------------------------------------------------------------------------


@dataclass
class RecordedCall:
    """One Bot API request as the server answered it.

    ``index`` is the call's position in ``LocalBotAPI.calls`` so that a consumer
    following the stream (the console) can resume with ``wait_for(start=call.index + 1)``.
    """

    method: str
    params: dict[str, Any]
    ok: bool
    response: Any
    at: float
    index: int = -1


@dataclass
class SentMessage:
    """A message as the chat shows it now, with edits applied.

    ``text`` is the source the bot sent (markup included, so tests can check formatting
    together with ``parse_mode``); ``plain_text`` is what the user reads.
    """

    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    from_bot: bool
    document: dict[str, Any] | None = None
    photo: str | None = None
    edited: int = 0
    plain_text: str | None = None


class FormattingError(ValueError):
    """Raised for text Telegram would refuse with "can't parse entities"."""


class ApiError(Exception):
    """An error response; raised anywhere inside a method handler to abort the call."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------------------
# Formatted text: HTML, MarkdownV2 and legacy Markdown -> plain text + entities
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Request decoding
# --------------------------------------------------------------------------------------

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "user_id",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "message_thread_id",
        "from_chat_id",
    }
)
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)


@dataclass
class _Upload:
    """A file part of a multipart request."""

    file_name: str
    data: bytes
    mime_type: str | None


def _coerce(name: str, value: Any) -> Any:
    """Form fields arrive as strings (PTB JSON-encodes non-string values); restore types.

    Values that do not convert are kept as they are so the handler can reject them with
    the message Telegram would use.
    """
    if not isinstance(value, str):
        return value
    try:
        if name in _JSON_FIELDS:
            return json.loads(value)
        if name in _INT_FIELDS:
            return int(value)
        if name in _FLOAT_FIELDS:
            number = float(value)
            return int(number) if number.is_integer() else number
    except ValueError:
        return value
    if name in _BOOL_FIELDS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


async def _read_params(request: web.Request) -> tuple[Params, dict[str, _Upload]]:
    """Accept every encoding Telegram accepts: query string, JSON, urlencoded, multipart."""
    raw: Params = dict(request.query)
    uploads: dict[str, _Upload] = {}
    if request.can_read_body:
        try:
            await _read_body(request, raw, uploads)
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
    return {name: _coerce(name, value) for name, value in raw.items()}, uploads


async def _read_body(request: web.Request, raw: Params, uploads: dict[str, _Upload]) -> None:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _bad_request("JSON object expected")
        raw.update(body)
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads[name] = _Upload(
                    file_name=value.filename,
                    data=value.file.read(),
                    mime_type=value.content_type,
                )
            else:
                raw[name] = value


def _get_int(params: Params, name: str, missing: str | None = None) -> int | None:
    """An integer parameter; `missing` is the Telegram error when it is required."""
    value = params.get(name)
    if value is None or value == "":
        if missing is not None:
            raise _bad_request(missing)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _bad_request(f'invalid value for parameter "{name}"')
    return value


def _require_int(params: Params, name: str, missing: str) -> int:
    """A mandatory integer parameter; `missing` is Telegram's complaint when it is absent."""
    value = _get_int(params, name, missing)
    assert value is not None
    return value


def _get_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_request(f'field "{name}" must be of type String')
    return value


def _get_bool(params: Params, name: str) -> bool:
    return params.get(name) is True


# --------------------------------------------------------------------------------------
# Reply markup
# --------------------------------------------------------------------------------------

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = frozenset({"http", "https", "tg", "ton"})


def _check_button_url(url: Any) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if (
        parts is None
        or parts.scheme.lower() not in _URL_SCHEMES
        or not (parts.netloc or parts.path or parts.query)
    ):
        raise _bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise _bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not text.strip():
        raise _bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise _bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode("utf-8")) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise _bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        _check_button_url(button["url"])
    if "web_app" in button:
        _check_web_app(button["web_app"])


def _check_web_app(info: Any) -> None:
    """Telegram opens Mini Apps over https only; the stand-in also lets this machine's
    http through, for local trials (the real API would answer BUTTON_TYPE_INVALID)."""
    url = info.get("url") if isinstance(info, dict) else None
    parts = urlsplit(url) if isinstance(url, str) else None
    local = parts is not None and parts.hostname in ("127.0.0.1", "localhost")
    if parts is None or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise _bad_request("BUTTON_TYPE_INVALID")


def _check_rows(markup: dict[str, Any], key: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request(f'field "{key}" of the keyboard markup must be an Array of Arrays')
    return rows


def _validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Refuse keyboards Telegram refuses; returns the markup as sent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for row in _check_rows(markup, "inline_keyboard"):
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        for row in _check_rows(markup, "keyboard"):
            for button in row:
                label = button.get("text") if isinstance(button, dict) else button
                if not isinstance(label, str) or not label:
                    raise _bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _inline_part(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Messages only carry inline keyboards; reply keyboards live on the client."""
    if markup and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Dimensions of a PNG/GIF/JPEG/WebP, or None: Telegram refuses non-image photos."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    return None


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + segment
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        b = data[21:25]
        width = 1 + (((b[1] & 0x3F) << 8) | b[0])
        height = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return width, height
    return None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "document" | "photo"
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def as_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def as_photo(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": len(self.data),
                "width": self.width,
                "height": self.height,
            }
        ]


# --------------------------------------------------------------------------------------
# Internal state records
# --------------------------------------------------------------------------------------


@dataclass
class _StoredMessage:
    """A message plus what only the sender knows (source text, parse mode, full markup)."""

    raw: dict[str, Any]
    from_bot: bool
    source_text: str | None = None
    parse_mode: str | None = None
    markup: dict[str, Any] | None = None
    edited: int = 0

    def view(self) -> SentMessage:
        raw = self.raw
        document = raw.get("document")
        photo = raw.get("photo")
        plain = raw.get("text", raw.get("caption"))
        return SentMessage(
            chat_id=raw["chat"]["id"],
            message_id=raw["message_id"],
            text=self.source_text if self.source_text is not None else plain,
            parse_mode=self.parse_mode,
            reply_markup=copy.deepcopy(self.markup),
            from_bot=self.from_bot,
            document=(
                {"file_id": document["file_id"], "file_name": document.get("file_name")}
                if document
                else None
            ),
            photo=photo[-1]["file_id"] if photo else None,
            edited=self.edited,
            plain_text=plain,
        )


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    description: str | None
    remaining: int = 1

    def error(self) -> ApiError:
        """The response Telegram gives for this kind of failure."""
        parameters = None
        description = self.description
        if self.status == 429:
            if self.retry_after is not None:
                parameters = {"retry_after": self.retry_after}
            description = description or f"Too Many Requests: retry after {self.retry_after or 1}"
        if description is None:
            try:
                description = HTTPStatus(self.status).phrase
            except ValueError:
                description = f"Error {self.status}"
        return ApiError(self.status, description, parameters)


@dataclass
class _RandomFault:
    fraction: float
    fault: _Fault
    rng: random.Random


@dataclass
class _CallbackQuery:
    update_id: int
    answer: dict[str, Any] | None = None


class _Signal:
    """Wakes every coroutine waiting for "something changed".

    Sync code (``send_text``) must be able to wake pollers, which rules out
    ``asyncio.Condition``; a fresh Event per generation gives the same semantics
    without a lock.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None = None) -> bool:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


_SCOPES_WITH_CHAT = frozenset({"chat", "chat_administrators", "chat_member"})
_SCOPE_TYPES = (
    frozenset({"default", "all_private_chats", "all_group_chats", "all_chat_administrators"})
    | _SCOPES_WITH_CHAT
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_TOKEN_RE = re.compile(r"(\d+):[A-Za-z0-9_-]+")

CommandKey = tuple[str, int | None, int | None, str]
Handler = Callable[[Params, dict[str, _Upload]], Awaitable[Any]]


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class LocalBotAPI:
    """An in-process Telegram: simulated users on one side, the Bot API on the other."""

    def __init__(
        self,
        token: str = "123456:LOCAL-TEST-TOKEN",
        bot_username: str = "leadbot_local_bot",
        bot_name: str = "Leadbot",
        now: Callable[[], float] | None = None,
    ) -> None:
        match = _TOKEN_RE.fullmatch(token)
        if match is None:
            raise ValueError(f"not a bot token: {token!r} (expected '<digits>:<secret>')")
        self.token = token
        self.bot_id = int(match.group(1))
        self.bot_username = bot_username
        self.bot_name = bot_name
        self._now = now or time.time

        self.calls: list[RecordedCall] = []
        # called with each call as it is recorded, before its answer leaves (the kill tests)
        self.observers: list[Callable[[RecordedCall], None]] = []
        self.webhook: dict[str, Any] | None = None

        self._users: dict[int, dict[str, Any]] = {}
        self._not_started: set[int] = set()
        self._chats: dict[int, dict[str, Any]] = {}
        self._members: dict[int, set[int]] = {}
        self._bot_status: dict[int, str] = {}
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, _StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, str] = {}
        self._file_counter = 0
        self._commands: dict[CommandKey, list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}  # chat id (None: default)
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._callback_by_update: dict[int, str] = {}

        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._duplicate_next = 0
        self._poll_generation = 0
        self._polls_waiting = 0

        self._faults: dict[str, deque[_Fault]] = {}
        self._random_faults: dict[str, _RandomFault] = {}

        self._update_signal = _Signal()
        self._poll_signal = _Signal()
        self._call_signal = _Signal()

        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._stopping = False
        self._handlers = self._method_table()

    # ---------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port; port 0 picks a free port (see base_url afterwards)."""
        if self._runner is not None:
            raise RuntimeError("LocalBotAPI is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._stopping = False
        bound_host, bound_port = runner.addresses[0][:2]
        wildcard = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}
        self._host = wildcard.get(bound_host, bound_host)
        self._port = bound_port
        _LOGGER.info("Local Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered first so clients are not left hanging."""
        if self._runner is None:
            return
        self._stopping = True
        self._update_signal.fire()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    @property
    def _origin(self) -> str:
        if not self._port:
            raise RuntimeError("the address is known only after start()")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def continue_update_ids(self, after: int) -> None:
        """Number the next updates past ``after``: a console reopening a database whose bot
        has already seen ids 1…after would otherwise have its updates dropped as redeliveries."""
        self._next_update_id = max(self._next_update_id, after + 1)

    # ---------------------------------------------------------------- people and chats

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        last_name: str | None = None,
        *,
        started: bool = True,
    ) -> dict[str, Any]:
        """Create (or replace) a person and their private chat with the bot.

        ``started=False`` models someone who never opened the bot: Telegram refuses to let
        the bot message them until they write first.
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = chat[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = chat
        if started:
            self._not_started.discard(user_id)
        else:
            self._not_started.add(user_id)
        return copy.deepcopy(user)

    def add_group(self, chat_id: int, title: str, type: str = "supergroup") -> dict[str, Any]:
        """Create a group the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if type not in ("group", "supergroup"):
            raise ValueError("type must be 'group' or 'supergroup'")
        chat = {"id": chat_id, "type": type, "title": title}
        self._chats[chat_id] = chat
        self._members.setdefault(chat_id, set())
        self._bot_status.setdefault(chat_id, "member")
        return copy.deepcopy(chat)

    def _user(self, user_id: int) -> dict[str, Any]:
        try:
            return self._users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}; call add_user() first") from None

    def _chat_for(self, user_id: int, chat_id: int | None) -> dict[str, Any]:
        """The chat a user acts in; acting in a group makes them a member."""
        if chat_id is None or chat_id == user_id:
            self._not_started.discard(user_id)
            return self._chats[user_id]
        if chat_id > 0:
            raise ValueError(f"user {user_id} cannot act in another user's private chat {chat_id}")
        if chat_id not in self._chats:
            raise ValueError(f"unknown group {chat_id}; call add_group() first")
        self._members[chat_id].add(user_id)
        return self._chats[chat_id]

    # ---------------------------------------------------------------- simulated input

    def send_text(self, user_id: int, text: str, chat_id: int | None = None) -> int:
        """A user writes a text message; returns the update_id."""
        user = self._user(user_id)
        if not text.strip():
            raise ValueError("Telegram clients cannot send empty messages")
        chat = self._chat_for(user_id, chat_id)
        extra: dict[str, Any] = {"text": text}
        command = _BOT_COMMAND_RE.match(text)
        if command:
            extra["entities"] = [_entity("bot_command", 0, _utf16_len(command.group()))]
        message = self._store_message(chat, user, from_bot=False, extra=extra)
        return self._enqueue({"message": message.raw})

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        chat_id: int | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> int:
        """A user sends a file; the bot can fetch it with getFile + download."""
        user = self._user(user_id)
        chat = self._chat_for(user_id, chat_id)
        stored = self._store_file("document", data, file_name, mime_type)
        extra: dict[str, Any] = {"document": stored.as_document()}
        if caption:
            extra["caption"] = caption
        message = self._store_message(chat, user, from_bot=False, extra=extra)
        return self._enqueue({"message": message.raw})

    def send_photo(
        self, user_id: int, data: bytes, chat_id: int | None = None, caption: str | None = None
    ) -> int:
        """A user sends a photo; non-image bytes are accepted with a nominal 1x1 size."""
        user = self._user(user_id)
        chat = self._chat_for(user_id, chat_id)
        stored = self._store_file("photo", data, None, "image/jpeg")
        stored.width, stored.height = _image_size(data) or (1, 1)
        extra: dict[str, Any] = {"photo": stored.as_photo()}
        if caption:
            extra["caption"] = caption
        message = self._store_message(chat, user, from_bot=False, extra=extra)
        return self._enqueue({"message": message.raw})

    def press_button(self, user_id: int, chat_id: int, message_id: int, callback_data: str) -> int:
        """A user taps an inline button; the data is not checked against the keyboard so
        tests can replay stale or forged callbacks."""
        user = self._user(user_id)
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        self._chat_for(user_id, chat_id)
        query_id = f"{self.bot_id}{len(self._callback_queries) + 1:012d}"
        update_id = self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": copy.deepcopy(user),
                    "message": copy.deepcopy(stored.raw),
                    "chat_instance": str(abs(chat_id) * 7919 % 10**15),
                    "data": callback_data,
                }
            }
        )
        self._callback_queries[query_id] = _CallbackQuery(update_id=update_id)
        self._callback_by_update[update_id] = query_id
        return update_id

    def press(self, user_id: int, chat_id: int, label_or_index: str | int) -> int:
        """Tap a button on the newest bot message in the chat that has an inline keyboard.

        Buttons are addressed by 1-based index in reading order, exact label, or a
        unique label fragment - whatever reads best in a test.
        """
        stored = self._last_with_keyboard(chat_id)
        buttons = [b for row in stored.raw["reply_markup"]["inline_keyboard"] for b in row]
        button = _pick_button(buttons, label_or_index, stored.raw["message_id"])
        if "callback_data" not in button:
            kind = "a link" if "url" in button else "not a callback button"
            target = f" to {button['url']}" if "url" in button else ""
            raise ValueError(f"button {button['text']!r} is {kind}{target}; it cannot be pressed")
        return self.press_button(
            user_id, chat_id, stored.raw["message_id"], button["callback_data"]
        )

    def _last_with_keyboard(self, chat_id: int) -> _StoredMessage:
        for stored in reversed(list(self._messages.get(chat_id, {}).values())):
            if stored.from_bot and stored.raw.get("reply_markup"):
                return stored
        raise ValueError(f"no bot message with an inline keyboard in chat {chat_id}")

    def add_member_update(
        self, chat_id: int, by_user_id: int, status: str = "member", old_status: str = "left"
    ) -> int:
        """The bot's membership in a chat changes (my_chat_member), e.g. added to a group
        or blocked in a private chat (status "kicked")."""
        user = self._user(by_user_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        update = {
            "my_chat_member": {
                "chat": copy.deepcopy(chat),
                "from": copy.deepcopy(user),
                "date": self._date(),
                "old_chat_member": _member(self.bot_user, old_status),
                "new_chat_member": _member(self.bot_user, status),
            }
        }
        self._bot_status[chat_id] = status
        if chat["type"] != "private":
            self._members[chat_id].add(by_user_id)
        elif status == "kicked":
            self._blocked.add(chat_id)
        else:
            self._blocked.discard(chat_id)
        return self._enqueue(update)

    def enqueue_update(self, update: dict[str, Any], times: int = 1) -> int:
        """Queue a raw update; ``times`` > 1 delivers the same update_id repeatedly, as
        Telegram does when confirmation is lost.

        An update without ``update_id`` gets the next one; an explicit id is kept (to replay
        a captured update) but is dropped like any other once the bot confirms past it.
        """
        return self._enqueue(copy.deepcopy(update), times)

    def duplicate_next(self, n: int = 1) -> None:
        """Deliver the next enqueued update ``n`` extra times."""
        self._duplicate_next += n

    def _enqueue(self, update: dict[str, Any], times: int = 1) -> int:
        update.setdefault("update_id", self._next_update_id)
        update_id = update["update_id"]
        if not isinstance(update_id, int):
            raise ValueError("update_id must be an integer")
        self._next_update_id = max(self._next_update_id, update_id + 1)
        times += self._duplicate_next
        self._duplicate_next = 0
        self._updates.extend(copy.deepcopy(update) for _ in range(times))
        self._updates.sort(key=lambda u: u["update_id"])
        self._update_signal.fire()
        return update_id

    # ---------------------------------------------------------------- fault injection

    def inject_error(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` ("*" = any method but getUpdates)."""
        method = self._fault_key(method)
        _check_status(status)
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.setdefault(method, deque()).append(
            _Fault(status, retry_after, description, remaining=times)
        )

    def fail_randomly(
        self,
        method: str,
        fraction: float,
        status: int = 429,
        retry_after: int = 1,
        seed: int = 0,
    ) -> None:
        """Fail a reproducible fraction of calls; fraction 0 switches it off."""
        method = self._fault_key(method)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within [0, 1]")
        if fraction == 0:
            self._random_faults.pop(method, None)
            return
        _check_status(status)
        self._random_faults[method] = _RandomFault(
            fraction, _Fault(status, retry_after, None), random.Random(seed)
        )

    def _fault_key(self, method: str) -> str:
        """Canonical method name; a typo would otherwise make the fault silently never fire."""
        if method == "*":
            return method
        try:
            return self._canonical_names[method.lower()]
        except KeyError:
            raise ValueError(f"{method!r} is not a method this server implements") from None

    def block_chat(self, chat_id: int) -> None:
        """Sending into this chat fails with 403 from now on (user blocked / bot kicked)."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def _take_fault(self, method: str) -> ApiError | None:
        keys = (method,) if method == "getUpdates" else (method, "*")
        for key in keys:
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault.error()
        for key in keys:
            chance = self._random_faults.get(key)
            if chance and chance.rng.random() < chance.fraction:
                return chance.fault.error()
        return None

    # ---------------------------------------------------------------- observation

    def calls_of(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def messages(self, chat_id: int) -> list[SentMessage]:
        return [stored.view() for stored in self._messages.get(chat_id, {}).values()]

    def bot_messages(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.messages(chat_id) if message.from_bot]

    def last_bot_message(self, chat_id: int) -> SentMessage | None:
        sent = self.bot_messages(chat_id)
        return sent[-1] if sent else None

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The Message object as Telegram stores it now (plain text + entities)."""
        stored = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(stored.raw) if stored else None

    def callback_answer(self, update_id: int) -> dict[str, Any] | None:
        """What the bot answered to the button press that produced ``update_id``."""
        query_id = self._callback_by_update.get(update_id)
        query = self._callback_queries.get(query_id) if query_id else None
        return copy.deepcopy(query.answer) if query and query.answer else None

    def commands(
        self,
        scope_type: str | None = None,
        chat_id: int | None = None,
        language_code: str | None = None,
        user_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Commands set for exactly this scope and language (no fallback, like getMyCommands)."""
        key = (scope_type or "default", chat_id, user_id, language_code or "")
        return copy.deepcopy(self._commands.get(key, []))

    def visible_commands(
        self, chat_id: int, user_id: int | None = None, language_code: str | None = None
    ) -> list[dict[str, Any]]:
        """The menu a user would see, resolving scopes the way Telegram clients do
        (administrator scopes are not modelled)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        if chat["type"] == "private":
            scopes: list[tuple[str, int | None, int | None]] = [
                ("chat", chat_id, None),
                ("all_private_chats", None, None),
            ]
        else:
            scopes = [
                ("chat_member", chat_id, user_id),
                ("chat", chat_id, None),
                ("all_group_chats", None, None),
            ]
        scopes.append(("default", None, None))
        for scope_type, scope_chat, scope_user in scopes:
            for lang in ([language_code] if language_code else []) + [""]:
                found = self._commands.get((scope_type, scope_chat, scope_user, lang))
                if found:
                    return copy.deepcopy(found)
        return []

    def file_bytes(self, file_id: str) -> bytes:
        """Content of any stored file; KeyError if the id is unknown."""
        try:
            return self._files[file_id].data
        except KeyError:
            raise KeyError(f"unknown file_id {file_id!r}") from None

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet confirmed by the bot."""
        return len(self._updates)

    async def wait_for(
        self,
        predicate: Callable[[RecordedCall], bool],
        timeout: float = 5.0,
        start: int = 0,
    ) -> RecordedCall:
        """The first successful call at index >= start that matches; TimeoutError otherwise.

        The predicate sees every successful call, getUpdates and getMe included.
        """
        scanned = start

        def find() -> RecordedCall | None:
            nonlocal scanned
            while scanned < len(self.calls):
                call = self.calls[scanned]
                scanned += 1
                if call.ok and predicate(call):
                    return call
            return None

        return await self._wait_until(self._call_signal, find, timeout)

    async def wait_for_pending_poll(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates request is parked on the server, so a test can prove that
        enqueueing an update (or stopping) is what ends it."""
        await self._wait_until(
            self._poll_signal, lambda: True if self._polls_waiting else None, timeout
        )

    async def _wait_until(
        self, signal: _Signal, check: Callable[[], T | None], timeout: float
    ) -> T:
        async with asyncio.timeout(timeout):
            while (found := check()) is None:
                await signal.wait()
            return found

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(401, ApiError(401, "Unauthorized").body())
        file_id = self._file_paths.get(request.match_info["path"])
        if file_id is None:
            return _json_response(404, ApiError(404, "Not Found").body())
        stored = self._files[file_id]
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(401, ApiError(401, "Unauthorized").body())
        requested = request.match_info["method"]
        method = self._canonical_names.get(requested.lower(), requested)
        params: Params = {}
        uploads: dict[str, _Upload] = {}
        try:
            params, uploads = await _read_params(request)
            handler = self._handlers.get(method)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self._take_fault(method)
            if fault is not None:
                raise fault
            result = await handler(params, uploads)
        except ApiError as error:
            self._record(method, params, uploads, False, error.body())
            _LOGGER.debug("%s -> %s %s", method, error.status, error.description)
            return _json_response(error.status, error.body())
        self._record(method, params, uploads, True, result)
        return _json_response(200, {"ok": True, "result": result})

    def _record(
        self, method: str, params: Params, uploads: dict[str, _Upload], ok: bool, response: Any
    ) -> None:
        recorded = dict(params)
        for name, upload in uploads.items():
            recorded[name] = {
                "file_name": upload.file_name,
                "mime_type": upload.mime_type,
                "file_size": len(upload.data),
            }
        call = RecordedCall(
            method=method,
            params=recorded,
            ok=ok,
            response=copy.deepcopy(response),
            at=time.monotonic(),
            index=len(self.calls),
        )
        self.calls.append(call)
        self._call_signal.fire()
        for observer in list(self.observers):
            observer(call)

    def _method_table(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._always_true,
            "close": self._always_true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatMemberCount": self._get_chat_member_count,
        }
        # Telegram matches method names case-insensitively.
        self._canonical_names = {name.lower(): name for name in table}
        return table

    # ---------------------------------------------------------------- shared validation

    def _date(self) -> int:
        return int(self._now())

    def _known_chat(self, params: Params) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int) or chat_id not in self._chats:
            raise _bad_request("chat not found")
        return self._chats[chat_id]

    def _writable_chat(self, params: Params) -> dict[str, Any]:
        """A chat the bot may post into right now, or the 403 Telegram would give."""
        chat = self._known_chat(params)
        chat_id = chat["id"]
        if chat["type"] == "private":
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id in self._not_started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return chat
        status = self._bot_status.get(chat_id, "member")
        if chat_id in self._blocked or status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat['type']} chat")
        if status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        return chat

    def _formatted(
        self, params: Params, text_field: str, entities_field: str
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        """(parse_mode, plain text, entities) for a text or caption parameter."""
        source = _get_str(params, text_field) or ""
        parse_mode = normalize_parse_mode(_get_str(params, "parse_mode"))
        explicit = params.get(entities_field)
        if explicit is not None:
            if not isinstance(explicit, list):
                raise _bad_request("can't parse entities JSON object")
            return None, *_trim(source, _sorted_entities(explicit))
        try:
            plain, entities = parse_formatted_text(source, parse_mode)
        except FormattingError as error:
            raise _bad_request(f"can't parse entities: {error}") from None
        return parse_mode, plain, entities

    def _message_text(self, params: Params) -> tuple[str | None, str, list[dict[str, Any]]]:
        parse_mode, plain, entities = self._formatted(params, "text", "entities")
        if not plain:
            raise _bad_request("message text is empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return parse_mode, plain, entities

    def _caption(self, params: Params) -> tuple[str | None, str, list[dict[str, Any]]]:
        parse_mode, plain, entities = self._formatted(params, "caption", "caption_entities")
        if len(plain) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return parse_mode, plain, entities

    def _reply_target(self, chat_id: int, params: Params) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target_id, lenient = (
                reply.get("message_id"),
                reply.get("allow_sending_without_reply") is True,
            )
            chat_id = reply.get("chat_id", chat_id)
        else:
            target_id = _get_int(params, "reply_to_message_id")
            lenient = _get_bool(params, "allow_sending_without_reply")
        if target_id is None:
            return None
        stored = self._messages.get(chat_id, {}).get(target_id)
        if stored is None:
            if lenient:
                return None
            raise _bad_request("message to be replied not found")
        reply_raw = copy.deepcopy(stored.raw)
        reply_raw.pop("reply_to_message", None)
        return reply_raw

    def _markup(self, params: Params) -> dict[str, Any] | None:
        value = params.get("reply_markup")
        if isinstance(value, str):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        return _validate_reply_markup(value)

    def _store_message(
        self,
        chat: dict[str, Any],
        sender: dict[str, Any],
        *,
        from_bot: bool,
        extra: dict[str, Any],
        source_text: str | None = None,
        parse_mode: str | None = None,
        markup: dict[str, Any] | None = None,
    ) -> _StoredMessage:
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        raw: dict[str, Any] = {
            "message_id": message_id,
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(chat),
            "date": self._date(),
            **{key: value for key, value in extra.items() if value not in (None, [], "")},
        }
        inline = _inline_part(markup)
        if inline:
            raw["reply_markup"] = inline
        stored = _StoredMessage(
            raw=raw,
            from_bot=from_bot,
            source_text=source_text,
            parse_mode=parse_mode,
            markup=markup,
        )
        self._messages.setdefault(chat_id, {})[message_id] = stored
        return stored

    def _post(
        self,
        params: Params,
        chat: dict[str, Any],
        content: Callable[[], dict[str, Any]],
        source_text: str | None,
        parse_mode: str | None,
    ) -> dict[str, Any]:
        """Store a bot message with the reply/markup options every send* method shares.

        ``content`` runs only after those options validated, so a refused request never
        leaves an uploaded file behind.
        """
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        extra = {**content(), "reply_to_message": reply_to}
        stored = self._store_message(
            chat,
            self.bot_user,
            from_bot=True,
            extra=extra,
            source_text=source_text,
            parse_mode=parse_mode,
            markup=markup,
        )
        return copy.deepcopy(stored.raw)

    def _editable(self, params: Params) -> _StoredMessage:
        if params.get("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._writable_chat(params)
        message_id = _require_int(params, "message_id", "message identifier is not specified")
        stored = self._messages.get(chat["id"], {}).get(message_id)
        if stored is None:
            raise _bad_request("message to edit not found")
        if not stored.from_bot:
            raise _bad_request("message can't be edited")
        return stored

    def _apply_edit(
        self,
        stored: _StoredMessage,
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
        source_text: str | None,
        parse_mode: str | None,
    ) -> dict[str, Any]:
        """Apply an edit, refusing no-op edits exactly as Telegram does."""
        raw = stored.raw
        inline = _inline_part(markup)
        unchanged = all(raw.get(k) == (v or None) for k, v in changes.items())
        if unchanged and raw.get("reply_markup") == inline:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value:
                raw[key] = value
            else:
                raw.pop(key, None)
        if inline:
            raw["reply_markup"] = inline
        else:
            raw.pop("reply_markup", None)
        raw["edit_date"] = self._date()
        stored.markup = markup
        if source_text is not None:
            stored.source_text, stored.parse_mode = source_text, parse_mode
        stored.edited += 1
        return copy.deepcopy(raw)

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        self._file_counter += 1
        number = self._file_counter
        prefix = "BQACAgIAAxk" if kind == "document" else "AgACAgIAAxk"
        suffix = PurePosixPath(file_name).suffix.lower() if file_name else ".jpg"
        if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
            suffix = ""
        folder = "documents" if kind == "document" else "photos"
        if kind == "document" and (not mime_type or mime_type == "application/octet-stream"):
            mime_type = mimetypes.guess_type(file_name or "")[0] or mime_type
        stored = _StoredFile(
            file_id=f"{prefix}{number:08d}{self.bot_id}",
            file_unique_id=f"AgAD{number:08d}",
            kind=kind,
            data=bytes(data),
            file_path=f"{folder}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored.file_id
        return stored

    def _input_file(self, params: Params, uploads: dict[str, _Upload], kind: str) -> _StoredFile:
        """Resolve an uploaded file, an attach:// reference or an existing file_id."""
        upload = uploads.get(kind)
        value = params.get(kind)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            return self._accept_upload(kind, upload)
        if not isinstance(value, str) or not value:
            raise _bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        stored = self._files.get(value)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad_request("type of file mismatch")
        return stored

    def _accept_upload(self, kind: str, upload: _Upload) -> _StoredFile:
        if not upload.data:
            raise _bad_request("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if kind == "photo":
            size = _image_size(upload.data)
            if size is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if (
                width <= 0
                or height <= 0
                or width + height > 10000
                or max(width, height) > 20 * min(width, height)
            ):
                raise _bad_request("PHOTO_INVALID_DIMENSIONS")
            stored = self._store_file("photo", upload.data, None, "image/jpeg")
            stored.width, stored.height = width, height
            return stored
        return self._store_file("document", upload.data, upload.file_name, upload.mime_type)

    def _command_key(self, params: Params) -> CommandKey:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad_request("can't parse BotCommandScope JSON object")
        scope_type = scope["type"]
        chat_id = user_id = None
        if scope_type in _SCOPES_WITH_CHAT:
            chat_id = self._known_chat({"chat_id": scope.get("chat_id")})["id"]
        if scope_type == "chat_member":
            user_id = scope.get("user_id")
            if user_id not in self._users:
                raise _bad_request("user not found")
        language = _get_str(params, "language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        return scope_type, chat_id, user_id, language

    # ---------------------------------------------------------------- methods

    async def _always_true(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        return True

    async def _get_me(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> list[dict[str, Any]]:
        """Long polling as Telegram does it: a newer request terminates an older one."""
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _get_int(params, "offset") or 0
        limit = min(max(_get_int(params, "limit") or 100, 1), 100)
        timeout = params.get("timeout") or 0
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise _bad_request('invalid value for parameter "timeout"')
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._update_signal.fire()
        await self._park_poll(generation, min(max(float(timeout), 0.0), MAX_LONG_POLL_SECONDS))
        return self._batch(limit)

    async def _park_poll(self, generation: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - loop.time()
            if self._updates or self._stopping or remaining <= 0:
                return
            self._polls_waiting += 1
            self._poll_signal.fire()
            try:
                await self._update_signal.wait(remaining)
            finally:
                self._polls_waiting -= 1

    def _confirm(self, offset: int) -> None:
        """An offset confirms every update below it; a negative one keeps only the last -offset."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` updates, never splitting the copies of one update_id."""
        batch = self._updates[:limit]
        rest = self._updates[limit:]
        while batch and rest and rest[0]["update_id"] == batch[-1]["update_id"]:
            batch.append(rest.pop(0))
        return copy.deepcopy(batch)

    async def _set_webhook(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        url = _get_str(params, "url")
        if url is None:
            raise _bad_request("bad webhook: Webhook URL must be specified")
        if url == "":
            return await self._delete_webhook(params, uploads)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in _WEBHOOK_PORTS:
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = _get_str(params, "secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise _bad_request("secret token contains unallowed characters")
        if _get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        self.webhook = dict(params)
        if "certificate" in uploads:
            self.webhook["certificate"] = uploads["certificate"].file_name
        self._update_signal.fire()
        return True

    async def _delete_webhook(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        if _get_bool(params, "drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    async def _get_webhook_info(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": "certificate" in (self.webhook or {}),
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if self.webhook and key in self.webhook:
                info[key] = self.webhook[key]
        return info

    async def _send_message(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        parse_mode, plain, entities = self._message_text(params)
        extra: dict[str, Any] = {"text": plain, "entities": entities}
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            extra["link_preview_options"] = preview
        return self._post(params, chat, lambda: extra, params["text"], parse_mode)

    async def _edit_message_text(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> dict[str, Any]:
        stored = self._editable(params)
        parse_mode, plain, entities = self._message_text(params)
        if "text" not in stored.raw:
            raise _bad_request("there is no text in the message to edit")
        markup = self._markup(params)
        changes = {"text": plain, "entities": entities}
        return self._apply_edit(stored, changes, markup, params["text"], parse_mode)

    async def _edit_message_caption(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> dict[str, Any]:
        stored = self._editable(params)
        if "text" in stored.raw:
            raise _bad_request("there is no caption in the message to edit")
        parse_mode, plain, entities = self._caption(params)
        markup = self._markup(params)
        changes = {"caption": plain, "caption_entities": entities}
        return self._apply_edit(stored, changes, markup, params.get("caption", ""), parse_mode)

    async def _edit_message_reply_markup(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> dict[str, Any]:
        stored = self._editable(params)
        return self._apply_edit(stored, {}, self._markup(params), None, None)

    async def _delete_message(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        chat = self._known_chat(params)
        message_id = _require_int(params, "message_id", "message identifier is not specified")
        if self._messages.get(chat["id"], {}).pop(message_id, None) is None:
            raise _bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        query = self._callback_queries.get(_get_str(params, "callback_query_id") or "")
        if query is None or query.answer is not None:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = _get_str(params, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answer = {
            "text": text,
            "show_alert": _get_bool(params, "show_alert"),
            "url": _get_str(params, "url"),
            "cache_time": _get_int(params, "cache_time"),
        }
        return True

    async def _set_chat_menu_button(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        chat_id = params.get("chat_id")
        button = params.get("menu_button") or {"type": "default"}
        if isinstance(button, str):
            try:
                button = json.loads(button)
            except ValueError:
                raise _bad_request("can't parse menu button") from None
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad_request("can't parse menu button")
        if button["type"] == "web_app":
            if not str(button.get("text") or "").strip():
                raise _bad_request("BUTTON_TEXT_INVALID")
            _check_web_app(button.get("web_app"))
        self.menu_buttons[chat_id if isinstance(chat_id, int) else None] = button
        return True

    async def _get_chat_menu_button(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        return (
            self.menu_buttons.get(chat_id if isinstance(chat_id, int) else None)
            or self.menu_buttons.get(None)
            or {"type": "commands"}
        )

    async def _set_my_commands(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise _bad_request("too many commands specified")
        for command in commands:
            _check_command(command)
        key = self._command_key(params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _delete_my_commands(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    async def _get_my_commands(
        self, params: Params, uploads: dict[str, _Upload]
    ) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._command_key(params), []))

    async def _send_document(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        parse_mode, plain, entities = self._caption(params)

        def content() -> dict[str, Any]:
            stored = self._input_file(params, uploads, "document")
            return {
                "document": stored.as_document(),
                "caption": plain,
                "caption_entities": entities,
            }

        return self._post(params, chat, content, params.get("caption"), parse_mode)

    async def _send_photo(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        parse_mode, plain, entities = self._caption(params)

        def content() -> dict[str, Any]:
            stored = self._input_file(params, uploads, "photo")
            return {"photo": stored.as_photo(), "caption": plain, "caption_entities": entities}

        return self._post(params, chat, content, params.get("caption"), parse_mode)

    async def _get_file(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        stored = self._files.get(_get_str(params, "file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _send_chat_action(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        self._writable_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._known_chat(params)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._known_chat(params)
        user_id = _get_int(params, "user_id", missing="user not found")
        if user_id == self.bot_id:
            return _member(self.bot_user, self._bot_status.get(chat["id"], "member"))
        user = self._users.get(user_id or 0)
        if user is None:
            raise _bad_request("user not found")
        in_chat = user_id == chat["id"] or user_id in self._members.get(chat["id"], set())
        return _member(user, "member" if in_chat else "left")

    async def _get_chat_member_count(self, params: Params, uploads: dict[str, _Upload]) -> int:
        chat = self._known_chat(params)
        if chat["type"] == "private":
            return 2
        return len(self._members.get(chat["id"], set())) + 1


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )


def _check_status(status: int) -> None:
    if not 400 <= status <= 599:
        raise ValueError("injected errors need an HTTP error status (400-599)")


def _check_command(command: Any) -> None:
    if not isinstance(command, dict):
        raise _bad_request("can't parse BotCommand JSON object")
    name, description = command.get("command"), command.get("description")
    if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
        raise _bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
        raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object carrying every field PTB requires for that status."""
    member: dict[str, Any] = {"user": copy.deepcopy(user), "status": status}
    if status == "kicked":
        member["until_date"] = 0
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_restrict_members",
                    "can_invite_users",
                    "can_pin_messages",
                ),
                True,
            )
        )
        member.update(
            dict.fromkeys(
                (
                    "can_be_edited",
                    "is_anonymous",
                    "can_manage_video_chats",
                    "can_promote_members",
                    "can_change_info",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                ),
                False,
            )
        )
    elif status not in ("member", "left"):
        raise ValueError(f"unsupported member status {status!r}")
    return member


def _pick_button(
    buttons: list[dict[str, Any]], wanted: str | int, message_id: int
) -> dict[str, Any]:
    """Resolve a button by 1-based index, exact label, or unique label fragment."""
    listing = ", ".join(f"{n}. {b['text']!r}" for n, b in enumerate(buttons, start=1))
    if isinstance(wanted, int):
        if 1 <= wanted <= len(buttons):
            return buttons[wanted - 1]
        raise ValueError(
            f"message {message_id} has {len(buttons)} buttons, not #{wanted}: {listing}"
        )
    exact = [b for b in buttons if b["text"] == wanted]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [b for b in buttons if wanted in b["text"]]
    if len(partial) == 1:
        return partial[0]
    problem = "is ambiguous" if partial else "matches no button"
    raise ValueError(f"{wanted!r} {problem} in message {message_id}; buttons: {listing}")
