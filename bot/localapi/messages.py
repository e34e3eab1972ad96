"""Messages: sending, editing and deleting bot messages with Telegram's rules (length,
entities, reply targets, no-op edits), callback answers, and what a chat shows now.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from bot.localapi.formatting import (
    _sorted_entities,
    _trim,
    normalize_parse_mode,
    parse_formatted_text,
)
from bot.localapi.markup import _inline_part, _validate_reply_markup
from bot.localapi.params import _get_bool, _get_int, _get_str, _require_int
from bot.localapi.records import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    FormattingError,
    Params,
    SentMessage,
    _bad_request,
    _StoredMessage,
    _Upload,
)
from bot.localapi.state import _ApiState


class _Messages(_ApiState):
    """The message methods and the chat history they leave."""

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
