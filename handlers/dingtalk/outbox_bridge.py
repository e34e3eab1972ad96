"""Outbox rows addressed to DingTalk principals leave through DingTalk.

Until the per-channel render registry (scheduler/outbox/render.py) carries transports, the
outbox (scheduler/outbox/sender.py) sends every row through a Telegram ``Bot``.  :class:`ChannelBot` stands in for that bot: a
row whose ``chat_id`` is a DingTalk principal (bot/services/identities.py) is rendered as
DingTalk markdown (inline-keyboard buttons become action-card buttons that send their
answer back; a deep link that opens a form becomes a button sending ``/start <form>``) and
sent through the OpenAPI; DingTalk's errors are raised as the Telegram
errors the outbox already classifies — flow control → ``RetryAfter`` (wait, retry), 5xx /
network → ``NetworkError``, a person who left / a robot not in the group / no permission →
``Forbidden`` (failed, reported to admins once).  Every other row goes to Telegram unchanged.
A row's file (``send_document``/``send_photo``: the scheduled digests' ``.xlsx``, the
monthly 红黑榜 picture) is uploaded to DingTalk's media store and sent as a ``sampleFile`` /
``sampleImageMsg`` after the row's text, with the same error mapping (an upload DingTalk
refuses fails the row). DingTalk's file messages carry no caption; the row's text before
the file and the file's name say what it is, so the caption is not sent.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.catalog import Html
from bot.services import reach
from bot.services.identities import External, external_of
from handlers.dingtalk.adapter import DingTalkAdapter, Reply
from handlers.dingtalk.openapi import (
    OpenApiClient,
    PermanentError,
    RateLimited,
    TransientError,
    file_message,
    image_message,
)
from storage.db import Database
from storage.models import PRINCIPAL_BASE

__all__ = ["ChannelBot", "route_outbox_to_dingtalk"]


class ChannelBot:
    def __init__(self, telegram: Any, db: Database, api: OpenApiClient, adapter: DingTalkAdapter):
        self._telegram, self._db, self._api, self._adapter = telegram, db, api, adapter
        self._where: dict[int, External | None] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._telegram, name)

    @staticmethod
    def is_dingtalk(chat_id: int | str) -> bool:
        return int(chat_id) <= -PRINCIPAL_BASE

    async def _external(self, chat_id: int) -> External:
        if chat_id not in self._where:
            async with self._db.session() as session:
                self._where[chat_id] = await external_of(session, chat_id)
        found = self._where[chat_id]
        if found is None:
            raise BadRequest("Chat not found")
        return found

    async def _route(self, chat_id: int | str) -> External | None:
        """Where a row goes: a DingTalk principal's identity; a linked member who last wrote on
        DingTalk, their DingTalk account (read each time: it changes as they write); else
        None, Telegram."""
        if self.is_dingtalk(chat_id):
            return await self._external(int(chat_id))
        if int(chat_id) < 0:  # a Telegram group
            return None
        async with self._db.session() as session:
            return await reach.where_to_reach(session, int(chat_id))

    async def send_message(
        self, chat_id: int | str, text: str, reply_markup: Any = None, **kwargs: Any
    ) -> Any:
        where = await self._route(chat_id)
        if where is None:
            return await self._telegram.send_message(
                chat_id, text, reply_markup=reply_markup, **kwargs
            )
        buttons: list[tuple[str, str]] = []
        for row in getattr(reply_markup, "inline_keyboard", None) or ():
            for button in row:
                if button.callback_data:
                    buttons.append((button.text, f"{button.text} [{button.callback_data}]"))
                elif opens := _start_argument(button.url):
                    buttons.append((button.text, f"/start {opens}"))  # the form, in 1:1
        with _as_telegram_errors():
            if where.kind == "group":
                await self._adapter.send_reply(
                    None, where.external_id, Reply(Html(text), tuple(buttons))
                )
            else:
                result = await self._adapter.send_reply(
                    where.external_id, None, Reply(Html(text), tuple(buttons))
                )
                if result is not None and result.invalid:
                    raise Forbidden("the person left the organisation (DingTalk)")
        return SimpleNamespace(message_id=None)

    async def send_document(self, chat_id: int | str, document: Any, **kwargs: Any) -> Any:
        where = await self._route(chat_id)
        if where is None:
            return await self._telegram.send_document(chat_id, document, **kwargs)
        return await self._send_file(where, document, kwargs.get("filename"), "file")

    async def send_photo(self, chat_id: int | str, photo: Any, **kwargs: Any) -> Any:
        where = await self._route(chat_id)
        if where is None:
            return await self._telegram.send_photo(chat_id, photo, **kwargs)
        return await self._send_file(where, photo, kwargs.get("filename"), "image")

    async def _send_file(self, where: External, data: Any, name: str | None, kind: str) -> Any:
        """Upload the row's bytes and send them as a file / picture to the person or group."""
        if not isinstance(data, bytes):
            raise BadRequest("only a file's bytes can be sent to DingTalk")
        filename = name or ("图片.png" if kind == "image" else "文件")
        with _as_telegram_errors():
            media_id = await self._api.upload_media(data, filename, kind)
            message = (
                image_message(media_id) if kind == "image" else file_message(media_id, filename)
            )
            if where.kind == "group":
                await self._adapter.send_one(None, where.external_id, message)
            else:
                result = await self._adapter.send_one(where.external_id, None, message)
                if result is not None and result.invalid:
                    raise Forbidden("the person left the organisation (DingTalk)")
        return SimpleNamespace(message_id=None)


@contextlib.contextmanager
def _as_telegram_errors() -> Iterator[None]:
    """DingTalk's error classes as the Telegram errors the outbox already classifies."""
    try:
        yield
    except RateLimited as exc:
        raise RetryAfter(max(1, math.ceil(exc.retry_after))) from exc
    except TransientError as exc:
        raise NetworkError(f"DingTalk {exc.status} {exc.code}") from exc
    except PermanentError as exc:
        raise Forbidden(f"DingTalk {exc.status} {exc.code}: {exc.message}") from exc


def _start_argument(url: str | None) -> str | None:
    """A Telegram deep link ``https://t.me/<bot>?start=weekly`` (a reminder's 开始填写):
    on DingTalk the button sends ``/start weekly``, which opens the same form."""
    found = re.fullmatch(r"https://t\.me/[^?]*\?start=([A-Za-z_]{1,32})", url or "")
    return found.group(1) if found else None


def route_outbox_to_dingtalk(app: Any, adapter: DingTalkAdapter) -> ChannelBot:
    """Make the application's outbox send DingTalk rows through ``adapter``."""
    outbox = app.weekly.outbox
    bot = ChannelBot(outbox.bot, adapter.db, adapter.api, adapter)
    outbox.bot = bot
    adapter.deliver = outbox.drain  # what a DingTalk message planned goes out at once
    return bot
