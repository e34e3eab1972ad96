"""Sending a :class:`Reply` to a DingTalk person or group: its text as markdown (split
where DingTalk's limit needs), its buttons as action cards (five a card, more on follow-ups),
then its files and pictures (uploaded to the media store, sent as ``sampleFile`` /
``sampleImageMsg``). DingTalk's flow control is waited out a few times per message.

A mixin of the adapter, so the outbox bridge sends through the same path as a reply.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import quote

from bot import catalog
from bot.assembly.config import Settings
from handlers.dingtalk.openapi import (
    Button,
    OpenApiClient,
    PermanentError,
    RateLimited,
    SendResult,
    action_card,
    file_message,
    image_message,
    markdown,
)
from handlers.dingtalk.render import html_to_markdown, split_markdown
from handlers.dingtalk.reply import Reply

__all__ = ["RobotSender"]

_LOGGER = logging.getLogger(__name__)

MAX_CARD_BUTTONS = 5
IMAGE_MAX = 10 * 1024 * 1024  # larger pictures go as files (as Telegram's photos do)
SEND_RETRIES = 3  # a part throttled this many times more is left to the caller


class RobotSender:
    api: OpenApiClient
    settings: Settings

    async def send_reply(
        self, staff_id: str | None, group: str | None, reply: Reply
    ) -> SendResult | None:
        """Render ``reply`` for DingTalk and send it to a person or a group.

        Raises the client's :class:`DingTalkError` classes; returns the batchSend result of
        the last part for a person (``invalid`` lists a person who left)."""
        title = _title(reply.html)
        parts = split_markdown(html_to_markdown(reply.html))
        messages = [markdown(title, part) for part in parts]
        if reply.buttons:
            # Buttons go on the last part; an action card holds five, more go on follow-ups.
            chunks = [
                reply.buttons[i : i + MAX_CARD_BUTTONS]
                for i in range(0, len(reply.buttons), MAX_CARD_BUTTONS)
            ]
            messages[-1] = action_card(title, parts[-1], _buttons(chunks[0]))
            more = catalog.plain("dingtalk.more_choices", self.settings.locale)
            messages += [action_card(title, more, _buttons(chunk)) for chunk in chunks[1:]]
        if not reply.html.strip() and reply.files:
            messages = []  # files only
        result: SendResult | None = None
        for message in messages:
            result = await self.send_one(staff_id, group, message)
            if result is not None and result.invalid:
                return result
        failed = 0
        for out in reply.files:
            kind = "image" if out.as_photo and len(out.data) <= IMAGE_MAX else "file"
            try:
                media_id = await self._upload(out.data, out.name, kind)
            except PermanentError:  # refused (too big, a type DingTalk takes not): the rest go
                _LOGGER.exception("DingTalk refused the upload of %r", out.name)
                failed += 1
                continue
            message = (
                image_message(media_id) if kind == "image" else file_message(media_id, out.name)
            )
            result = await self.send_one(staff_id, group, message)
            if result is not None and result.invalid:
                return result
        if failed:
            note = catalog.t("dingtalk.file_failed", self.settings.locale, failed=failed)
            text = markdown(_title(note), html_to_markdown(note))
            result = await self.send_one(staff_id, group, text)
        return result

    async def _upload(self, data: bytes, name: str, kind: str) -> str:
        """The media id of ``data``, the upload tried again after DingTalk's flow control."""
        for attempt in range(SEND_RETRIES + 1):
            try:
                return await self.api.upload_media(data, name, kind)
            except RateLimited as exc:
                if attempt == SEND_RETRIES:
                    raise
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")

    async def send_one(
        self, staff_id: str | None, group: str | None, message: tuple[str, dict[str, str]]
    ) -> SendResult | None:
        """One robot message, sent again after DingTalk's flow control (a few times)."""
        for attempt in range(SEND_RETRIES + 1):
            try:
                if group is not None:
                    await self.api.send_to_group(group, message)
                    return None
                assert staff_id is not None
                return await self.api.send_to_users([staff_id], message)
            except RateLimited as exc:  # DingTalk's flow control: wait, send this part again
                if attempt == SEND_RETRIES:
                    raise
                await asyncio.sleep(exc.retry_after)
        return None


def _buttons(pairs: Any) -> list[Button]:
    """dtmd links: pressing one sends ``answer`` as the user's own message in the chat."""
    return [
        Button(label, "dtmd://dingtalkclient/sendMessage?content=" + quote(answer, safe=""))
        for label, answer in pairs
    ]


def _title(html: str) -> str:
    """The notification preview: the first line, without markup, short."""
    first = re.sub(r"<[^>]+>", "", html.strip().split("\n", 1)[0])
    return (
        (first[:20] or "招商线索").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
