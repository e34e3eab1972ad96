"""Mixed channels: DingTalk people and groups get the weekly cycle's reminders, once.

The Telegram application (harness) owns the scheduler and the outbox; the DingTalk adapter
runs on the real SDK against the DingTalk stand-in, and the outbox sends DingTalk rows
through it (handlers/dingtalk/outbox_bridge.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.dingtalk_standin import CHATBOT_TOPIC, DingTalkStandIn, SentMessage
from bot.services import invites, linking
from bot.services.access import resolve_actor
from handlers.dingtalk.adapter import DingTalkAdapter
from handlers.dingtalk.openapi import OpenApiClient
from handlers.dingtalk.outbox_bridge import route_outbox_to_dingtalk
from handlers.dingtalk.sdk import dingtalk_stream, point_sdk_at, run_stream
from storage.models import PRINCIPAL_BASE, Member, OutboxMessage, OutboxStatus
from tests.e2e.harness import Harness
from tests.e2e.test_weekly import at, reminder_counts, tick

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

BATCH = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND = "/v1.0/robot/groupMessages/send"
DT_ADMIN, DT_LIAISON, DT_GROUP = "dtadmin", "dtliaison", "cidcaizheng"


class Mixed:
    def __init__(self, h: Harness, standin: DingTalkStandIn, adapter: DingTalkAdapter) -> None:
        self.h, self.standin, self.adapter = h, standin, adapter

    async def say(self, staff: str, text: str, group: str | None = None) -> str:
        start = len(self.standin.messages())
        msg_id = await asyncio.to_thread(self.standin.send_text, staff, text, group=group)
        assert msg_id is not None
        await asyncio.to_thread(self.standin.wait_acked, msg_id)
        return "\n".join(m.text for m in self.standin.messages(start=start))

    async def messages(self, staff: str, text: str) -> list[SentMessage]:
        """Send ``text`` 1:1 and return the robot's replies (cards with their buttons)."""
        start = len(self.standin.messages())
        msg_id = await asyncio.to_thread(self.standin.send_text, staff, text)
        assert msg_id is not None
        await asyncio.to_thread(self.standin.wait_acked, msg_id)
        return self.standin.messages(start=start)

    async def press(self, staff: str, label: str) -> list[SentMessage]:
        """Press ``label`` on the latest card to ``staff`` that has it."""
        card = next(
            m for m in reversed(self.standin.messages(("user", staff))) if label in dict(m.buttons)
        )
        start = len(self.standin.messages())
        msg_id = await asyncio.to_thread(self.standin.press, staff, card, label)
        assert msg_id is not None
        await asyncio.to_thread(self.standin.wait_acked, msg_id)
        return self.standin.messages(start=start)

    async def restart(self) -> None:
        await self.h.restart()
        assert self.h.app is not None
        route_outbox_to_dingtalk(self.h.app, self.adapter)

    def received(self, to: tuple[str, str], marker: str) -> int:
        return sum(1 for m in self.standin.messages(to) if marker in m.text)


@pytest.fixture
async def mixed(world_harness: Harness) -> AsyncIterator[Mixed]:
    h = world_harness
    assert h.app is not None
    # No redelivery by the clock (these tests are not about it): a frame redelivered while the
    # first delivery is still sending its replies is ACKed at once as a duplicate, and
    # wait_acked would return before the replies (a loaded machine took > 0.5 s).
    standin = DingTalkStandIn(ack_timeout=3600)
    point_sdk_at(standin.start())
    standin.add_user(DT_ADMIN, "钉钉管理员")
    standin.add_user(DT_LIAISON, "钉钉联络员")
    standin.add_group(DT_GROUP, "财政局招商群")
    h.settings.dingtalk_admins = [DT_ADMIN]
    api = OpenApiClient(
        standin.base_url,
        standin.client_id,
        standin.client_secret,
        standin.robot_code,
        rate_limit_wait=0.05,
    )
    adapter = DingTalkAdapter(
        h.db, h.settings, h.clock.now, api, engine=h.app.forms, services=h.app.services
    )
    route_outbox_to_dingtalk(h.app, adapter)
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential(standin.client_id, standin.client_secret)
    )
    client.register_callback_handler(CHATBOT_TOPIC, adapter.sdk_handler())
    task = asyncio.create_task(run_stream(client, retry_after=0.1))
    try:
        await asyncio.to_thread(standin.wait_connected)
        yield Mixed(h, standin, adapter)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await api.close()
        standin.stop()


