"""Simulated users: what a person does in a Telegram client (write, send a file or photo,
press a button, add or block the bot), turned into queued updates.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from bot.localapi.chats import _Chats, _member
from bot.localapi.files import _Files, _image_size
from bot.localapi.formatting import _entity, _utf16_len
from bot.localapi.markup import _pick_button
from bot.localapi.records import _CallbackQuery, _StoredMessage
from bot.localapi.updates import _Updates

_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


class _Simulation(_Files, _Chats, _Updates):
    """The simulation methods tests and the console call (synchronous, on the server's loop)."""

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
