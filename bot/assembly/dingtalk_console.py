"""``leadbot console --channel dingtalk``: what a DingTalk user sees, in a terminal.

The same meta-commands as ``leadbot console`` (bot/assembly/console.py), but the people type into the
DingTalk stand-in (bot/dingtalk_standin): the real ``dingtalk-stream`` SDK delivers their
messages to the DingTalk adapter, and the robot's markdown and action cards are printed
readably (buttons numbered, ``:press N`` presses one — it sends its answer back as the
user's message, as on DingTalk).  The Telegram application still runs beside it (on the
Telegram stand-in) for the scheduler: ``:time`` runs due jobs, and reminders to DingTalk
people and groups are printed as they arrive.  With ``--demo`` every demo person has a
DingTalk account (staff id = their handle) linked to their member, and every demo group a
DingTalk group.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qs, urlsplit

from bot.assembly.app import build_application
from bot.assembly.clock import ShiftedClock
from bot.assembly.config import Settings
from bot.assembly.console import Console, banner, indent, repl
from bot.dingtalk_standin import CHATBOT_TOPIC, DingTalkStandIn, SentMessage
from bot.localapi import LocalBotAPI
from bot.operations.demo import seed_demo, seed_history
from bot.services.identities import link_identity
from storage.db import Database

__all__ = ["DingTalkConsole", "run_dingtalk_console"]


def markdown_text(text: str) -> str:
    """DingTalk markdown to terminal text: escapes and emphasis marks go."""
    text = re.sub(r"\\(.)", r"\1", text.replace("  \n", "\n"))
    text = text.replace("**", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class DingTalkConsole(Console):
    def __init__(self, standin: DingTalkStandIn, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.standin = standin
        self.conversations: dict[int, str] = {}  # group principal → open conversation id
        self.printed_dt = 0
        self.last_cards: list[SentMessage] = []  # the cards of the last reply, numbered on

    def add_person(self, handle: str, tg_id: int, name: str):  # type: ignore[no-untyped-def]
        person = super().add_person(handle, tg_id, name)
        self.standin.add_user(handle, name)
        return person

    def add_group(self, key: str, chat_id: int, title: str) -> None:
        super().add_group(key, chat_id, title)
        cid = f"cid{abs(chat_id)}"
        self.conversations[chat_id] = cid
        self.standin.add_group(cid, title)

    def _group(self) -> str | None:
        assert self.state.user is not None
        if self.state.chat_id == self.state.user.tg_id:
            return None
        return self.conversations.get(self.state.chat_id or 0)

    async def _wait(self, msg_id: str | None) -> None:
        if msg_id is None:
            self.say("(DingTalk delivers only messages that @ the robot in groups)")
            return
        try:
            await asyncio.to_thread(self.standin.wait_acked, msg_id, 30.0)
        except TimeoutError:
            self.say("(the bot did not answer in time)")
        self.flush()

    async def handle(self, line: str) -> bool:
        line = line.rstrip("\n")
        if not line.strip():
            return True
        if line.startswith(":"):
            return await self.meta(line)
        assert self.state.user is not None
        self.echo(line)
        msg_id = await asyncio.to_thread(
            self.standin.send_text, self.state.user.handle, line, group=self._group()
        )
        await self._wait(msg_id)
        return True

    async def _press(self, args: list[str]) -> bool:
        assert self.state.user is not None
        buttons = [(card, title) for card in self.last_cards for title, _ in card.buttons]
        if not args or not buttons:
            self.say("usage: :press N | LABEL (on the last cards with buttons)")
            return True
        ref = " ".join(args)
        if ref.isdigit() and 0 < int(ref) <= len(buttons):
            card, title = buttons[int(ref) - 1]
        else:
            found = [(c, t) for c, t in buttons if t == ref]
            if not found:
                self.say(f"(no button {ref!r}; the last cards have {[t for _, t in buttons]})")
                return True
            card, title = found[0]
        self.echo(f"[press {title}]")
        msg_id = await asyncio.to_thread(self.standin.press, self.state.user.handle, card, title)
        await self._wait(msg_id)
        return True

    async def _upload(self, args: list[str]) -> bool:
        assert self.state.user is not None
        if not args:
            self.say("usage: :upload PATH")
            return True
        path = Path(args[0])
        try:
            data = await asyncio.to_thread(lambda: path.expanduser().read_bytes())
        except OSError as exc:
            self.say(f"(cannot read {path}: {exc.strerror})")
            return True
        self.echo(f"[upload {path.name}]")
        msg_id = await asyncio.to_thread(
            self.standin.send_file, self.state.user.handle, path.name, data, group=self._group()
        )
        await self._wait(msg_id)
        return True

    def flush(self) -> None:
        super().flush()  # anything that went to Telegram people and groups
        messages = self.standin.messages(start=self.printed_dt)
        self.printed_dt += len(messages)
        numbered = 0
        cards: list[SentMessage] = []
        for message in messages:
            numbered = self.show_dingtalk(message, numbered)
            if message.buttons and self._here(message):
                cards.append(message)
        if cards:
            self.last_cards = cards

    def _here(self, message: SentMessage) -> bool:
        kind, target = message.to
        if kind == "group":
            return target == self._group()
        return self.state.user is not None and target == self.state.user.handle

    def show_dingtalk(self, message: SentMessage, numbered: int) -> int:
        """Print one robot message; buttons numbered on from ``numbered`` (returned)."""
        kind, target = message.to
        here = self._here(message)
        if not here:
            numbered = 0
        where = "" if here else f" → {target if kind == 'user' else self._title(target)}"
        self.say(f"robot [DingTalk {message.msg_key}]{where}:")
        if message.msg_key == "sampleFile":  # a file to open: its name, as the chat shows it
            self.say(f"  📎 {message.param.get('fileName', '')}")
        elif message.msg_key == "sampleImageMsg":
            self.say("  🖼 (picture)")
        else:
            self.say(indent(markdown_text(message.text)))
        if message.buttons:
            labels = []
            for n, (title, url) in enumerate(message.buttons, start=numbered + 1):
                answer = parse_qs(urlsplit(url).query).get("content", [""])[0]
                labels.append(f"[{n} {title}]" if answer else f"[{n} {title} ↗]")
            self.say("  " + " ".join(labels))
            if here:
                numbered += len(message.buttons)
        return numbered

    def _title(self, cid: str) -> str:
        for chat_id, conversation in self.conversations.items():
            if conversation == cid:
                return self.state.group_titles.get(chat_id, cid)
        return cid


async def run_dingtalk_console(
    settings: Settings,
    demo: bool = False,
    database_url: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    start: datetime | None = None,
) -> int:
    from handlers.dingtalk.adapter import DingTalkAdapter
    from handlers.dingtalk.openapi import OpenApiClient
    from handlers.dingtalk.outbox_bridge import route_outbox_to_dingtalk
    from handlers.dingtalk.sdk import dingtalk_stream, point_sdk_at, run_stream

    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    tty = stdin.isatty() and out.isatty()
    tmp = tempfile.TemporaryDirectory(prefix="leadbot-demo-") if demo and not database_url else None
    url = database_url or (
        f"sqlite+aiosqlite:///{Path(tmp.name) / 'demo.db'}" if tmp else settings.database_url
    )
    clock = ShiftedClock()
    if start is not None:
        clock.set(start)
    api = LocalBotAPI(now=lambda: clock.now().timestamp())
    await api.start()
    standin = DingTalkStandIn()
    point_sdk_at(standin.start())
    db = Database(url)
    world = None
    dt_api = OpenApiClient(
        standin.base_url, standin.client_id, standin.client_secret, standin.robot_code
    )
    stream: asyncio.Task[None] | None = None
    try:
        await db.ensure_schema()
        if demo:
            async with db.session() as session:
                world = await seed_demo(
                    session, clock.now(), since=clock.now() - timedelta(weeks=8)
                )
                for u in world.users:
                    await link_identity(
                        session, clock.now(), "dingtalk", "user", u.handle, u.tg_id, u.name
                    )
                for g in world.groups:
                    await link_identity(
                        session,
                        clock.now(),
                        "dingtalk",
                        "group",
                        f"cid{abs(g.tg_chat_id)}",
                        g.tg_chat_id,
                        g.title,
                    )
            settings = settings.model_copy(
                update={
                    "admins": sorted({*settings.admins, world.users[0].tg_id}),
                    "dingtalk_admins": [*settings.dingtalk_admins, world.users[0].handle],
                }
            )
            await seed_history(db, settings, clock.now())
        elif not settings.dingtalk_admins:
            settings = settings.model_copy(update={"dingtalk_admins": ["you"]})
        app = build_application(
            settings,
            db,
            clock,
            token=api.token,
            base_url=api.base_url,
            base_file_url=api.base_file_url,
            run_jobs=False,
        )
        adapter = DingTalkAdapter(
            db, settings, clock.now, dt_api, engine=app.forms, services=app.services
        )
        route_outbox_to_dingtalk(app, adapter)
        console = DingTalkConsole(standin, api, app, clock, out, tty)
        if world:
            console.load_world(world)
        else:
            console.switch_user(settings.dingtalk_admins[0])
        client = dingtalk_stream.DingTalkStreamClient(
            dingtalk_stream.Credential(standin.client_id, standin.client_secret)
        )
        client.register_callback_handler(CHATBOT_TOPIC, adapter.sdk_handler())
        stream = asyncio.create_task(run_stream(client, retry_after=0.5))
        await asyncio.to_thread(standin.wait_connected, 30.0)
        async with app:
            await app.start()
            if demo:
                await app.jobs.run_due()
            console.state.printed = len(api.calls)
            console.printed_dt = len(standin.messages())
            console.say(banner(console).replace("Leadbot console", "Leadbot console (DingTalk)"))
            await repl(console, stdin, tty)
            await app.stop()
    finally:
        if stream is not None:
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
        await dt_api.close()
        standin.stop()
        await api.stop()
        await db.dispose()
        if tmp:
            tmp.cleanup()
    return 0
