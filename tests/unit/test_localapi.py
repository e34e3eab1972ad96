"""Tests for the local Bot API stand-in, driven by the real PTB client over HTTP.

The stand-in is only useful if PTB cannot tell it from Telegram, so most tests run a real
``Application`` (polling, handlers, downloads, rate limiter) against it instead of
poking at internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.localapi import FormattingError, LocalBotAPI, RecordedCall, parse_formatted_text

USER = 1001
OTHER = 1002
GROUP = -1001234567890
CLOCK_START = 1_700_000_000.0

App = Application[Any, Any, Any, Any, Any, Any]

MENU = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Alpha", callback_data="pick:alpha"),
            InlineKeyboardButton("Beta", callback_data="pick:beta"),
        ],
        [InlineKeyboardButton("Docs", url="https://example.com/docs")],
    ]
)


class FakeClock:
    """Message dates come from here so tests can assert them exactly."""

    def __init__(self, start: float = CLOCK_START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def tiny_png(width: int, height: int) -> bytes:
    """A valid greyscale PNG, so photo uploads pass Telegram-style image checks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------
# Fixtures and the application under test
# --------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[LocalBotAPI]:
    server = LocalBotAPI(now=clock)
    server.add_user(USER, "Ann", username="ann")
    server.add_user(OTHER, "Bob")
    server.add_group(GROUP, "Leads")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(api: LocalBotAPI) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


@dataclass
class Harness:
    """What the test application observed; handlers notify `changed` on every record."""

    app: App
    seen: list[int] = field(default_factory=list)
    downloads: list[bytes] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, action: Callable[[], None]) -> None:
        async with self.changed:
            action()
            self.changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(predicate)


def _harness(context: ContextTypes.DEFAULT_TYPE) -> Harness:
    harness: Harness = context.bot_data["harness"]
    return harness


async def _track(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _harness(context).record(lambda: _harness(context).seen.append(update.update_id))


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(f"<b>echo:</b> {html.escape(message.text)}", parse_mode=ParseMode.HTML)


async def _menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Pick one", reply_markup=MENU)


async def _picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    await query.answer(f"picked {query.data}")
    await query.edit_message_text(
        f"You picked <i>{query.data}</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=query.message.reply_markup,
    )


async def _document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    data = bytes(await (await message.document.get_file()).download_as_bytearray())
    await _harness(context).record(lambda: _harness(context).downloads.append(data))
    await message.reply_document(
        document=data[::-1],
        filename=f"reversed-{message.document.file_name}",
        caption=f"{len(data)} bytes",
    )


async def _photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.photo
    largest = message.photo[-1]
    data = bytes(await (await largest.get_file()).download_as_bytearray())
    await _harness(context).record(lambda: _harness(context).downloads.append(data))
    await message.reply_text(f"photo {largest.width}x{largest.height}")


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    assert error is not None
    await _harness(context).record(lambda: _harness(context).errors.append(error))


def _build_app(api: LocalBotAPI, rate_limiter: AIORateLimiter | None) -> App:
    builder = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
    )
    app: App = (builder.rate_limiter(rate_limiter) if rate_limiter else builder).build()
    app.add_handler(TypeHandler(Update, _track), group=-1)
    app.add_handler(CommandHandler("menu", _menu))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    app.add_handler(MessageHandler(filters.Document.ALL, _document))
    app.add_handler(MessageHandler(filters.PHOTO, _photo))
    app.add_handler(CallbackQueryHandler(_picked))
    app.add_error_handler(_on_error)
    return app


@contextlib.asynccontextmanager
async def running_app(
    api: LocalBotAPI, rate_limiter: AIORateLimiter | None = None
) -> AsyncIterator[Harness]:
    """A polling Application that is always stopped, whatever the test did."""
    app = _build_app(api, rate_limiter)
    harness = Harness(app)
    app.bot_data["harness"] = harness
    updater = app.updater
    assert updater is not None
    async with app:
        await app.start()
        try:
            await updater.start_polling(poll_interval=0, timeout=1)
            yield harness
        finally:
            if updater.running:
                await updater.stop()
            await app.stop()


StartApp = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_app(api: LocalBotAPI) -> AsyncIterator[StartApp]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(rate_limiter: AIORateLimiter | None = None) -> Harness:
            return await stack.enter_async_context(running_app(api, rate_limiter))

        yield start


def method_is(name: str) -> Callable[[RecordedCall], bool]:
    return lambda call: call.method == name


