"""DingTalk users' stories, through the real dingtalk-stream SDK against the stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.dingtalk_standin import CHATBOT_TOPIC, DingTalkStandIn, SentMessage
from bot.services import Services, invites, units
from bot.services.identities import principal_lookup
from handlers.dingtalk.adapter import DingTalkAdapter
from handlers.dingtalk.openapi import OpenApiClient
from handlers.dingtalk.runtime import default_engine
from handlers.dingtalk.sdk import dingtalk_stream, point_sdk_at, run_stream
from storage.db import Database
from storage.models import ChannelMessage, Chat, Lead, Member, Role

ADMIN_STAFF = "admin001"


class DingTalkWorld:
    """The stand-in, the bot on the real SDK, and helpers that read like the story."""

    def __init__(self, standin: DingTalkStandIn, db: Database, adapter: DingTalkAdapter) -> None:
        self.standin, self.db, self.adapter = standin, db, adapter
        self.units: set[str] = set()

    async def say(self, staff_id: str, text: str, group: str | None = None) -> list[SentMessage]:
        """Send ``text`` and return the replies the robot made to it."""
        start = len(self.standin.messages())
        msg_id = await asyncio.to_thread(self.standin.send_text, staff_id, text, group=group)
        assert msg_id is not None
        await asyncio.to_thread(self.standin.wait_acked, msg_id)
        return self.standin.messages(start=start)

    async def send_file(self, staff_id: str, name: str | None, data: bytes) -> list[SentMessage]:
        """Send a file (``name`` None: a picture) and return the replies the robot made to it."""
        start = len(self.standin.messages())
        if name is None:
            msg_id = await asyncio.to_thread(self.standin.send_picture, staff_id, data)
        else:
            msg_id = await asyncio.to_thread(self.standin.send_file, staff_id, name, data)
        assert msg_id
        await asyncio.to_thread(self.standin.wait_acked, msg_id)
        return self.standin.messages(start=start)

    async def press(self, staff_id: str, label: str) -> list[SentMessage]:
        """Press the button ``label`` on the latest card that has it."""
        card = next(
            m
            for m in reversed(self.standin.messages(("user", staff_id)))
            if label in dict(m.buttons)
        )
        start = len(self.standin.messages())
        msg_id = await asyncio.to_thread(self.standin.press, staff_id, card, label)
        assert msg_id is not None
        await asyncio.to_thread(self.standin.wait_acked, msg_id)
        return self.standin.messages(start=start)

    async def join(self, staff_id: str, unit: str) -> None:
        [reply] = await self.say(staff_id, await self.invite(unit))
        assert "欢迎" in reply.text

    async def invite(self, unit: str, role: str = "liaison") -> str:
        async with self.db.session() as s:
            if unit not in self.units:
                await units.add_unit(s, self.adapter.now(), unit)
                self.units.add(unit)
            [info] = await invites.create_invites(
                s,
                self.adapter.now(),
                1,
                unit,
                [invites.InviteRequest(invites.Role(role), 1)],
                timedelta(days=1),
                False,
            )
        return info.token


@pytest.fixture
async def world(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[DingTalkWorld]:
    async with dingtalk_world(sqlite_db, clock) as w:
        yield w


@contextlib.asynccontextmanager
async def dingtalk_world(
    sqlite_db: Database, clock: ManualClock, **settings_extra: Any
) -> AsyncIterator[DingTalkWorld]:
    """The stand-in and the bot on the real SDK; ``settings_extra``: e.g. ``rules_file="kaihua"``."""
    standin = DingTalkStandIn(ack_timeout=3600)  # redelivery is driven: redeliver_unacked()
    point_sdk_at(standin.start())
    people = [
        (ADMIN_STAFF, "管理员"),
        ("liaison1", "王联络"),
        ("liaison2", "李联络"),
        ("stranger", "路人"),
    ]
    for staff, nick in people:
        standin.add_user(staff, nick)
    standin.add_group("cidunit1", "招商一局工作群")
    settings = Settings(
        database_url=sqlite_db.url,
        dingtalk_client_id=standin.client_id,
        dingtalk_client_secret=standin.client_secret,
        dingtalk_robot_code=standin.robot_code,
        dingtalk_admins=[ADMIN_STAFF],
        **settings_extra,
    )
    api = OpenApiClient(
        standin.base_url,
        standin.client_id,
        standin.client_secret,
        standin.robot_code,
        rate_limit_wait=0.05,
    )
    adapter = DingTalkAdapter(
        sqlite_db,
        settings,
        clock.now,
        api,
        engine=default_engine(settings),
        services=Services(db=sqlite_db, clock=clock, settings=settings),
    )
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential(standin.client_id, standin.client_secret)
    )
    client.register_callback_handler(CHATBOT_TOPIC, adapter.sdk_handler())
    task = asyncio.create_task(run_stream(client, retry_after=0.1))
    try:
        await asyncio.to_thread(standin.wait_connected)
        yield DingTalkWorld(standin, sqlite_db, adapter)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await api.close()
        standin.stop()


async def test_stranger_gets_the_polite_refusal_and_no_data(world: DingTalkWorld) -> None:
    [reply] = await world.say("stranger", "排名")
    assert reply.to == ("user", "stranger")
    assert "仅供已登记的单位使用" in reply.text
    async with world.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Member)) == 0


async def test_member_joins_by_sending_the_invite_code(world: DingTalkWorld) -> None:
    token = await world.invite("招商一局")
    [reply] = await world.say("liaison1", token)
    assert "欢迎" in reply.text and "招商一局" in reply.text and "/report（报送线索）" in reply.text
    [help_reply] = await world.say("liaison1", "帮助")
    assert "招商一局" in help_reply.text
    async with world.db.session() as s:
        member = (await s.scalars(select(Member))).one()
    assert member.tg_user_id < 0 and member.display_name == "王联络"


async def test_redelivered_frame_is_handled_once(world: DingTalkWorld) -> None:
    token = await world.invite("招商一局")
    world.standin.lose_acks(1)
    msg_id = await asyncio.to_thread(world.standin.send_text, "liaison1", token)
    await asyncio.to_thread(world.standin.wait_for_messages, 1, ("user", "liaison1"))
    assert await asyncio.to_thread(world.standin.redeliver_unacked) == 1  # its ACK is lost
    await asyncio.to_thread(world.standin.wait_acked, msg_id)
    assert await asyncio.to_thread(world.standin.redeliver_unacked) == 0  # ACKed: no third
    assert world.standin.deliveries(_msg_id(world)) == 2
    joined = [m for m in world.standin.messages() if "欢迎" in m.text or "无需重复" in m.text]
    assert len(joined) == 1, joined
    async with world.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ChannelMessage)) == 1


def _msg_id(world: DingTalkWorld) -> str:
    frame = world.standin.recorder.calls_to("frame")[-1].body
    return str(json.loads(frame["data"])["msgId"])


async def test_admin_binds_a_group_to_a_unit_by_typing_the_command_in_it(
    world: DingTalkWorld,
) -> None:
    await world.invite("招商一局")
    [reply] = await world.say(ADMIN_STAFF, "/bind 招商一局", group="cidunit1")
    assert reply.to == ("group", "cidunit1") and "招商一局" in reply.text
    async with world.db.session() as s:
        chat = (await s.scalars(select(Chat))).one()
    assert chat.tg_chat_id < 0 and chat.title == "招商一局工作群"
    [refused] = await world.say("liaison1", "/bind 招商一局", group="cidunit1")
    assert "仅供已登记" in refused.text  # not a member yet: no data, same refusal


async def test_markdown_and_html_injection_is_escaped(world: DingTalkWorld) -> None:
    token = await world.invite("招商一局")
    await world.say("liaison1", token)
    async with world.db.session() as s:
        member = (await s.scalars(select(Member))).one()
        member.display_name = "**王**<font color=red>[点我](http://evil)</font>"
    [reply] = await world.say("liaison1", "/start")
    assert "\\*\\*王\\*\\*&lt;font color=red&gt;\\[点我\\]\\(http://evil\\)" in reply.text
    assert "<font" not in reply.text


async def test_huge_text_is_refused_with_the_limit(world: DingTalkWorld) -> None:
    token = await world.invite("招商一局")
    await world.say("liaison1", token)
    [reply] = await world.say("liaison1", "线" * 5000)
    assert "5000" in reply.text and "4000" in reply.text


async def test_file_too_big_is_refused(world: DingTalkWorld) -> None:
    token = await world.invite("招商一局")
    await world.say("liaison1", token)
    big = b"x" * (20 * 1024 * 1024 + 1)
    [reply] = await world.send_file("liaison1", "计划书.pdf", big)
    assert "太大" in reply.text and "20 MB" in reply.text


async def test_an_unknown_command_and_a_cancel_with_nothing_open_say_so(
    world: DingTalkWorld,
) -> None:
    await world.join("liaison1", "招商一局")
    [reply] = await world.say("liaison1", "/importunitz")
    assert "没有这个命令" in reply.text and "暂未开放" not in reply.text
    [reply] = await world.say("liaison1", "/cancel")
    assert "没有正在填写的表单" in reply.text
    [reply] = await world.say("liaison1", "/importunits")
    assert "此操作仅限管理员" in reply.text
    [reply] = await world.say(ADMIN_STAFF, "/importunits")
    assert "请直接发送单位表格" in reply.text  # the sheet is a file sent to the robot


def test_every_registered_command_is_served_on_dingtalk() -> None:
    """No command answers 「暂未开放」 any more: each one in the registry (bot/assembly/commands.py)
    is served by the DingTalk adapter, or taken before it (/link, and /cancel by the engine)."""
    from handlers.dingtalk import commands as dt_commands
    from handlers.dingtalk.adapter import REGISTERED, SERVED

    served = {*SERVED, *dt_commands.READS, "link", "cancel"}
    assert REGISTERED - served == set()


async def fill_report(world: DingTalkWorld, staff: str, company: str) -> SentMessage:
    """Answer every question of 报送线索 with buttons; return the summary card."""
    [first] = await world.say(staff, "报送线索")
    assert "项目名称" in first.text
    await world.say(staff, "动力电池项目")
    industry = (await world.say(staff, company))[0]
    if "是同一家吗" in industry.text:
        industry = (await world.press(staff, "不是，继续填写"))[0]
    assert industry.msg_key.startswith("sampleActionCard")
    await world.press(staff, "新能源")
    await world.say(staff, "一亿两千万")
    await world.press(staff, "省外")
    replies = await world.press(staff, "在谈")
    for _ in range(7):
        replies = await world.press(staff, "跳过")
    return replies[-1]


async def test_a_full_report_with_buttons_is_saved_and_a_duplicate_scores_nothing(
    world: DingTalkWorld,
) -> None:
    await world.join("liaison1", "招商一局")
    summary = await fill_report(world, "liaison1", "宁德时代新能源科技股份有限公司")
    assert "请核对线索信息" in summary.text and "1\\.2亿元" in summary.text
    assert [t for t, _ in summary.buttons] == ["✅ 保存", "✏️ 修改", "取消"]
    [saved] = await world.press("liaison1", "✅ 保存")
    assert "已登记 L0001" in saved.text and "招商一局" in saved.text
    await world.join("liaison2", "招商二局")
    await fill_report(world, "liaison2", "宁德时代新能源科技(股份)有限公司")
    [dup] = await world.press("liaison2", "✅ 保存")
    assert "该企业已由「招商一局」" in dup.text and "不计分" in dup.text
    async with world.db.session() as s:
        leads = (await s.scalars(select(Lead).order_by(Lead.id))).all()
    assert [lead.amount_wan for lead in leads] == [Decimal("12000")] * 2
    assert leads[1].duplicate_of == leads[0].id


async def test_seed004_4_1_kaihua_report_asks_tax_and_share_on_dingtalk(
    sqlite_db: Database, clock: ManualClock
) -> None:
    """The same form definition on DingTalk: under kaihua a 现代服务业 project is asked its tax
    after the amount and its 县外投资比例 after the origin, and both are stored."""
    async with dingtalk_world(sqlite_db, clock, rules_file="kaihua") as world:
        await world.join("liaison1", "招商一局")
        await world.say("liaison1", "报送线索")
        await world.say("liaison1", "区域总部项目")
        await world.say("liaison1", "某某商贸有限公司")
        await world.press("liaison1", "现代服务业")
        [tax] = await world.say("liaison1", "3000万")
        assert "税收" in tax.text and "跳过" in dict(tax.buttons)
        await world.say("liaison1", "20万")
        [share] = await world.press("liaison1", "省外")
        assert "县外投资比例" in share.text
        await world.say("liaison1", "35%")
        replies = await world.press("liaison1", "在谈")
        replies = await world.press("liaison1", "完成")
        for _ in range(6):
            replies = await world.press("liaison1", "跳过")
        assert "县外投资比例" in replies[-1].text
        [saved] = await world.press("liaison1", "✅ 保存")
        assert "已登记 L0001" in saved.text
        async with world.db.session() as s:
            lead = (await s.scalars(select(Lead))).one()
        from tests.e2e.test_report_seed004 import tax_of

        assert lead.outside_share == Decimal(35)
        assert [a for _, a in await tax_of(world.db, lead.id)] == [Decimal(20)]


async def test_a_button_of_an_older_card_is_stale(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    await world.say("liaison1", "/report")
    await world.say("liaison1", "动力电池项目")
    await world.say("liaison1", "某某科技有限公司")
    await world.press("liaison1", "新能源")  # now at the amount question
    card = next(m for m in world.standin.messages() if "新能源" in dict(m.buttons))
    msg_id = await asyncio.to_thread(world.standin.press, "liaison1", card, "新能源")
    assert msg_id
    await asyncio.to_thread(world.standin.wait_acked, msg_id)
    assert "这个按钮已失效" in world.standin.messages()[-1].text


async def test_rank_and_score_through_the_same_services(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    [rank] = await world.say("liaison1", "排名")
    assert "招商一局" in rank.text and "排名" in rank.text
    [score] = await world.say("liaison1", "得分")
    assert "招商一局" in score.text
    [group_rank] = await world.say("liaison1", "/rank", group="cidunit1")
    assert group_rank.to == ("group", "cidunit1") and "招商一局" in group_rank.text
    kinds = [label for label, _ in rank.buttons]
    assert len(kinds) == 4 and kinds[0] == "本周" and any(k.startswith("• ") for k in kinds)
    [week] = await world.press("liaison1", "本周")  # the period buttons, as on Telegram
    assert "招商一局" in week.text and "• 本周" in dict(week.buttons)
    assert week.text != rank.text


async def test_a_throttled_reply_waits_and_is_sent_once(world: DingTalkWorld) -> None:
    world.standin.throttle("/v1.0/robot/oToMessages/batchSend", 2)
    [reply] = await world.say("stranger", "帮助")
    assert "仅供已登记的单位使用" in reply.text
    assert len(world.standin.recorder.calls_to("/v1.0/robot/oToMessages/batchSend")) == 3


async def test_files_sent_into_the_report_are_kept_and_claimed_by_the_lead(
    world: DingTalkWorld,
) -> None:
    """A downloadCode lapses: the bytes are fetched at once, kept in the database and
    linked to the lead by its save, so the web card (and 重新接收附件 on Telegram) opens them."""
    from bot.services import attachments
    from bot.services.access import Actor
    from storage.models import WebFile

    await world.join("liaison1", "招商一局")
    await world.say("liaison1", "报送线索")
    await world.say("liaison1", "动力电池项目")
    await world.say("liaison1", "宁德时代新能源科技股份有限公司")
    await world.press("liaison1", "新能源")
    await world.say("liaison1", "一亿两千万")
    await world.press("liaison1", "省外")
    replies = await world.press("liaison1", "在谈")
    for _ in range(6):  # tags, foreign, contact, phone, channel, notes
        replies = await world.press("liaison1", "跳过")
    assert "附件" in replies[-1].text
    plan = b"%PDF-1.4 " + bytes(range(256)) * 40
    picture = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    await world.send_file("liaison1", "项目投资计划书.pdf", plan)
    await world.send_file("liaison1", None, picture)
    await world.press("liaison1", "完成")
    [saved] = await world.press("liaison1", "✅ 保存")
    assert "已登记 L0001" in saved.text
    async with world.db.session() as s:
        lead = (await s.scalars(select(Lead))).one()
        rows = (await s.scalars(select(WebFile).order_by(WebFile.id))).all()
        assert [(a["kind"], a["name"]) for a in lead.attachments] == [
            ("document", "项目投资计划书.pdf"),
            ("photo", "图片.png"),
        ]
        assert [r.lead_id for r in rows] == [lead.id, lead.id]
        leader = Actor(0, "领导", "zh_CN", role=Role.LEADER)
        token = attachments.token_of(lead.attachments[0]["file_id"])
        assert token is not None
        assert (await attachments.read(s, leader, token)).data == plan


async def test_a_telegram_member_links_their_dingtalk_account_with_a_one_time_code(
    world: DingTalkWorld,
) -> None:
    """/link on Telegram gives the code (the service the Telegram command calls); sent to
    the robot 1:1, the DingTalk account becomes the same member: unit, role and leads."""
    from bot.services import linking
    from bot.services.access import resolve_actor

    token = await world.invite("招商一局")
    async with world.db.session() as s:
        await invites.redeem(s, world.adapter.now(), token, 777001, "王五", None)
    async with world.db.session() as s:
        tg = await resolve_actor(s, world.adapter.settings, 777001, "王五", None)
        code = await linking.new_code(s, world.adapter.now(), tg)
    [refused] = await world.say("liaison1", "报送线索")
    assert "仅供已登记的单位使用" in refused.text  # a stranger on DingTalk so far
    [wrong] = await world.say("liaison1", "/link ABCD-EFGH")
    assert "关联码无效或已过期" in wrong.text
    [done] = await world.say("liaison1", f"关联 {code.lower()}")  # typed loosely
    assert "已关联" in done.text and "王五" in done.text and "招商一局" in done.text
    [form] = await world.say("liaison1", "报送线索")
    assert "项目名称" in form.text  # the Telegram member's unit, on DingTalk
    [again] = await world.say("liaison1", f"/link {code}")
    assert "已是成员" in again.text  # used, and this account is a member now
    async with world.db.session() as s:
        principal = await principal_lookup(s, "dingtalk", "user", "liaison1")
    assert principal == 777001


async def test_a_link_code_lapses_after_ten_minutes_and_only_works_in_1to1(
    world: DingTalkWorld, clock: ManualClock
) -> None:
    from bot.services import linking
    from bot.services.access import resolve_actor

    token = await world.invite("招商一局")
    async with world.db.session() as s:
        await invites.redeem(s, world.adapter.now(), token, 777002, "赵六", None)
    async with world.db.session() as s:
        tg = await resolve_actor(s, world.adapter.settings, 777002, "赵六", None)
        code = await linking.new_code(s, world.adapter.now(), tg)
    [usage] = await world.say("liaison2", "/link")
    assert "/link" in usage.text and "Telegram" in usage.text
    [in_group] = await world.say("liaison2", f"/link {code}", group="cidunit1")
    assert "单聊" in in_group.text  # a code said in a group is not taken
    clock.advance(timedelta(minutes=11))
    [late] = await world.say("liaison2", f"/link {code}")
    assert "已过期" in late.text
