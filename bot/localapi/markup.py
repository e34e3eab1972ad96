"""Reply markup: keyboards Telegram refuses are refused here too, and a test picks a
button by index or label.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.localapi.records import MAX_CALLBACK_DATA_BYTES, _bad_request

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
