"""The DingTalk adapter: robot messages in → the same services → DingTalk markdown out.

One incoming robot message is handled in one unit of work: its ``msgId`` is recorded (a
redelivered frame is then recognised and only acknowledged), the sender and the group get
their principal ids (bot/services/identities.py), the command runs through the same service
Telegram's handler calls, and only after the commit are the replies sent and the frame ACKed.

Commands arrive as ``/name args`` or as a Chinese alias (``帮助``, ``排名`` …, see
:data:`ALIASES`); a bare invite code sent 1:1 joins.  The forms of the platform-neutral engine
(``/report``, ``/activity``, ``/weekly``: :data:`FORM_ENTRIES`) run here as on Telegram; the
read commands and every button outside the engine's forms are
:mod:`handlers.dingtalk.commands`' (a lead's card, the head's 确认 …), the leaders' commands
:mod:`handlers.dingtalk.leaders`', the admins' :mod:`handlers.dingtalk.admin`'. What a change
planned for other people is sent by the outbox right after the commit (:attr:`deliver`). The
commands not served here yet answer ``dingtalk.not_yet`` — said plainly, not silently ignored.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import catalog
from bot.assembly.commands import ALIASES, COMMANDS, alias_of, for_role
from bot.assembly.config import Settings
from bot.catalog import Html
from bot.domain.enums import ChatKind, Role
from bot.forms import CODEC, FormEngine
from bot.forms.model import FileRef, FormContext, Outcome, Status
from bot.operations.sheets import MAX_BYTES as SHEET_MAX_BYTES
from bot.rendering.health_text import health_text
from bot.rendering.leads_text import delivery_text
from bot.rendering.rank_text import rank_buttons, render_rank, render_score
from bot.services import (
    ServiceError,
    Services,
    attachments,
    chats,
    invites,
    lead_notices,
    linking,
    ranking,
    reach,
    scoring,
)
from bot.services.access import Actor, resolve_actor
from bot.services.health import outbox_health
from bot.services.identities import first_sight, principal_of
from handlers.dingtalk import admin, commands, leaders
from handlers.dingtalk.openapi import (
    DingTalkError,
    OpenApiClient,
)
from handlers.dingtalk.reply import BUTTON_RE, Reply, outcome_reply, with_values
from handlers.dingtalk.sdk import dingtalk_stream
from handlers.dingtalk.sending import RobotSender
from handlers.web.auth import WebUser
from storage.db import Database

__all__ = ["ALIASES", "CHANNEL", "DingTalkAdapter", "Incoming", "Reply", "parse_command"]

_LOGGER = logging.getLogger(__name__)

CHANNEL = "dingtalk"
MAX_TEXT = 4000
MAX_FILE_BYTES = attachments.MAX_BYTES
# What this adapter serves itself today; everything else answers dingtalk.not_yet.
SERVED = (
    "start",
    "help",
    "report",
    "activity",
    "weekly",
    "status",
    "leads",
    "lead",
    *commands.LEAD_COMMANDS,
    *commands.ACTIVITY_COMMANDS,
    "funds",
    "activities",
    "trips",
    "lang",
    "leave",
    "rank",
    "score",
    "bind",
    "unbind",
    "web",
    "health",
    *leaders.LEADER_COMMANDS,
    *admin.ADMIN_COMMANDS,
)
REGISTERED = frozenset(c.name for c in COMMANDS)
# Commands that open a form of the engine (bot/forms), 1:1 only.
FORM_ENTRIES = {"report": "report", "activity": "activity", "weekly": "weekly"}


@dataclass(frozen=True)
class Incoming:
    msg_id: str
    staff_id: str
    nick: str
    group: str | None  # open conversation id of a group chat; None in 1:1
    group_title: str | None
    msgtype: str
    text: str
    download_code: str | None = None
    file_name: str | None = None


def parse_incoming(data: dict[str, Any]) -> Incoming:
    msg = dingtalk_stream.ChatbotMessage.from_dict(data)
    raw_content = data.get("content")
    content: dict[str, Any] = raw_content if isinstance(raw_content, dict) else {}
    text = ""
    if msg.message_type == "text" and msg.text is not None:
        text = msg.text.content or ""
    elif msg.message_type == "richText":
        text = "".join(msg.get_text_list() or [])
    group = msg.conversation_id if msg.conversation_type == "2" else None
    return Incoming(
        msg_id=str(msg.message_id),
        staff_id=str(msg.sender_staff_id or msg.sender_id),
        nick=str(msg.sender_nick or ""),
        group=group,
        group_title=msg.conversation_title,
        msgtype=str(msg.message_type),
        text=text.strip(),
        download_code=content.get("downloadCode"),
        file_name=content.get("fileName"),  # a picture has none: its bytes tell the type
    )


def message_key(incoming: Incoming) -> str:
    """The key the notices a message's change plans carry (planned once per message)."""
    return f"dt:{incoming.msg_id}"