async def raw_post(api: LocalBotAPI, method: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """Bypass PTB to check the wire format other clients would see."""
    url = f"{api.base_url}{api.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as response:
        return response.status, await response.json()


# --------------------------------------------------------------------------------------
# Round trips through a real Application
# --------------------------------------------------------------------------------------


async def test_echo_round_trip_with_html(api: LocalBotAPI, start_app: StartApp) -> None:
    await start_app()
    api.send_text(USER, "a < b & c")
    call = await api.wait_for(method_is("sendMessage"))

    assert call.params["parse_mode"] == "HTML"
    user_message, reply = api.messages(USER)
    assert not user_message.from_bot and user_message.text == "a < b & c"
    assert reply.from_bot and reply == api.last_bot_message(USER)
    assert reply.text == "<b>echo:</b> a &lt; b &amp; c"
    assert reply.plain_text == "echo: a < b & c"
    stored = api.message(USER, reply.message_id)
    assert stored is not None
    assert stored["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert stored["date"] == int(CLOCK_START)
    assert stored["from"]["id"] == api.bot_id


async def test_group_message_joins_sender_and_gets_quoted_reply(
    api: LocalBotAPI, start_app: StartApp, bot: Bot
) -> None:
    await start_app()
    api.send_text(OTHER, "hello group", chat_id=GROUP)
    await api.wait_for(method_is("sendMessage"))

    question, reply = api.messages(GROUP)
    stored = api.message(GROUP, reply.message_id)
    assert stored is not None and stored["reply_to_message"]["message_id"] == question.message_id
    assert await bot.get_chat_member_count(GROUP) == 2
    assert (await bot.get_chat_member(GROUP, OTHER)).status == "member"
    assert (await bot.get_chat_member(GROUP, USER)).status == "left"


async def test_buttons_press_by_label_and_index(api: LocalBotAPI, start_app: StartApp) -> None:
    harness = await start_app()
    api.send_text(USER, "/menu")
    await api.wait_for(lambda c: c.method == "sendMessage" and "reply_markup" in c.params)
    menu = api.last_bot_message(USER)
    assert menu is not None and menu.reply_markup == MENU.to_dict()

    mark = len(api.calls)
    pressed = api.press(USER, USER, "Beta")
    answer = await api.wait_for(method_is("answerCallbackQuery"), start=mark)
    await api.wait_for(method_is("editMessageText"), start=mark)
    assert answer.params["text"] == "picked pick:beta"
    assert api.callback_answer(pressed) == {
        "text": "picked pick:beta",
        "show_alert": False,
        "url": None,
        "cache_time": None,
    }
    edited = api.last_bot_message(USER)
    assert edited is not None
    assert (edited.message_id, edited.edited) == (menu.message_id, 1)
    assert edited.plain_text == "You picked pick:beta"

    mark = len(api.calls)
    api.press(USER, USER, 1)
    await api.wait_for(method_is("editMessageText"), start=mark)
    edited = api.last_bot_message(USER)
    assert edited is not None and (edited.plain_text, edited.edited) == ("You picked pick:alpha", 2)

    # A unique fragment works too; pressing Alpha again makes an identical edit, which
    # Telegram refuses - the app's error handler sees the BadRequest.
    api.press(USER, USER, "lph")
    await harness.wait_until(lambda: bool(harness.errors))
    assert isinstance(harness.errors[0], BadRequest)
    assert "message is not modified" in str(harness.errors[0]).lower()


async def test_press_explains_what_cannot_be_pressed(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(ValueError, match="no bot message with an inline keyboard"):
        api.press(USER, USER, 1)
    await bot.send_message(USER, "Pick one", reply_markup=MENU)

    with pytest.raises(ValueError, match=r"is a link to https://example\.com/docs"):
        api.press(USER, USER, "Docs")
    with pytest.raises(ValueError, match="ambiguous"):
        api.press(USER, USER, "a")
    with pytest.raises(ValueError, match=r"matches no button.*'Alpha'"):
        api.press(USER, USER, "Gamma")
    with pytest.raises(ValueError, match="has 3 buttons"):
        api.press(USER, USER, 4)
    with pytest.raises(ValueError, match="no message 999"):
        api.press_button(USER, USER, 999, "pick:alpha")


async def test_file_upload_and_download_both_directions(
    api: LocalBotAPI, start_app: StartApp
) -> None:
    harness = await start_app()
    payload = bytes(range(256)) * 10
    api.send_document(USER, payload, "leads.xlsx", caption="weekly")
    call = await api.wait_for(method_is("sendDocument"))

    assert harness.downloads == [payload]
    assert call.params["document"]["file_size"] == len(payload)
    sent = api.last_bot_message(USER)
    assert sent is not None and sent.document is not None
    assert sent.document["file_name"] == "reversed-leads.xlsx"
    assert sent.text == f"{len(payload)} bytes"
    assert api.file_bytes(sent.document["file_id"]) == payload[::-1]

    picture = tiny_png(3, 2)
    mark = len(api.calls)
    api.send_photo(USER, picture)
    reply = await api.wait_for(method_is("sendMessage"), start=mark)
    assert reply.params["text"] == "photo 3x2"
    assert harness.downloads[-1] == picture


async def test_bot_photo_upload_is_checked_and_reusable(api: LocalBotAPI, bot: Bot) -> None:
    picture = tiny_png(40, 30)
    sent = await bot.send_photo(USER, picture, caption="<b>chart</b>", parse_mode=ParseMode.HTML)
    assert (sent.photo[-1].width, sent.photo[-1].height) == (40, 30)
    assert sent.caption == "chart"
    assert api.file_bytes(sent.photo[-1].file_id) == picture

    again = await bot.send_photo(OTHER, sent.photo[-1].file_id)
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    assert api.last_bot_message(OTHER) is not None

    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(USER, b"definitely not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(USER, "no-such-file-id")


# AIORateLimiter itself reads RetryAfter.retry_after, which PTB 22.2+ flags as deprecated.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_429_is_retried_by_aio_rate_limiter(
    api: LocalBotAPI, start_app: StartApp
) -> None:
    await start_app(rate_limiter=AIORateLimiter(max_retries=3))
    api.inject_error("sendMessage", 429, retry_after=1)
    api.send_text(USER, "hello")
    await api.wait_for(method_is("sendMessage"), timeout=5)

    failed, succeeded = api.calls_of("sendMessage")
    assert (failed.ok, succeeded.ok) == (False, True)
    assert failed.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert failed.params == succeeded.params
    assert succeeded.at - failed.at >= 1.0


@pytest.mark.parametrize(
    ("status", "phrase"),
    [(500, "Internal Server Error"), (502, "Bad Gateway"), (503, "Service Unavailable")],
)
async def test_server_errors_surface_as_network_error(
    api: LocalBotAPI, bot: Bot, status: int, phrase: str
) -> None:
    api.inject_error("sendMessage", status)
    with pytest.raises(NetworkError, match=phrase) as caught:
        await bot.send_message(USER, "x")
    assert type(caught.value) is NetworkError

    await bot.send_message(USER, "x")
    assert [call.ok for call in api.calls_of("sendMessage")] == [False, True]


async def test_wildcard_injection_spares_get_updates(api: LocalBotAPI, bot: Bot) -> None:
    api.inject_error("*", 500, times=2)
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(NetworkError):
        await bot.get_me()
    with pytest.raises(NetworkError):
        await bot.send_chat_action(USER, "typing")
    await bot.send_chat_action(USER, "typing")


async def test_random_failures_are_reproducible(api: LocalBotAPI, bot: Bot) -> None:
    async def pattern() -> list[bool]:
        outcome = []
        for _ in range(20):
            try:
                await bot.send_chat_action(USER, "typing")
            except NetworkError:
                outcome.append(False)
            else:
                outcome.append(True)
        return outcome

    api.fail_randomly("sendChatAction", 0.5, status=500, seed=7)
    first = await pattern()
    api.fail_randomly("sendChatAction", 0.5, status=500, seed=7)
    assert await pattern() == first
    assert 0 < first.count(False) < 20

    api.fail_randomly("sendChatAction", 0)
    assert all(await pattern())


async def test_duplicate_delivery_is_seen_twice(api: LocalBotAPI, start_app: StartApp) -> None:
    harness = await start_app()
    api.duplicate_next()
    first = api.send_text(USER, "dup")
    await harness.wait_until(lambda: harness.seen.count(first) == 2)

    message = api.message(USER, api.messages(USER)[0].message_id)
    again = api.enqueue_update({"message": message}, times=3)
    await harness.wait_until(lambda: harness.seen.count(again) == 3)
    assert again > first


# --------------------------------------------------------------------------------------
# Telegram's validation rules
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("中文<br>", 'Unsupported start tag "br" at byte offset 6'),
        ("R&D", 'Unescaped "&" at byte offset 1; write a literal "&" as "&amp;"'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x>link', "Unclosed start tag at byte offset 0"),
    ],
)
async def test_invalid_html_is_a_bad_request(
    api: LocalBotAPI, bot: Bot, text: str, detail: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    (call,) = api.calls_of("sendMessage")
    assert call.response["description"] == f"Bad Request: can't parse entities: {detail}"
    assert api.messages(USER) == []


@pytest.mark.parametrize(
    ("text", "parse_mode", "ok"),
    [
        ("x" * 4096, None, True),
        ("x" * 4097, None, False),
        ("<b>" + "x" * 4096 + "</b>", ParseMode.HTML, True),
        ("&amp;" * 4096, ParseMode.HTML, True),
        ("&lt;" * 4097, ParseMode.HTML, False),
        ("中" * 4096, None, True),
    ],
)
async def test_length_is_counted_after_entity_parsing(
    bot: Bot, text: str, parse_mode: str | None, ok: bool
) -> None:
    if ok:
        await bot.send_message(USER, text, parse_mode=parse_mode)
    else:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, text, parse_mode=parse_mode)


@pytest.mark.parametrize("text", ["   \n", "<b></b>", "<i> </i>"])
async def test_blank_text_is_empty(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, text, parse_mode=ParseMode.HTML)


async def test_chat_and_permission_errors(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "anyone?")

    api.block_chat(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    api.unblock_chat(USER)
    await bot.send_message(USER, "hi")

    api.block_chat(GROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "hi")

    api.add_user(2001, "Shy", started=False)
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(2001, "hi")
    api.send_text(2001, "/start")
    await bot.send_message(2001, "welcome")


async def test_wrong_token_is_unauthorized(api: LocalBotAPI) -> None:
    impostor = Bot("999:WRONG", base_url=api.base_url)
    with pytest.raises(InvalidToken):
        await impostor.initialize()
    await impostor.shutdown()


async def test_unknown_method_is_404(api: LocalBotAPI) -> None:
    status, body = await raw_post(api, "sendTelepathy", json={"chat_id": USER})
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    assert api.calls_of("sendTelepathy")[0].ok is False


async def test_json_bodies_with_native_types_are_accepted(api: LocalBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    status, body = await raw_post(
        api, "SENDMESSAGE", json={"chat_id": USER, "text": "hi", "reply_markup": markup}
    )
    assert status == 200 and body["result"]["reply_markup"] == markup
    (call,) = api.calls_of("sendMessage")
    assert call.params == {"chat_id": USER, "text": "hi", "reply_markup": markup}


async def test_inline_keyboard_validation(api: LocalBotAPI, bot: Bot) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "hi", reply_markup=too_long)
    # 64 bytes is the limit in UTF-8, so 22 Chinese characters (66 bytes) are too many.
    chinese = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="选" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "hi", reply_markup=chinese)
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="选" * 21)]])
    await bot.send_message(USER, "hi", reply_markup=fits)

    status, body = await raw_post(
        api,
        "sendMessage",
        json={
            "chat_id": USER,
            "text": "hi",
            "reply_markup": {"inline_keyboard": [[{"text": "x"}]]},
        },
    )
    assert status == 400 and "Text buttons are unallowed" in body["description"]