async def test_dingtalk_liaison_and_group_get_each_reminder_once_across_restarts_and_throttling(
    mixed: Mixed,
) -> None:
    h = mixed.h
    async with h.db.session() as s:
        [info] = await invites.create_invites(
            s,
            h.clock.now(),
            1000,
            "招商引资部",
            [invites.InviteRequest(invites.Role.LIAISON, 1)],
            timedelta(days=1),
            False,
        )
    assert "欢迎" in await mixed.say(DT_LIAISON, info.token)
    assert "财政局" in await mixed.say(DT_ADMIN, "绑定 财政局", group=DT_GROUP)

    mixed.standin.throttle(BATCH, 2)  # DingTalk's flow control, twice
    mixed.standin.throttle(GROUP_SEND, 1)
    await tick(h, at(18, 17))
    await mixed.restart()
    await tick(h, at(18, 17, 1))  # the new process runs every job at once
    await mixed.restart()
    mixed.standin.server_error(BATCH, 1)
    await tick(h, at(19, 9))
    await tick(h, at(19, 9, 5))

    for marker in ("还剩 24 小时", "还剩 8 小时"):
        assert mixed.received(("user", DT_LIAISON), marker) == 1, marker
        assert mixed.received(("group", DT_GROUP), marker) == 1, marker
    throttled = [c for c in mixed.standin.recorder.calls if c.status == 403]
    assert len(throttled) == 3
    # The Telegram group of 财政局 lost its binding to the DingTalk group; others unchanged.
    assert reminder_counts(h, "还剩 24 小时").get(-1001000000004) is None
    assert reminder_counts(h, "还剩 24 小时")[1101] == 1


async def test_a_dingtalk_person_who_left_fails_permanently_and_is_not_retried(
    mixed: Mixed,
) -> None:
    h = mixed.h
    async with h.db.session() as s:
        [info] = await invites.create_invites(
            s,
            h.clock.now(),
            1000,
            "招商引资部",
            [invites.InviteRequest(invites.Role.LIAISON, 1)],
            timedelta(days=1),
            False,
        )
    assert "欢迎" in await mixed.say(DT_LIAISON, info.token)
    mixed.standin.remove_user(DT_LIAISON)  # left the organisation
    before = len(mixed.standin.recorder.calls_to(BATCH))
    await tick(h, at(18, 17))
    await tick(h, at(18, 17, 5))
    async with h.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    [row] = [r for r in rows if r.chat_id <= -PRINCIPAL_BASE and r.kind.startswith("remind:")]
    assert row.status == OutboxStatus.FAILED and "left the organisation" in (row.error or "")
    batch_calls = [
        c for c in mixed.standin.recorder.calls_to(BATCH)[before:] if DT_LIAISON in str(c.body)
    ]
    assert len(batch_calls) == 1  # not retried


async def test_the_reminders_button_opens_the_weekly_form_on_dingtalk(mixed: Mixed) -> None:
    """Telegram's 开始填写 is a deep link (t.me/…?start=weekly); on DingTalk the button
    sends /start weekly, which opens the same form; in a group it points to the 1:1 chat."""
    h = mixed.h
    async with h.db.session() as s:
        [info] = await invites.create_invites(
            s,
            h.clock.now(),
            1000,
            "招商引资部",
            [invites.InviteRequest(invites.Role.LIAISON, 1)],
            timedelta(days=1),
            False,
        )
    assert "欢迎" in await mixed.say(DT_LIAISON, info.token)
    await tick(h, at(18, 17))
    [reminder] = [
        m for m in mixed.standin.messages(("user", DT_LIAISON)) if "还剩 24 小时" in m.text
    ]
    assert [label for label, _ in reminder.buttons] == ["开始填写"]
    [form] = await mixed.press(DT_LIAISON, "开始填写")
    assert "招商引资部 · 2026年第47周 周报" in form.text and "第 1/4 项" in form.text
    assert "私聊" in await mixed.say(DT_LIAISON, "/start weekly", group=DT_GROUP)


async def test_a_linked_member_hears_the_bot_where_they_last_wrote(mixed: Mixed) -> None:
    """A Telegram liaison links DingTalk (/link): reminders come to DingTalk from then on; once
    they write on Telegram again, the next reminder is on Telegram — never on both."""
    h, staff = mixed.h, "zhang_on_dingtalk"
    mixed.standin.add_user(staff, "张三")
    async with h.db.session() as s:  # the code /link gives on Telegram (tests/e2e/test_link.py)
        zhang = await resolve_actor(s, h.settings, 1101, "张三", None)
        code = await linking.new_code(s, h.clock.now(), zhang)
    linked = await mixed.say(staff, f"/link {code}")
    assert "已关联" in linked and "提醒和通知今后发到钉钉" in linked
    await tick(h, at(18, 17))
    assert mixed.received(("user", staff), "还剩 24 小时") == 1
    assert reminder_counts(h, "还剩 24 小时").get(1101) is None
    await h.send(1101, "/status")  # writes on Telegram again
    await tick(h, at(19, 9))
    assert reminder_counts(h, "还剩 8 小时")[1101] == 1
    assert mixed.received(("user", staff), "还剩 8 小时") == 0
    await mixed.say(staff, "状态")  # and back on DingTalk
    async with h.db.session() as s:
        member = await s.scalar(select(Member).where(Member.tg_user_id == 1101))
    assert member is not None and member.notify_via == "dingtalk"
