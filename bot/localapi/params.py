"""Request decoding: every encoding Telegram accepts (query string, JSON, urlencoded,
multipart), the typed parameter getters, and the JSON response the server writes.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.localapi.records import ApiError, Params, _bad_request, _Upload

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
# Small helpers
# --------------------------------------------------------------------------------------


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )
