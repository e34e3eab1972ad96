"""``leadbot console``: chat with the real bot in a terminal, no Telegram, no token.

The same Application and handlers run against :mod:`bot.localapi`; the console
plays the people. Lines starting with ``:`` are meta-commands; anything else is
sent as a message by the current user in the current chat. Standard input may
be a script (not a terminal): each line is handled in turn, so a whole session
can be replayed and its output asserted.
"""

from __future__ import annotations

import asyncio
import html
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select

from bot.assembly.app import LeadbotApplication, build_application
from bot.assembly.clock import ShiftedClock
from bot.assembly.config import Settings
from bot.domain.enums import Role
from bot.localapi import LocalBotAPI, RecordedCall
from bot.operations.demo import DemoGroup, DemoUser, DemoWorld, demo_world, seed_demo, seed_history
from storage import repo
from storage.db import Database
from storage.models import Base, Chat, Member

HELP = """meta-commands:
  :user NAME          switch who is typing (handle or name; a new name is a stranger)
  :users              list the people
  :chat private | group UNIT | leaders
  :press N | LABEL    press a button of the last message with buttons
  :upload PATH [CAPTION]
  :time 2026-10-01T16:00   move the clock (zone of the bot); due jobs run
  :help               this text
  :quit               leave"""

PROCESS_TIMEOUT = 30.0
STRANGER_BASE = 5000


@dataclass
class Person:
    handle: str
    tg_id: int
    name: str


@dataclass
class ConsoleState:
    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)  # unit name / "leaders" → chat id
    group_titles: dict[int, str] = field(default_factory=dict)
    user: Person | None = None
    chat_id: int | None = None
    printed: int = 0


class Console:
    def __init__(
        self, api: LocalBotAPI, app: LeadbotApplication, clock: ShiftedClock, out: TextIO, tty: bool
    ) -> None:
        self.api, self.app, self.clock, self.out, self.tty = api, app, clock, out, tty
        self.state = ConsoleState()
        self._done: dict[int, asyncio.Event] = {}
        app.update_listeners.append(self._on_processed)

    # -- people and chats ----------------------------------------------------
    def add_person(self, handle: str, tg_id: int, name: str) -> Person:
        person = Person(handle, tg_id, name)
        self.state.people[handle.lower()] = person
        self.api.add_user(tg_id, name, username=handle if handle.isascii() else None)
        return person

    def add_group(self, key: str, chat_id: int, title: str) -> None:
        self.state.groups[key] = chat_id
        self.state.group_titles[chat_id] = title
        self.api.add_group(chat_id, title)

    def load_world(self, world: DemoWorld) -> None:
        for u in world.users:
            self.add_person(u.handle, u.tg_id, u.name)
        for g in world.groups:
            self.add_group(g.unit or "leaders", g.tg_chat_id, g.title)
        self.switch_user(world.users[0].handle)

    def switch_user(self, ref: str) -> Person:
        key = ref.strip().lower()
        person = self.state.people.get(key) or next(
            (p for p in self.state.people.values() if p.name == ref.strip()), None
        )
        if person is None:
            taken = {p.tg_id for p in self.state.people.values()}
            tg_id = STRANGER_BASE + len(self.state.people)
            while tg_id in taken:  # people loaded from the database may hold these ids
                tg_id += 1
            person = self.add_person(ref.strip(), tg_id, ref.strip())
            self.say(f"(new person {person.name}, id {tg_id}: not a member yet)")
        in_group = self.state.chat_id is not None and self.state.chat_id < 0
        self.state.user = person
        if not in_group:
            self.state.chat_id = person.tg_id
        return person

    # -- processing ------------------------------------------------------------
    def _on_processed(self, update: object, outcome: str, elapsed: float) -> None:
        update_id = getattr(update, "update_id", None)
        event = self._done.setdefault(update_id, asyncio.Event())  # type: ignore[arg-type]
        event.set()

    async def wait_processed(self, update_id: int) -> None:
        event = self._done.setdefault(update_id, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), PROCESS_TIMEOUT)
        except TimeoutError:
            self.say("(the bot did not answer in time)")
        self._done.pop(update_id, None)

    async def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        line = line.rstrip("\n")
        if not line.strip():
            return True
        if line.startswith(":"):
            return await self.meta(line)
        assert self.state.user is not None and self.state.chat_id is not None
        self.echo(line)
        chat = None if self.state.chat_id == self.state.user.tg_id else self.state.chat_id
        update_id = self.api.send_text(self.state.user.tg_id, line, chat_id=chat)
        await self.wait_processed(update_id)
        self.flush()
        return True

    async def meta(self, line: str) -> bool:
        try:
            words = shlex.split(line[1:])
        except ValueError:
            words = line[1:].split()
        if not words:
            return True
        cmd, args = words[0].lower(), words[1:]
        handler = {
            "quit": self._quit,
            "exit": self._quit,
            "q": self._quit,
            "help": self._help,
            "user": self._user,
            "users": self._users,
            "chat": self._chat,
            "press": self._press,
            "upload": self._upload,
            "time": self._time,
        }.get(cmd)
        if handler is None:
            self.say(f"unknown meta-command :{cmd} (try :help)")
            return True
        return await handler(args)

    async def _quit(self, args: list[str]) -> bool:
        return False

    async def _help(self, args: list[str]) -> bool:
        self.say(HELP)
        return True

    async def _user(self, args: list[str]) -> bool:
        if not args:
            return await self._users(args)
        person = self.switch_user(" ".join(args))
        where = (
            self.chat_label(self.state.chat_id) if (self.state.chat_id or 0) < 0 else "private chat"
        )
        self.say(f"(now typing: {person.name} [{person.handle}], {where})")
        return True

    async def _users(self, args: list[str]) -> bool:
        for p in self.state.people.values():
            self.say(f"  {p.handle:<10} {p.name} (id {p.tg_id})")
        return True

    async def _chat(self, args: list[str]) -> bool:
        assert self.state.user is not None
        if not args or args[0] == "private":
            self.state.chat_id = self.state.user.tg_id
            self.say("(chat: private)")
            return True
        if args[0] == "leaders":
            key, title = "leaders", "领导群"
        elif args[0] == "group" and len(args) > 1:
            key = " ".join(args[1:])
            title = f"{key}工作群"
        else:
            self.say("usage: :chat private | group UNIT | leaders")
            return True
        if key not in self.state.groups:
            chat_id = -1002000000000 - len(self.state.groups)
            self.add_group(key, chat_id, title)
        self.state.chat_id = self.state.groups[key]
        self.say(f"(chat: {self.state.group_titles[self.state.chat_id]})")
        return True

    async def _press(self, args: list[str]) -> bool:
        assert self.state.user is not None and self.state.chat_id is not None
        if not args:
            self.say("usage: :press N | LABEL")
            return True
        ref: str | int = int(args[0]) if len(args) == 1 and args[0].isdigit() else " ".join(args)
        try:
            update_id = self.api.press(self.state.user.tg_id, self.state.chat_id, ref)
        except ValueError as exc:
            self.say(f"(cannot press: {exc})")
            return True
        self.echo(f"[press {ref}]")
        await self.wait_processed(update_id)
        self.flush()
        return True

    async def _upload(self, args: list[str]) -> bool:
        assert self.state.user is not None and self.state.chat_id is not None
        if not args:
            self.say("usage: :upload PATH [CAPTION]")
            return True
        path = Path(args[0])
        try:
            data = await asyncio.to_thread(lambda: path.expanduser().read_bytes())
        except OSError as exc:
            self.say(f"(cannot read {path}: {exc.strerror})")
            return True
        chat = None if self.state.chat_id == self.state.user.tg_id else self.state.chat_id
        caption = " ".join(args[1:]) or None
        if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
            update_id = self.api.send_photo(
                self.state.user.tg_id, data, chat_id=chat, caption=caption
            )
        else:
            update_id = self.api.send_document(
                self.state.user.tg_id, data, path.name, chat_id=chat, caption=caption
            )
        self.echo(f"[upload {path.name}]")
        await self.wait_processed(update_id)
        self.flush()
        return True

    async def _time(self, args: list[str]) -> bool:
        if not args:
            self.say(f"(now: {self.local_now().isoformat(timespec='minutes')})")
            return True
        try:
            when = datetime.fromisoformat(" ".join(args))
        except ValueError:
            self.say("usage: :time 2026-10-01T16:00")
            return True
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.app.services.settings.zone)
        self.clock.set(when)
        self.say(f"(clock set to {self.local_now().isoformat(timespec='minutes')})")
        await self.app.jobs.run_due()
        self.flush()
        return True

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.app.services.settings.zone)

    # -- output ----------------------------------------------------------------
    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def echo(self, text: str) -> None:
        if not self.tty:
            who = self.state.user.name if self.state.user else "?"
            self.say(f"{who}> {text}")

    def flush(self) -> None:
        calls = self.api.calls[self.state.printed :]
        self.state.printed = len(self.api.calls)
        for call in calls:
            if call.ok:
                self.show(call)

    def show(self, call: RecordedCall) -> None:
        p = call.params
        chat_id = (
            int(p["chat_id"])
            if "chat_id" in p and str(p["chat_id"]).lstrip("-").isdigit()
            else None
        )
        where = "" if chat_id == self.state.chat_id else f" → {self.chat_label(chat_id)}"
        if call.method in ("sendMessage", "editMessageText"):
            tag = "bot" if call.method == "sendMessage" else "bot (edited)"
            self.say(f"{tag}{where}:")
            self.say(indent(render_html(str(p.get("text", "")), self.tty)))
            self.buttons(p.get("reply_markup"))
        elif call.method == "editMessageReplyMarkup":
            self.buttons(p.get("reply_markup"))
        elif call.method == "answerCallbackQuery" and p.get("text"):
            self.say(f"bot (popup): {p['text']}")
        elif call.method in ("sendDocument", "sendPhoto"):
            name = (
                (call.response or {}).get("document", {}).get("file_name", "photo")
                if isinstance(call.response, dict)
                else "file"
            )
            self.say(f"bot{where}: [file {name}]")
            if p.get("caption"):
                self.say(indent(render_html(str(p["caption"]), self.tty)))

    def buttons(self, markup: object) -> None:
        if not isinstance(markup, dict):
            return
        n = 0
        for row in markup.get("inline_keyboard", []):
            labels = []
            for button in row:
                n += 1
                link = " ↗" if button.get("url") else ""
                labels.append(f"[{n} {button.get('text', '')}{link}]")
            self.say("  " + " ".join(labels))

    def chat_label(self, chat_id: int | None) -> str:
        if chat_id is None:
            return "?"
        if chat_id in self.state.group_titles:
            return self.state.group_titles[chat_id]
        person = next((p for p in self.state.people.values() if p.tg_id == chat_id), None)
        return f"{person.name} (private)" if person else str(chat_id)


def render_html(text: str, tty: bool) -> str:
    """Telegram HTML to terminal text: bold stays bold on a terminal, tags go."""
    if tty:
        text = re.sub(r"<b>|<strong>", "\033[1m", text)
        text = re.sub(r"</b>|</strong>", "\033[0m", text)
    text = re.sub(r'<a href="([^"]*)">([^<]*)</a>', r"\2 (\1)", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


async def run_console(
    settings: Settings,
    demo: bool = False,
    database_url: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    start: datetime | None = None,
) -> int:
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
    db = Database(url)
    world = None
    try:
        await db.ensure_schema()
        api.continue_update_ids(await last_update_id(db))  # a database used before
        known = await world_from_database(db)
        if known.users:  # the people already there, the demo's among them: no second seeding
            demo, world = False, known
            admins = [u.tg_id for u in known.users if u.role is Role.ADMIN]
            settings = settings.model_copy(update={"admins": sorted({*settings.admins, *admins})})
        if demo:
            async with db.session() as session:
                world = await seed_demo(
                    session, clock.now(), since=clock.now() - timedelta(weeks=8)
                )
            settings = settings.model_copy(
                update={"admins": sorted({*settings.admins, world.users[0].tg_id})}
            )
            await seed_history(db, settings, clock.now())
        app = build_application(
            settings,
            db,
            clock,
            token=api.token,
            base_url=api.base_url,
            base_file_url=api.base_file_url,
            run_jobs=False,
        )
        console = Console(api, app, clock, out, tty)
        if world:
            console.load_world(world)
        else:
            console.switch_user(str(settings.admins[0]) if settings.admins else "you")
        async with app:
            await app.start()
            app.inbox.start_polling(timeout=1)
            if demo:
                await app.jobs.run_due()  # close the demo's past weeks (missing marks), quietly
            console.state.printed = len(api.calls)
            console.say(banner(console))
            await repl(console, stdin, tty)
            await app.stop()
    finally:
        await api.stop()
        await db.dispose()
        if tmp:
            tmp.cleanup()
    return 0


async def last_update_id(db: Database) -> int:
    """The highest update id the database remembers, in whichever table keeps them."""
    found = 0
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            if "update_id" in table.c:
                found = max(found, await session.scalar(select(func.max(table.c.update_id))) or 0)
    return int(found)


async def world_from_database(db: Database) -> DemoWorld:
    """The members and bound groups of an existing database, so ``:user 张三`` finds 张三
    (the demo's people keep their demo handles: liaison1, head1 …)."""
    handles = {u.tg_id: u.handle for u in demo_world().users}
    async with db.session() as session:
        members = (
            await session.scalars(select(Member).where(Member.active.is_(True)).order_by(Member.id))
        ).all()
        chats = (await session.scalars(select(Chat).order_by(Chat.id))).all()
        unit_names = {u.id: u.name for u in await repo.units(session, include_inactive=True)}
    users = [
        DemoUser(
            handles.get(m.tg_user_id) or m.username or str(m.tg_user_id),
            m.tg_user_id,
            m.display_name,
            Role(m.role),
            unit_names.get(m.unit_id) if m.unit_id else None,
        )
        for m in members
    ]
    admin_first = sorted(users, key=lambda u: u.role is not Role.ADMIN)
    groups = [
        DemoGroup(
            c.tg_chat_id,
            c.title or str(c.tg_chat_id),
            unit_names.get(c.unit_id) if c.unit_id else None,
        )
        for c in chats
    ]
    return DemoWorld(admin_first, groups)


def banner(console: Console) -> str:
    user = console.state.user
    who = f"{user.name} [{user.handle}]" if user else "?"
    return f"Leadbot console — typing as {who} in a private chat. :help for meta-commands, :quit to leave."


async def repl(console: Console, stdin: TextIO, tty: bool) -> None:
    loop = asyncio.get_running_loop()
    while True:
        prompt = f"{console.state.user.name if console.state.user else ''}> " if tty else ""
        line = await loop.run_in_executor(None, _read, stdin, prompt, tty)
        if line is None or not await console.handle(line):
            return


def _read(stdin: TextIO, prompt: str, tty: bool) -> str | None:
    if tty:
        try:
            return input(prompt)
        except EOFError:
            return None
    line = stdin.readline()
    return line if line else None
