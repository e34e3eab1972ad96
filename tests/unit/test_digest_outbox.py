"""The outbox carries the leaders' reports: a text and its .xlsx in one row, rows to one chat in order."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import NetworkError

from storage.db import Database
from tests.unit.test_outbox import NOW, FakeBot, outbox, plan, row, rows_by_chat

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")
LEADERS = -1001000000999


class DocumentBot(FakeBot):
    """FakeBot that also takes documents; ``doc_errors`` are raised on the next document sends."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.log: list[tuple[str, int, str]] = []
        self.doc_errors: list[Exception] = []

    async def send_message(self, chat_id: int, text: str, reply_markup: Any = None) -> Any:
        result = await super().send_message(chat_id, text, reply_markup)
        self.log.append(("text", chat_id, text.strip()))
        return result

    async def send_document(
        self, chat_id: int, document: bytes, filename: str, caption: str | None = None
    ) -> Any:
        await asyncio.sleep(self.delay)
        if self.doc_errors:
            raise self.doc_errors.pop(0)
        self.log.append(("file", chat_id, f"{filename}:{document.decode()}:{caption}"))
        return None


def report_row(key: str, text: str, data: bytes = b"xlsx") -> dict[str, Any]:
    document = {
        "filename": f"r_{key}.xlsx",
        "data": base64.b64encode(data).decode(),
        "caption": f"{text}（Excel）",
    }
    return row(LEADERS, kind="digest:month", key=key, text=text, params={"_document": document})


async def test_the_file_follows_its_text_in_the_same_row(db: Database) -> None:
    await plan(db, [report_row("2026-10", "十月通报")])
    bot = DocumentBot()
    report = await outbox(db, bot).drain(NOW)
    assert report.sent == 1
    assert bot.log == [
        ("text", LEADERS, "十月通报"),
        ("file", LEADERS, "r_2026-10.xlsx:xlsx:十月通报（Excel）"),
    ]
    assert (await rows_by_chat(db))[LEADERS].status == "sent"


async def test_a_failed_file_is_retried_without_sending_the_text_again(db: Database) -> None:
    await plan(db, [report_row("2026-10", "十月通报")])
    bot = DocumentBot()
    bot.doc_errors = [NetworkError("connection reset")]
    report = await outbox(db, bot).drain(NOW)
    assert report.sent == 1 and report.retried == 1
    assert [kind for kind, _, _ in bot.log] == ["text", "file"]  # the text went once


async def test_rows_to_one_chat_go_out_in_planning_order(db: Database) -> None:
    await plan(
        db,
        [report_row("2026-11-H2", "半月"), report_row("2026-11", "月报"), row(7, text="elsewhere")],
    )
    bot = DocumentBot(delay=0.001)
    await outbox(db, bot).drain(NOW)
    leaders = [(kind, text.split(":")[0]) for kind, chat, text in bot.log if chat == LEADERS]
    assert leaders == [
        ("text", "半月"),
        ("file", "r_2026-11-H2.xlsx"),
        ("text", "月报"),
        ("file", "r_2026-11.xlsx"),
    ]
    assert (7, "  elsewhere") in bot.sent


async def test_a_broken_file_fails_the_row_instead_of_stalling_the_queue(db: Database) -> None:
    broken = report_row("2026-10", "十月通报")
    broken["params"]["_document"]["data"] = "not base64!"
    await plan(db, [broken, row(7, text="next")])
    bot = DocumentBot()
    report = await outbox(db, bot).drain(NOW + timedelta(seconds=1))
    assert report.failed == 1 and report.sent == 1 and bot.log == [("text", 7, "next")]
    assert "render error" in ((await rows_by_chat(db))[LEADERS].error or "")