def parse_command(text: str, private: bool) -> tuple[str, str] | None:
    """``(command, args)`` of a message, or None for plain text."""
    head, _, rest = text.strip().partition(" ")
    if head.startswith("/") and len(head) > 1:
        return head[1:].split("@", 1)[0].lower(), rest.strip()
    if head in ALIASES:
        return ALIASES[head], rest.strip()
    if private and invites.TOKEN_RE.fullmatch(text.strip()):
        return "start", text.strip()
    return None


class DingTalkAdapter(RobotSender):
    def __init__(
        self,
        db: Database,
        settings: Settings,
        now: Callable[[], datetime],
        api: OpenApiClient,
        *,
        engine: FormEngine | None = None,
        services: Services | None = None,
    ) -> None:
        self.db, self.settings, self.now, self.api = db, settings, now, api
        self.engine, self.services = engine, services
        self.handled = 0
        # Sends what a change planned for other people at once (the application's outbox
        # drain, set by route_outbox_to_dingtalk); the scheduler's next tick would too.
        self.deliver: Callable[[], Awaitable[Any]] | None = None
        # The web app's one-time sign-in link (/web) and the schedule's last run (/health),
        # given by the composition root when the application runs them.
        self.web_link: Callable[[WebUser], Awaitable[str]] | None = None
        self.last_run: Callable[[], datetime | None] | None = None

    # ------------------------------------------------------------------ the SDK side
    def sdk_handler(self) -> Any:
        adapter = self

        class _Handler(dingtalk_stream.ChatbotHandler):
            async def process(self, callback: Any) -> tuple[int, str]:
                try:
                    await adapter.handle(callback.data)
                except Exception:  # logged; not ACKed as OK, so DingTalk delivers it again
                    _LOGGER.exception("DingTalk message %s failed", callback.headers.message_id)
                    return dingtalk_stream.AckMessage.STATUS_SYSTEM_EXCEPTION, "error"
                return dingtalk_stream.AckMessage.STATUS_OK, "OK"

        return _Handler()

    # ------------------------------------------------------------------ one message
    async def handle(self, data: dict[str, Any]) -> None:
        incoming = parse_incoming(data)
        now = self.now()
        async with self.db.session() as session:
            if not await first_sight(session, now, CHANNEL, incoming.msg_id):
                return  # a redelivery of a message already handled
            principal = await principal_of(
                session, now, CHANNEL, "user", incoming.staff_id, incoming.nick
            )
            actor = await resolve_actor(session, self.settings, principal, incoming.nick, None)
            # A Telegram member's linked account: the bot's own messages follow them here.
            moved = principal > 0 and await reach.heard_on(session, actor, reach.DINGTALK)
            if moved and self.services is not None:
                self.services.actors.drop(principal)  # Telegram's cached view of them is stale
            if incoming.staff_id in self.settings.dingtalk_admins:
                actor = dataclasses.replace(actor, role=Role.ADMIN)
            replies = await self._dispatch(session, now, incoming, actor)
        self.handled += 1
        if self.deliver is not None and any(r.told_others for r in replies):
            replies = await self._deliver(incoming, actor.locale, replies)
        for reply in replies:
            await self._send(incoming, reply)

    async def _deliver(self, incoming: Incoming, locale: str, replies: list[Reply]) -> list[Reply]:
        """Send what the change planned for others now (committed already), and after a lead
        verdict tell the reviewer how many heard it, as Telegram does."""
        assert self.deliver is not None
        try:
            await self.deliver()
        except Exception:  # planned and committed: the scheduler sends it on its next tick
            _LOGGER.exception("outbox: sending notices now failed; the scheduler will")
            return replies
        async with self.db.session() as session:
            done = await lead_notices.delivery(session, message_key(incoming))
        if not done.planned:
            return replies
        last = max(i for i, r in enumerate(replies) if r.told_others)
        told = replies[last]
        text = Html(told.html + "\n" + delivery_text(locale, done))
        return [*replies[:last], dataclasses.replace(told, html=text), *replies[last + 1 :]]

    async def _dispatch(
        self, session: Any, now: datetime, incoming: Incoming, actor: Actor
    ) -> list[Reply]:
        t = self._t(actor.locale)
        private = incoming.group is None
        if len(incoming.text) > MAX_TEXT:
            return [Reply(t("dingtalk.too_long", length=len(incoming.text), limit=MAX_TEXT))]
        command = parse_command(incoming.text, private)
        # An invite code joins (as Telegram); /start <form> opens the form, else hello.
        token = command[1] if command is not None and command[0] == "start" else ""
        if private and invites.TOKEN_RE.fullmatch(token):
            return [await self._join(session, now, incoming, actor, token)]
        if command is not None and command[0] == "link":  # a stranger here, a member on Telegram
            return [await self._link(session, now, incoming, actor, command[1])]
        if not actor.is_member:
            return [Reply(t("access.stranger"))]
        ctx = FormContext(
            session=session,
            services=self.services,
            actor=actor,
            person=f"dt:{incoming.staff_id}",
            now=now,
            locale=actor.locale,
            key=message_key(incoming),  # a notice a change plans is keyed by the message
        )
        pressed = BUTTON_RE.match(incoming.text) if incoming.msgtype == "text" else None
        if self.engine is not None:
            form_replies = await self._form(ctx, incoming, command, pressed)
            if form_replies is not None:
                return form_replies
        if pressed is not None:  # a button outside the engine's forms (a lead's card …)
            return [await self._button(ctx, pressed["data"], private)]
        if incoming.download_code is not None:
            return [await self._file(ctx, incoming, private)]
        if command is None and private and commands.lead_ref(incoming.text) is not None:
            command = ("lead", incoming.text)  # a bare L0007, as on Telegram
        if command is None:
            return [Reply(t("dingtalk.unknown"))]
        return await self._command(ctx, incoming, *command)

    async def _command(
        self, ctx: FormContext, incoming: Incoming, name: str, args: str
    ) -> list[Reply]:
        """A command (or alias) no form took: to the module that serves it, or not yet."""
        session, now, actor, t = ctx.session, ctx.now, ctx.actor, self._t(ctx.locale)
        private = incoming.group is None
        private_only = (
            *commands.PRIVATE_READS,
            *commands.LEAD_COMMANDS,
            *commands.ACTIVITY_COMMANDS,
        )
        opens_form = name in FORM_ENTRIES or (name == "start" and args in FORM_ENTRIES)
        if opens_form or (name in private_only and not private):
            return [Reply(t("access.private_only"))]  # forms and lead details are 1:1
        if name in commands.READS:
            return await commands.read(ctx, name, args)
        if name in commands.LEAD_COMMANDS and self.engine is not None:
            return [await commands.lead_command(ctx, self.engine, name, args)]
        if name in commands.ACTIVITY_COMMANDS and self.engine is not None:
            return [await commands.activity_command(ctx, self.engine, name, args)]
        if name in leaders.LEADER_COMMANDS:
            group = None
            if incoming.group is not None:
                group = await principal_of(
                    session, now, CHANNEL, "group", incoming.group, incoming.group_title
                )
            return [await leaders.run(ctx, name, args, group)]
        if name in admin.ADMIN_COMMANDS:
            if not private:  # invite codes are not for groups
                return [Reply(t("access.private_only"))]
            return [await admin.run(ctx, name, args)]
        if name == "start":
            hello = t("start.hello", name=actor.display_name)
            return [Reply(Html(hello + "\n\n" + self._commands(actor, group=not private)))]
        if name == "help":
            return [Reply(self._help(actor, group=not private))]
        if name in ("bind", "unbind"):
            return [await self._bind(session, now, incoming, actor, name, args)]
        if name in ("rank", "score"):
            return [await self._ranking(session, now, actor, name, args)]
        if name == "web":
            return [await self._web(incoming, actor)]
        if name == "health":
            return [await self._health(ctx)]
        if name == "cancel":  # no form open (the engine takes it when one is)
            return [Reply(t("fallback.text"))]
        if name not in REGISTERED:
            return [Reply(t("fallback.unknown_command"))]
        available = "、".join(f"/{n}" for n in SERVED)
        return [Reply(t("dingtalk.not_yet", command=f"/{name}", available=available))]

    # ------------------------------------------------------------------ forms
    async def _form(
        self,
        ctx: FormContext,
        incoming: Incoming,
        command: tuple[str, str] | None,
        pressed: re.Match[str] | None,
    ) -> list[Reply] | None:
        """The form engine's turn; None lets the other commands answer."""
        engine = self.engine
        assert engine is not None
        if incoming.group is not None:
            return None
        if pressed is not None:
            if not engine.owns(pressed["data"]):
                return None  # another feature's button: not an answer to the open form
            outcome = await engine.press(ctx, engine.codec.decode(pressed["data"]))
            if outcome.status in (Status.STALE, Status.NONE):
                # Telegram's popup: the form's own note (提交 again: filed already), or stale.
                if outcome.said:
                    return [Reply(outcome.said[0].html(ctx.locale))]
                return [Reply(catalog.t("fallback.stale_button", ctx.locale))]
            return [self._outcome(outcome, ctx.locale)]
        if command is not None:
            name, args = command
            form = FORM_ENTRIES.get(name) or (FORM_ENTRIES.get(args) if name == "start" else None)
            if form is not None:
                return [self._outcome(await engine.start(ctx, form), ctx.locale)]
            if name != "cancel":
                return None  # any other command: the form waits
            outcome = await engine.cancel(ctx)
        elif incoming.download_code is not None:
            try:
                ref = await self._kept(ctx, incoming)
            except DingTalkError as err:
                if err.code != "tooLarge":
                    raise  # the frame is not acknowledged: DingTalk delivers it again
                return [self._too_big(incoming, ctx.actor)]
            outcome = await engine.file(ctx, ref)
        elif incoming.msgtype in ("text", "richText"):
            outcome = await engine.text(ctx, incoming.text)
        else:
            outcome = await engine.other(ctx)
        if outcome.status is Status.NONE:
            return None
        return [self._outcome(outcome, ctx.locale)]

    def _outcome(self, outcome: Outcome, locale: str) -> Reply:
        assert self.engine is not None
        return outcome_reply(self.engine, outcome, locale)

    async def _button(self, ctx: FormContext, data: str, private: bool) -> Reply:
        """A lead's or a weekly card's button (handlers/dingtalk/commands.py): 1:1 only but
        for the rank's period buttons."""
        stale = Reply(catalog.t("fallback.stale_button", ctx.locale))
        if self.engine is None:
            return stale
        value = CODEC.decode(data)
        if not private and not isinstance(value, commands.GROUP_BUTTONS):
            return Reply(catalog.t("access.private_only", ctx.locale))
        reply = await commands.press(ctx, self.engine, value, private)
        return reply if reply is not None else stale

    async def _join(
        self, session: Any, now: datetime, incoming: Incoming, actor: Actor, token: str
    ) -> Reply:
        t = self._t(actor.locale)
        try:
            joined = await invites.redeem(
                session, now, token, actor.tg_user_id, incoming.nick, None
            )
        except ServiceError as err:
            return Reply(t(err.code, **err.params))
        key = "start.joined" if joined.changed else "start.already_joined"
        role = catalog.plain(f"role.{joined.role.value}", actor.locale)
        unit = joined.unit_name or catalog.plain("unit.none", actor.locale)
        joined_actor = dataclasses.replace(actor, role=joined.role)
        text = t(key, name=joined.display_name, unit=unit, role=role)
        return Reply(Html(text + "\n\n" + self._commands(joined_actor, group=False)))

    async def _web(self, incoming: Incoming, actor: Actor) -> Reply:
        """``/web``: the one-time browser link, as on Telegram (1:1 only: it is personal).
        Inside DingTalk the app opens from the 工作台 with 免登 instead (docs/web.md)."""
        t = self._t(actor.locale)
        if incoming.group is not None:
            return Reply(t("access.private_only"))
        if self.web_link is None:
            return Reply(t("web.link.off"))
        url = await self.web_link(WebUser(CHANNEL, incoming.staff_id, actor.display_name))
        link = Html(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')  # a markdown link
        return Reply(t("web.link.reply", url=link))

    async def _health(self, ctx: FormContext) -> Reply:
        if not ctx.actor.is_admin:
            return Reply(self._t(ctx.locale)("access.admin_only"))
        found = await outbox_health(ctx.session, ctx.now)
        last = self.last_run() if self.last_run is not None else None
        return Reply(health_text(ctx.locale, self.settings.zone, ctx.now, last, found))

    async def _link(
        self, session: Any, now: datetime, incoming: Incoming, actor: Actor, code: str
    ) -> Reply:
        t = self._t(actor.locale)
        if incoming.group is not None:
            return Reply(t("link.private_only"))
        if not code:
            return Reply(t("link.usage"))
        try:
            principal = await linking.redeem(
                session, now, code, CHANNEL, incoming.staff_id, incoming.nick, actor
            )
        except ServiceError as err:
            return Reply(t(err.code, **err.params))
        linked = await resolve_actor(session, self.settings, principal, incoming.nick, None)
        role = catalog.plain(f"role.{linked.role.value}", linked.locale) if linked.role else ""
        unit = linked.unit_name or catalog.plain("unit.none", linked.locale)
        text = self._t(linked.locale)("link.done", name=linked.display_name, unit=unit, role=role)
        return Reply(Html(text + "\n\n" + self._commands(linked, group=False)))

    async def _bind(
        self, session: Any, now: datetime, incoming: Incoming, actor: Actor, name: str, args: str
    ) -> Reply:
        t = self._t(actor.locale)
        if not actor.is_admin:
            return Reply(t("access.admin_only"))
        if incoming.group is None:
            return Reply(t("bind.not_group"))
        chat = await principal_of(
            session, now, CHANNEL, "group", incoming.group, incoming.group_title
        )
        if name == "unbind":
            removed = await chats.unbind(session, now, actor.tg_user_id, chat)
            return Reply(t("bind.removed" if removed else "bind.nothing"))
        try:
            result = await chats.bind(
                session, now, actor.tg_user_id, chat, incoming.group_title, args
            )
        except ServiceError as err:
            return Reply(t(err.code, **err.params))
        if result.kind is ChatKind.LEADERS:
            return Reply(t("bind.leaders"))
        return Reply(t("bind.unit", unit=result.unit_name))

    async def _ranking(
        self, session: Any, now: datetime, actor: Actor, name: str, args: str
    ) -> Reply:
        """/rank and /score: the same services and the same words (bot/rendering/rank_text.py)."""
        setup = scoring.setup_for(self.settings)
        try:
            if name == "rank":
                categories = await ranking.categories(session)
                query = ranking.parse_rank_args(args, self.settings.rank_default_period, categories)
                table = await ranking.rank(
                    session, setup, now, query.kind, query.category, query.key
                )
                return with_values(
                    render_rank(actor.locale, table), rank_buttons(actor.locale, table)
                )
            words = args.split()
            kind = "year"
            if words and words[-1].lower() in ranking.PERIOD_WORDS:
                kind = ranking.PERIOD_WORDS[words.pop().lower()]
            score = await ranking.unit_score(
                session, setup, now, actor, " ".join(words) or None, kind
            )
            return Reply(render_score(actor.locale, self.settings.zone, score))
        except ServiceError as err:
            return Reply(catalog.t(err.code, actor.locale, **err.params))

    async def _kept(self, ctx: FormContext, incoming: Incoming) -> FileRef:
        """A file sent into a form, fetched now when its step keeps bytes (the report's
        attachments): a downloadCode lapses, so its bytes are kept with the web app's uploads
        and the lead's save claims them, which lets the web card and 重新接收附件 on Telegram
        open them too. Other steps keep the reference."""
        code = str(incoming.download_code)
        name = incoming.file_name or catalog.plain("dingtalk.picture_name", ctx.locale)
        engine = self.engine
        assert engine is not None
        if not await engine.keeps_bytes(ctx):
            return FileRef(f"dingtalk:{code}", "document", incoming.file_name or "")
        data = await self.api.download(code, MAX_FILE_BYTES)
        stored = await attachments.store(ctx.session, ctx.person, name, "", data, ctx.now)
        return FileRef(attachments.REF_PREFIX + stored.token, stored.kind, stored.name)

    def _too_big(self, incoming: Incoming, actor: Actor) -> Reply:
        name = incoming.file_name or "file"
        limit = MAX_FILE_BYTES >> 20
        return Reply(self._t(actor.locale)("dingtalk.file_too_big", name=name, limit_mb=limit))

    async def _file(self, ctx: FormContext, incoming: Incoming, private: bool) -> Reply:
        """A file no form waited for: an admin's unit sheet (1:1), else said as unexpected."""
        t = self._t(ctx.locale)
        name = incoming.file_name or "file"
        sheet = private and admin.is_unit_sheet(ctx.actor.is_admin, incoming.file_name)
        limit = SHEET_MAX_BYTES if sheet else MAX_FILE_BYTES
        try:
            data = await self.api.download(str(incoming.download_code), limit)
        except DingTalkError as err:
            if err.code == "tooLarge":
                return Reply(t("dingtalk.file_too_big", name=name, limit_mb=limit >> 20))
            raise
        if sheet:
            return await admin.import_sheet(ctx, data, name)
        return Reply(t("dingtalk.file_not_expected", name=name))

    def _help(self, actor: Actor, group: bool) -> Html:
        role = catalog.plain(f"role.{actor.role.value}", actor.locale) if actor.role else ""
        unit = actor.unit_name or catalog.plain("unit.none", actor.locale)
        header = catalog.t("help.header", actor.locale, role=role, unit=unit)
        return Html(header + "\n" + self._commands(actor, group))

    def _commands(self, actor: Actor, group: bool) -> str:
        lines = []
        for c in for_role(actor.role, group=group):
            if c.name == "start" or c.name not in SERVED:
                continue  # only what works on DingTalk; the rest answers dingtalk.not_yet
            alias = alias_of(c.name)
            shown = f"/{c.name}" + (f"（{alias}）" if alias else "")
            description = catalog.plain(f"cmd.{c.name}", actor.locale)
            lines.append(
                catalog.t("help.line", actor.locale, command=shown, description=description)
            )
        return "\n".join(lines)

    @staticmethod
    def _t(locale: str) -> Callable[..., Html]:
        def t(key: str, /, **values: Any) -> Html:
            return catalog.t(key, locale, **values)

        return t

    # ------------------------------------------------------------------ sending
    async def _send(self, incoming: Incoming, reply: Reply) -> None:
        try:
            if incoming.group is not None:
                await self.send_reply(None, incoming.group, reply)
            else:
                await self.send_reply(incoming.staff_id, None, reply)
        except DingTalkError:
            _LOGGER.exception("DingTalk reply to %s failed", incoming.staff_id)
