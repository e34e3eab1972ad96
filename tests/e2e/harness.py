"""Drive the real Application over HTTP against the Bot API stand-in.

A test reads like the user's story::

    replies = await h.send(LIAISON, "/start")
    assert "欢迎" in replies.text

``send`` returns once the update is fully handled (the application's
after-update hook), never after a sleep.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from typing import Any

from bot.assembly.app import LeadbotApplication, build_application
from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.localapi import LocalBotAPI, RecordedCall
from bot.operations.demo import DemoWorld, seed_demo
from storage.db import Database

ADMIN = 1000  # the demo's admin id, also in Settings.admins
TIMEOUT = 15.0


@dataclass
class Reply:
    method: str
    chat_id: int | None
    html: str
    buttons: list[list[dict[str, Any]]]
    message_id: int | None = None

    @property
    def text(self) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", self.html))

    @property
    def labels(self) -> list[str]:
        return [b.get("text", "") for row in self.buttons for b in row]


@dataclass
class Replies:
    items: list[Reply] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.items)

    @property
    def labels(self) -> list[str]:
        return [label for r in self.items for label in r.labels]

    def to(self, chat_id: int) -> Replies:
        return Replies([r for r in self.items if r.chat_id == chat_id], self.popups)

    def __len__(self) -> int:
        return len(self.items)


class Harness:
    def __init__(self, db: Database, clock: ManualClock, settings: Settings) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.api = LocalBotAPI(now=lambda: clock.now().timestamp())
        self.app: LeadbotApplication | None = None
        self._done: dict[int, asyncio.Event] = {}
        self._seen = 0
        self.world: DemoWorld | None = None

    async def start(self) -> None:
        await self.api.start()
        await self.start_app()

    async def start_app(self) -> None:
        self.app = build_application(
            self.settings,
            self.db,
            self.clock,
            token=self.api.token,
            base_url=self.api.base_url,
            base_file_url=self.api.base_file_url,
            run_jobs=False,
        )
        self.app.update_listeners.append(self._processed)
        await self.app.initialize()
        await self.app.start()
        self.app.inbox.start_polling(timeout=1)

    async def stop_app(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        if app.running:
            await app.stop()
        await app.shutdown()

    async def restart(self) -> None:
        await self.stop_app()
        await self.start_app()

    async def close(self) -> None:
        await self.stop_app()
        await self.api.stop()

    # -- the jurisdiction ----------------------------------------------------
    async def seed(self) -> DemoWorld:
        async with self.db.session() as session:
            self.world = await seed_demo(session, self.clock.now())
        for user in self.world.users:
            self.api.add_user(user.tg_id, user.name)
        for group in self.world.groups:
            self.api.add_group(group.tg_chat_id, group.title)
        return self.world

    def user(self, user_id: int, name: str = "路人") -> None:
        self.api.add_user(user_id, name)

    # -- acting ----------------------------------------------------------------
    def _processed(self, update: Any, outcome: str, elapsed: float) -> None:
        self._done.setdefault(update.update_id, asyncio.Event()).set()

    async def processed(self, update_id: int) -> None:
        await asyncio.wait_for(self._done.setdefault(update_id, asyncio.Event()).wait(), TIMEOUT)

    async def send(self, user_id: int, text: str, chat_id: int | None = None) -> Replies:
        return await self._act(self.api.send_text(user_id, text, chat_id=chat_id))

    async def press(self, user_id: int, label: str | int, chat_id: int | None = None) -> Replies:
        return await self._act(self.api.press(user_id, chat_id or user_id, label))

    async def press_data(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> Replies:
        return await self._act(self.api.press_button(user_id, chat_id or user_id, message_id, data))

    async def upload(
        self, user_id: int, data: bytes, name: str, chat_id: int | None = None
    ) -> Replies:
        return await self._act(self.api.send_document(user_id, data, name, chat_id=chat_id))

    async def photo(self, user_id: int, data: bytes, chat_id: int | None = None) -> Replies:
        return await self._act(self.api.send_photo(user_id, data, chat_id=chat_id))

    async def _act(self, update_id: int) -> Replies:
        await self.processed(update_id)
        return self.collect()

    def collect(self) -> Replies:
        """Everything the bot said since the last look."""
        calls = self.api.calls[self._seen :]
        self._seen = len(self.api.calls)
        out = Replies()
        for call in calls:
            if not call.ok:
                continue
            reply = _as_reply(call)
            if reply is not None:
                out.items.append(reply)
            elif call.method == "answerCallbackQuery" and call.params.get("text"):
                out.popups.append(str(call.params["text"]))
        return out


def _as_reply(call: RecordedCall) -> Reply | None:
    if call.method not in (
        "sendMessage",
        "editMessageText",
        "sendDocument",
        "sendPhoto",
        "editMessageReplyMarkup",
    ):
        return None
    p = call.params
    markup = p.get("reply_markup") or {}
    chat = p.get("chat_id")
    result = call.response if isinstance(call.response, dict) else {}
    return Reply(
        call.method,
        int(chat) if chat is not None else None,
        str(p.get("text") or p.get("caption") or ""),
        markup.get("inline_keyboard", []) if isinstance(markup, dict) else [],
        result.get("message_id") or (int(p["message_id"]) if p.get("message_id") else None),
    )
