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

The package is split by concern; ``LocalBotAPI`` (``server``) combines them:

- ``records``: the public records (``RecordedCall``, ``SentMessage``), ``ApiError``, the
  limits and the internal state records; ``state``: the shared state and checks;
- ``formatting``: HTML / MarkdownV2 / Markdown to plain text + entities;
- ``params``: request decoding; ``markup``: reply-markup validation;
- ``updates``: the update queue, long polling, the webhook; ``messages``: send/edit/delete
  and callback answers; ``files``: uploads, getFile, downloads; ``chats``: people, chats,
  members, commands, the menu button;
- ``faults``: injected errors; ``recording``: the call log; ``simulation``: what users do.
"""

from bot.localapi.formatting import normalize_parse_mode, parse_formatted_text
from bot.localapi.records import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_COMMANDS,
    MAX_DOWNLOAD_BYTES,
    MAX_LONG_POLL_SECONDS,
    MAX_TEXT_LENGTH,
    MAX_UPLOAD_BYTES,
    ApiError,
    FormattingError,
    RecordedCall,
    SentMessage,
)
from bot.localapi.server import LocalBotAPI

__all__ = [
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_COMMANDS",
    "MAX_DOWNLOAD_BYTES",
    "MAX_LONG_POLL_SECONDS",
    "MAX_TEXT_LENGTH",
    "MAX_UPLOAD_BYTES",
    "ApiError",
    "FormattingError",
    "LocalBotAPI",
    "RecordedCall",
    "SentMessage",
    "normalize_parse_mode",
    "parse_formatted_text",
]
