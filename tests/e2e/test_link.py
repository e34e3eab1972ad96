"""``/link`` on Telegram: a one-time code for the member's DingTalk account (docs/dingtalk.md).

The DingTalk half (the code sent to the robot) is in tests/e2e/test_dingtalk.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.assembly.clock import ManualClock
from storage.db import Database
from storage.models import LinkCode
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness

ZHANG, STRANGER = 1101, 4242
CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}")


@pytest.fixture
async def with_dingtalk(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[Harness]:
    settings = make_settings(
        sqlite_db.url,
        dingtalk_client_id="dingclient",
        dingtalk_client_secret="secret",
        dingtalk_robot_code="dingclient",
    )
    h = Harness(sqlite_db, clock, settings)
    await h.start()
    await h.seed()
    try:
        yield h
    finally:
        await h.close()


async def test_link_gives_a_short_one_time_code_kept_only_hashed(with_dingtalk: Harness) -> None:
    h = with_dingtalk
    assert "/link" in (await h.send(ZHANG, "/help")).text
    reply = (await h.send(ZHANG, "/link")).text
    found = CODE.search(reply)
    assert found is not None and "10 分钟" in reply and "请勿转发" in reply
    second = CODE.search((await h.send(ZHANG, "/link")).text)
    assert second is not None and second.group() != found.group()
    async with h.db.session() as s:
        rows = (await s.scalars(select(LinkCode))).all()
    assert len(rows) == 2 and all(r.principal_id == ZHANG for r in rows)
    assert all(found.group().replace("-", "") not in r.code_hash for r in rows)


async def test_link_is_private_and_for_members(with_dingtalk: Harness) -> None:
    h = with_dingtalk
    h.user(STRANGER, "路人")
    assert CODE.search((await h.send(STRANGER, "/link")).text) is None
    group = -1001000000001
    reply = (await h.send(ZHANG, "/link", chat_id=group)).text
    assert CODE.search(reply) is None and "私聊" in reply


async def test_without_dingtalk_there_is_nothing_to_link(world_harness: Harness) -> None:
    h = world_harness
    assert "/link" not in (await h.send(ZHANG, "/help")).text
    assert "没有接入钉钉" in (await h.send(ZHANG, "/link")).text
