"""What the stand-in shows and keeps: the public records tests read (calls, messages),
the error a method raises, the limits Telegram enforces, and the internal state records.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

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
    peer: tuple[str, int] | None = None  # the caller's address: which process, when several


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


@dataclass
class _Upload:
    """A file part of a multipart request."""

    file_name: str
    data: bytes
    mime_type: str | None


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


CommandKey = tuple[str, int | None, int | None, str]
Handler = Callable[[Params, dict[str, _Upload]], Awaitable[Any]]
