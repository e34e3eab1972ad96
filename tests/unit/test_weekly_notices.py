"""The weekly notices through the notifier: planned once per version, rendered per head."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services import weekly as wk
from bot.services.weekly import DeadlineInfo, LeadOption, Person, SubmissionView, SubmitResult
from bot.services.weekly.notices import render_request
from storage.db import Database
from storage.models import OutboxMessage

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 18, 9, tzinfo=SH)


def result(version: int = 7) -> SubmitResult:
    view = SubmissionView(
        "招商引资部",
        "2026-W47",
        2,
        "张三",
        NOW,
        False,
        (LeadOption(1, "L0001", "动力电池<项目>", "在谈"),),
        ("深圳，11月25日",),
        (),
        "",
    )
    info = DeadlineInfo(
        "2026-W47", datetime(2026, 11, 19, 17, tzinfo=SH), False, date(2026, 11, 19), None, None
    )
    heads = (Person(1201, "赵主任", None), Person(1205, "Jane", "en"))
    return SubmitResult(version, 2, "submitted", False, None, info, heads, view, (), (), True)


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_each_head_is_asked_once_per_version_however_often_it_is_planned(
    db: Database,
) -> None:
    async with db.session() as s:
        assert await wk.ask_heads(s, NOW, result(), default_locale="zh_CN") == 2
    async with db.session() as s:
        assert await wk.ask_heads(s, NOW, result(), default_locale="zh_CN") == 0
    async with db.session() as s:
        assert await wk.ask_heads(s, NOW, result(8), default_locale="zh_CN") == 2  # a new version
    planned = await rows(db)
    assert [(r.chat_id, r.locale) for r in planned] == [
        (1201, "zh_CN"),
        (1205, "en"),
        (1201, "zh_CN"),
        (1205, "en"),
    ]
    assert all(r.kind == "notify:weekly.head_card" for r in planned)


async def test_the_card_is_rendered_in_the_heads_language_with_its_two_buttons(
    db: Database,
) -> None:
    async with db.session() as s:
        await wk.ask_heads(s, NOW, result(), default_locale="zh_CN")
    zh, en = await rows(db)
    text, buttons = render_request(zh, NOW, "leadbot")
    assert "请确认：招商引资部 · 2026年第47周 周报（第 2 版）" in text
    assert "动力电池&lt;项目&gt;" in text  # user text escaped once, at rendering
    assert "截止 11月19日（周四）17:00" in text
    assert buttons == [
        [
            {"text": "✅ 确认", "callback_data": "wkc:7:ok"},
            {"text": "↩️ 退回", "callback_data": "wkc:7:ret"},
        ]
    ]
    text, buttons = render_request(en, NOW, "leadbot")
    assert "To confirm: 招商引资部" in text and buttons[0][0]["text"] == "✅ Confirm"


async def test_the_card_says_when_it_was_submitted_in_local_time(db: Database) -> None:
    """The clock is UTC; the head reads Shanghai time (the outbox renders without settings)."""
    utc = dataclasses.replace(result().view, submitted_at=datetime(2026, 11, 18, 1, 30, tzinfo=UTC))
    async with db.session() as s:
        await wk.ask_heads(
            s, NOW, dataclasses.replace(result(), view=utc), default_locale="zh_CN", zone=SH
        )
    zh, _en = await rows(db)
    text, _buttons = render_request(zh, NOW, "leadbot")
    assert "提交人：张三，11月18日（周三）09:30" in text, text
