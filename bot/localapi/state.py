"""The stand-in's shared state: who exists, which chats, messages, files, commands, the
update queue, faults and the signals that wake waiters.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.localapi.records import (
    ApiError,
    CommandKey,
    Params,
    RecordedCall,
    T,
    _bad_request,
    _CallbackQuery,
    _Fault,
    _RandomFault,
    _Signal,
    _StoredFile,
    _StoredMessage,
)

_TOKEN_RE = re.compile(r"(\d+):[A-Za-z0-9_-]+")


class _ApiState:
    """The state every concern of the stand-in shares, and the checks they all need
    (is this a chat, may the bot write into it, what time is it).

    The concerns are mixins over this class (see ``server.LocalBotAPI``); each keeps
    its own methods, the attributes live here so every mixin sees them typed.
    """

    _canonical_names: dict[str, str]  # set by LocalBotAPI._method_table

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

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

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

    async def _wait_until(
        self, signal: _Signal, check: Callable[[], T | None], timeout: float
    ) -> T:
        async with asyncio.timeout(timeout):
            while (found := check()) is None:
                await signal.wait()
            return found
