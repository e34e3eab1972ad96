"""Log lines: secrets and phone numbers never reach them; JSON lines carry the update."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import Application, MessageHandler, filters

from bot.localapi import LocalBotAPI
from bot.operations.logging_setup import (
    bind_update,
    name_handlers,
    redact,
    setup_logging,
    unbind,
    update_scope,
)

TOKEN = "7123456789:AAH3kq_Zx-9PqLmNoPqRsTuVwXyZ0123456"


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    handler = setup_logging(
        logging.DEBUG, json=True, secrets=["hook-secret-value", "pg-password"], stream=stream
    )
    log = logging.getLogger("leadbot.test")
    try:
        yield stream, log
    finally:
        logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_bot_token_is_redacted_but_the_bot_id_stays() -> None:
    assert redact(f"token is {TOKEN}.") == "token is 7123456789:[redacted]."


def test_bot_api_urls_lose_the_token_whatever_its_shape() -> None:
    url = f"POST https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert redact(url) == "POST https://api.telegram.org/bot[redacted]/sendMessage"
    assert (
        redact("http://127.0.0.1:8081/bot123456:LOCAL-TEST-TOKEN/getMe")
        == "http://127.0.0.1:8081/bot[redacted]/getMe"
    )
    assert redact("/file/bot123:abc/documents/x.xlsx") == "/file/bot[redacted]/documents/x.xlsx"
    assert (
        redact("webhook at https://bot.example.com/telegram")
        == "webhook at https://bot.example.com/telegram"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("联系人 张三 13812345678", "联系人 张三 138******78"),
        ("tel:+8613912345678;", "tel:139******78;"),
        ("电话 138-1234-5678 或 199 8765 4321", "电话 138******78 或 199******21"),
        ("15000000000,17799998888", "150******00,177******88"),
    ],
)
def test_chinese_mobile_numbers_keep_only_first_three_and_last_two(
    text: str, expected: str
) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "update 1381234567890 handled",  # a longer run of digits is an id, not a phone
        "chat -1001381234567",
        "user 12345678901",  # starts with 12: not a mobile prefix
        "amount 5000万, 2026-11-17T02:00:00",
    ],
)
def test_ids_and_ordinary_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_extra_secrets_and_arguments_and_tracebacks_are_redacted(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, log = capture
    log.info("setWebhook secret_token=%s password=%s", "hook-secret-value", "pg-password")
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getMe failed for 13812345678")
    except RuntimeError:
        log.exception("request failed")
    out = stream.getvalue()
    assert "hook-secret-value" not in out and "pg-password" not in out
    assert TOKEN.split(":")[1] not in out and "13812345678" not in out
    first, second = lines(stream)
    assert first["message"] == "setWebhook secret_token=[redacted] password=[redacted]"
    assert "bot[redacted]/getMe failed for 138******78" in str(second["exc"])


def test_json_line_fields_outside_an_update(capture: tuple[io.StringIO, logging.Logger]) -> None:
    stream, log = capture
    log.warning("网络 %s", "超时")
    (entry,) = lines(stream)
    assert (
        entry["level"] == "WARNING"
        and entry["logger"] == "leadbot.test"
        and entry["message"] == "网络 超时"
    )
    assert str(entry["ts"]).endswith("+00:00")
    assert not {"update_id", "user_id", "chat_id", "handler"} & entry.keys()


def _update(update_id: int = 42, user_id: int = 777, text: str = "hello") -> Update:
    user = User(user_id, "张三", False)
    chat = Chat(user_id, Chat.PRIVATE)
    return Update(update_id, message=Message(1, None, chat, from_user=user, text=text))  # type: ignore[arg-type]


def test_json_line_carries_update_and_user_inside_an_update(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, log = capture
    with update_scope(_update()):
        log.info("handling")
    log.info("after")
    inside, after = lines(stream)
    assert inside["update_id"] == 42 and inside["user_id"] == 777 and inside["chat_id"] == 777
    assert "update_id" not in after


async def handle_hello(update: Update, context: object) -> None:
    logging.getLogger("handlers.hello").info("said hello")


async def test_records_name_the_handler_that_ran(
    capture: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, _ = capture
    api = LocalBotAPI()
    await api.start()
    app = Application.builder().token(api.token).base_url(api.base_url).updater(None).build()
    app.add_handler(MessageHandler(filters.TEXT, handle_hello))
    name_handlers(app)
    name_handlers(app)  # twice is harmless
    await app.initialize()
    try:
        scope = bind_update(_update(update_id=7))
        try:
            await app.process_update(_update(update_id=7))
        finally:
            unbind(scope)
    finally:
        await app.shutdown()
        await api.stop()
    (entry,) = [e for e in lines(stream) if e["logger"] == "handlers.hello"]
    assert entry["handler"] == f"{__name__}.handle_hello" and entry["update_id"] == 7


def test_text_format_appends_the_context() -> None:
    stream = io.StringIO()
    handler = setup_logging(logging.INFO, json=False, stream=stream)
    try:
        with update_scope(_update(update_id=9, user_id=5)):
            logging.getLogger("leadbot.test").info("call %s", f"/bot{TOKEN}/getMe")
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.endswith("leadbot.test: call /bot[redacted]/getMe [update=9 user=5 chat=5]")