async def test_edit_and_delete_rules(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("new", chat_id=USER, message_id=77)

    sent = await bot.send_message(USER, "same", reply_markup=MENU)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "same", chat_id=USER, message_id=sent.message_id, reply_markup=MENU
        )

    # Leaving reply_markup out of editMessageText removes the keyboard, as on Telegram.
    edited = await bot.edit_message_text("same", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.reply_markup is None and edited.edit_date is not None

    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=MENU)
    view = api.last_bot_message(USER)
    assert view is not None and view.reply_markup == MENU.to_dict() and view.edited == 2

    api.send_text(USER, "mine")
    users_message = api.messages(USER)[-1]
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("hijack", chat_id=USER, message_id=users_message.message_id)

    assert await bot.delete_message(USER, sent.message_id)
    assert [m.message_id for m in api.messages(USER)] == [users_message.message_id]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_callback_query_can_be_answered_once(api: LocalBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Pick", reply_markup=MENU)
    update_id = api.press_button(USER, USER, sent.message_id, "pick:alpha")
    (update,) = await bot.get_updates(timeout=0)
    assert update.update_id == update_id and update.callback_query is not None
    assert update.callback_query.message.message_id == sent.message_id  # type: ignore[union-attr]

    await update.callback_query.answer("done", show_alert=True)
    assert api.callback_answer(update_id)["show_alert"] is True  # type: ignore[index]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer("again")


async def test_set_my_commands_with_scopes(api: LocalBotAPI, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands(
        [BotCommand("report", "提交周报")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )
    await bot.set_my_commands([BotCommand("rank", "排名")], scope=BotCommandScopeChat(GROUP))

    assert api.commands() == [
        {"command": "start", "description": "开始"},
        {"command": "help", "description": "帮助"},
    ]
    assert api.commands("all_private_chats", language_code="zh") == [
        {"command": "report", "description": "提交周报"}
    ]
    assert api.commands("all_private_chats") == []
    assert api.commands("chat", chat_id=GROUP) == [{"command": "rank", "description": "排名"}]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(GROUP))
    assert [c.command for c in got] == ["rank"]
    assert api.calls_of("setMyCommands")[2].params["scope"] == {"type": "chat", "chat_id": GROUP}

    assert [c["command"] for c in api.visible_commands(USER, language_code="zh")] == ["report"]
    assert [c["command"] for c in api.visible_commands(USER, language_code="en")] == [
        "start",
        "help",
    ]
    assert [c["command"] for c in api.visible_commands(GROUP)] == ["rank"]

    await bot.delete_my_commands(scope=BotCommandScopeChat(GROUP))
    assert api.commands("chat", chat_id=GROUP) == []
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.set_my_commands([BotCommand("x", "x")], scope=BotCommandScopeChat(-5))


async def test_webhook_blocks_polling_until_deleted(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://example.com/hook")
    await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    assert api.webhook is not None and api.webhook["url"] == "https://example.com/hook"
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    with pytest.raises(Conflict, match=r"(?i)webhook is active"):
        await bot.get_updates(timeout=0)

    await bot.delete_webhook()
    assert api.webhook is None
    assert await bot.get_updates(timeout=0) == ()


async def test_captions_and_replies_are_validated(api: LocalBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(USER, b"x", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER, "re", reply_to_message_id=404)
    sent = await bot.send_message(
        USER, "re", reply_to_message_id=404, allow_sending_without_reply=True
    )
    assert sent.reply_to_message is None


async def test_member_updates_reach_the_bot(api: LocalBotAPI, bot: Bot) -> None:
    api.add_group(-42, "New group", type="group")
    api.add_member_update(-42, by_user_id=USER, status="administrator")
    api.add_member_update(USER, by_user_id=USER, status="kicked", old_status="member")
    added, blocked = await bot.get_updates(timeout=0)

    assert added.my_chat_member is not None and blocked.my_chat_member is not None
    assert added.my_chat_member.new_chat_member.status == "administrator"
    assert added.my_chat_member.from_user.id == USER
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "still there?")


def test_simulation_misuse_fails_loudly(api: LocalBotAPI) -> None:
    with pytest.raises(ValueError, match="unknown user 5"):
        api.send_text(5, "hi")
    with pytest.raises(ValueError, match="another user's private chat"):
        api.send_text(USER, "hi", chat_id=OTHER)
    with pytest.raises(ValueError, match="call add_group"):
        api.send_text(USER, "hi", chat_id=-7)
    with pytest.raises(ValueError, match="not a method"):
        api.inject_error("sendMesage")
    with pytest.raises(RuntimeError, match="after start"):
        _ = LocalBotAPI().base_url


async def test_fault_method_names_are_case_insensitive(api: LocalBotAPI, bot: Bot) -> None:
    api.inject_error("SENDMESSAGE", 403, description="Forbidden: nope")
    with pytest.raises(Forbidden, match="nope"):
        await bot.send_message(USER, "x")


# --------------------------------------------------------------------------------------
# Long polling
# --------------------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_an_update_arrives(api: LocalBotAPI, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    try:
        await api.wait_for_pending_poll()
        started = loop.time()
        update_id = api.send_text(USER, "wake up")
        updates = await asyncio.wait_for(poll, timeout=2)
    finally:
        poll.cancel()
    assert loop.time() - started < 1.0
    assert [u.update_id for u in updates] == [update_id]

    # Not confirmed yet, so it is delivered again; an offset past it confirms it.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert api.pending_updates == 0


async def test_negative_offset_keeps_only_the_latest(api: LocalBotAPI, bot: Bot) -> None:
    ids = [api.send_text(USER, f"m{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates(offset=-1, timeout=0)] == ids[-1:]
    assert [u.update_id for u in await bot.get_updates(limit=5, timeout=0)] == ids[-1:]


async def test_limit_never_splits_copies_of_one_update(api: LocalBotAPI, bot: Bot) -> None:
    api.duplicate_next(2)
    first = api.send_text(USER, "one")
    second = api.send_text(USER, "two")
    batch = await bot.get_updates(limit=1, timeout=0)
    assert [u.update_id for u in batch] == [first] * 3
    assert [u.update_id for u in await bot.get_updates(offset=first + 1, timeout=0)] == [second]


async def test_newer_poll_terminates_older_one(api: LocalBotAPI, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=10))
    try:
        await api.wait_for_pending_poll()
        # A second process polling with the same token, as in a botched deployment.
        async with Bot(api.token, base_url=api.base_url) as second_instance:
            assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match=r"(?i)terminated by other getupdates request"):
            await asyncio.wait_for(older, timeout=2)
    finally:
        older.cancel()


async def test_stop_ends_a_pending_poll(api: LocalBotAPI, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    try:
        await api.wait_for_pending_poll()
        await asyncio.wait_for(api.stop(), timeout=3)
        assert await asyncio.wait_for(poll, timeout=2) == ()
    finally:
        poll.cancel()


async def test_wait_for_times_out_and_skips_failures(api: LocalBotAPI, bot: Bot) -> None:
    api.inject_error("sendMessage", 400, description="Bad Request: nope")
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "x")
    with pytest.raises(TimeoutError):
        await api.wait_for(method_is("sendMessage"), timeout=0.05)


# --------------------------------------------------------------------------------------
# The text formatter on its own
# --------------------------------------------------------------------------------------


def test_html_entities_use_utf16_offsets_and_nest() -> None:
    text, entities = parse_formatted_text(
        '😀 <b>bold <i>both</i></b> <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x = 1</code></pre> '
        "<blockquote expandable>q</blockquote> <tg-spoiler>s</tg-spoiler>",
        "HTML",
    )
    assert text == "😀 bold both link x = 1 q s"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 13, "length": 4, "url": "https://x.org/?a=1&b=2"},
        {"type": "pre", "offset": 18, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 24, "length": 1},
        {"type": "spoiler", "offset": 26, "length": 1},
    ]


def test_surrounding_whitespace_is_trimmed_with_entities() -> None:
    assert parse_formatted_text("\n  <b> hi</b>  \n", "HTML") == (
        "hi",
        [{"type": "bold", "offset": 0, "length": 2}],
    )


@pytest.mark.parametrize(
    ("source", "plain", "kinds"),
    [
        (
            r"*bold* _it_ __u__ ~s~ ||sp|| `c` 1\.5",
            "bold it u s sp c 1.5",
            ["bold", "italic", "underline", "strikethrough", "spoiler", "code"],
        ),
        (r"[site](https://x.org/a\)b)", "site", ["text_link"]),
        ("```py\nprint(1)\n```", "print(1)", ["pre"]),
        (">quoted\n>more\nafter", "quoted\nmore\nafter", ["blockquote"]),
    ],
)
def test_markdown_v2(source: str, plain: str, kinds: list[str]) -> None:
    text, entities = parse_formatted_text(source, "MarkdownV2")
    assert text == plain
    assert [e["type"] for e in entities] == kinds


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("1.5", "Character '.' is reserved"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("a - b", "Character '-' is reserved"),
    ],
)
def test_markdown_v2_errors(source: str, message: str) -> None:
    with pytest.raises(FormattingError, match=message):
        parse_formatted_text(source, "MarkdownV2")


def test_legacy_markdown() -> None:
    assert parse_formatted_text("*b* [x](https://x.org)", "Markdown") == (
        "b x",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "text_link", "offset": 2, "length": 1, "url": "https://x.org"},
        ],
    )
    with pytest.raises(FormattingError, match="Can't find end of the entity"):
        parse_formatted_text("snake_case", "Markdown")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_escaped_text_always_round_trips_through_html(text: str) -> None:
    plain, entities = parse_formatted_text(f"<b>{html.escape(text)}</b>", "HTML")
    assert plain == text.strip(" \t\r\n")
    expected = [{"type": "bold", "offset": 0, "length": len(plain.encode("utf-16-le")) // 2}]
    assert entities == (expected if plain else [])
