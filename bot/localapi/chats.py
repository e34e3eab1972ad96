"""People, chats and members, the chat methods, and the command menus per scope."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from bot.localapi.markup import _check_web_app
from bot.localapi.params import _get_int, _get_str
from bot.localapi.records import MAX_COMMANDS, CommandKey, Params, _bad_request, _Upload
from bot.localapi.state import _ApiState

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
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class _Chats(_ApiState):
    """Users, groups and the bot's membership; getChat*, chat actions, commands and the menu button."""

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
