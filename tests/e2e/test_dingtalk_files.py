"""Files and pictures sent *to* DingTalk, through the real SDK against the stand-in: a lead's
附件 button, a leader's /digest workbook and /board picture, outbox rows that carry a file.
Each file is uploaded to the media store (``/media/upload``) and sent as ``sampleFile`` /
``sampleImageMsg``; the tests read back the bytes the recipient would open."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.dingtalk_standin import SentMessage
from storage.models import PRINCIPAL_BASE, Lead, OutboxMessage, OutboxStatus
from tests.e2e.test_dingtalk import DingTalkWorld
from tests.e2e.test_dingtalk import world as world  # the fixture, shared
from tests.e2e.test_dingtalk_reminders import DT_ADMIN, DT_GROUP, Mixed
from tests.e2e.test_dingtalk_reminders import mixed as mixed  # the fixture, shared

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

MEDIA = "/media/upload"
SH = ZoneInfo("Asia/Shanghai")
PLAN = b"%PDF-1.4 " + bytes(range(256)) * 40
PICTURE = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _files(sent: list[SentMessage]) -> list[SentMessage]:
    return [m for m in sent if m.msg_key in ("sampleFile", "sampleImageMsg")]


async def _report_with_files(world: DingTalkWorld) -> None:
    """报送线索 with a plan and a picture sent into its 附件 step, saved as L0001."""
    await world.join("liaison1", "招商一局")
    await world.say("liaison1", "报送线索")
    await world.say("liaison1", "动力电池项目")
    await world.say("liaison1", "宁德时代新能源科技股份有限公司")
    await world.press("liaison1", "新能源")
    await world.say("liaison1", "一亿两千万")
    await world.press("liaison1", "省外")
    await world.press("liaison1", "在谈")
    for _ in range(6):  # tags, foreign, contact, phone, channel, notes
        await world.press("liaison1", "跳过")
    await world.send_file("liaison1", "项目投资计划书.pdf", PLAN)
    await world.send_file("liaison1", None, PICTURE)
    await world.press("liaison1", "完成")
    [saved] = await world.press("liaison1", "✅ 保存")
    assert "已登记 L0001" in saved.text


async def test_a_leads_files_button_sends_the_kept_files_and_names_the_telegram_ones(
    world: DingTalkWorld,
) -> None:
    await _report_with_files(world)
    async with world.db.session() as s:  # a file a Telegram member added to the same lead
        lead = (await s.scalars(select(Lead))).one()
        tg = {"file_id": "BQACAgIAAxkBAAI", "kind": "document", "name": "考察报告.docx"}
        lead.attachments = [*lead.attachments, tg]
        await s.commit()
    [card] = await world.say("liaison1", "/lead L0001")
    label = next(t for t, _ in card.buttons if t.startswith("重新接收附件"))
    assert label == "重新接收附件（3）"
    world.standin.inject(MEDIA, 200, "90018", "调用频率超过限制")  # flow control: waited out
    sent = await world.press("liaison1", label)
    head, plan, picture = sent
    assert "发送 2 个（共 3 个）" in head.text
    assert "「考察报告\\.docx」是在 Telegram 中发送的" in head.text  # cannot be fetched here
    assert plan.msg_key == "sampleFile" and plan.to == ("user", "liaison1")
    assert plan.param["fileName"] == "项目投资计划书.pdf" and plan.param["fileType"] == "pdf"
    assert world.standin.media(plan).content == PLAN
    assert picture.msg_key == "sampleImageMsg"
    assert world.standin.media(picture).content == PICTURE
    uploads = world.standin.recorder.calls_to(MEDIA)
    assert [(c.body["type"], c.response["errcode"]) for c in uploads] == [
        ("file", 90018),
        ("file", 0),
        ("image", 0),
    ]
    assert "暂不能发到钉钉" not in "\n".join(m.text for m in sent)


async def test_a_lead_with_only_telegram_files_sends_none_and_says_why(
    world: DingTalkWorld,
) -> None:
    from tests.e2e.test_dingtalk import fill_report

    await world.join("liaison1", "招商一局")
    await fill_report(world, "liaison1", "宁德时代新能源科技股份有限公司")
    await world.press("liaison1", "✅ 保存")
    async with world.db.session() as s:
        lead = (await s.scalars(select(Lead))).one()
        lead.attachments = [{"file_id": "AgACAgIAAx", "kind": "photo", "name": ""}]
        await s.commit()
    await world.say("liaison1", "/lead L0001")
    [head] = await world.press("liaison1", "重新接收附件（1）")
    assert "发送 0 个（共 1 个）" in head.text and "Telegram" in head.text
    assert world.standin.recorder.calls_to(MEDIA) == []


async def test_scheduled_reports_and_the_board_reach_a_dingtalk_leaders_group_with_files(
    mixed: Mixed,
) -> None:
    """Outbox rows that carry a file (the digests' .xlsx, the monthly 红黑榜 picture) go to a
    DingTalk leaders' group as text, then the file / picture, once across a restart."""
    h = mixed.h
    assert h.app is not None
    await mixed.say(DT_ADMIN, "/bind 领导", group=DT_GROUP)
    mixed.standin.inject(MEDIA, 500, "ServiceUnavailable", "系统繁忙")  # a retry, not a loss
    start = len(mixed.standin.messages())
    h.clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=SH))  # the 1st: half month, month, board
    await h.app.jobs.run_due()
    await mixed.restart()
    h.clock.set(datetime(2026, 12, 1, 9, 35, tzinfo=SH))
    await h.app.jobs.run_due()
    sent = mixed.standin.messages(("group", DT_GROUP), start=start)
    files = _files(sent)
    assert [m.msg_key for m in files] == ["sampleImageMsg", "sampleFile", "sampleFile"]
    assert sent[0].text.startswith("🏅 2026年11月 招商引资红黑榜")  # the text, then the picture
    names = [m.param.get("fileName") for m in files if m.msg_key == "sampleFile"]
    assert names == ["招商引资信息汇总_2026-11-H2.xlsx", "招商引资工作通报_2026-11.xlsx"]
    for m in files:
        kept = mixed.standin.media(m)
        if m.msg_key == "sampleFile":
            assert kept.content.startswith(b"PK") and kept.name == m.param["fileName"]
        else:
            assert kept.kind == "image" and kept.content.startswith(b"\x89PNG")
    async with h.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    mine = [r for r in rows if r.chat_id <= -PRINCIPAL_BASE and "_document" in (r.params or {})]
    assert mine and all(r.status == OutboxStatus.SENT for r in mine), [
        (r.kind, r.status, r.error) for r in mine
    ]
    assert [c.status for c in mixed.standin.recorder.calls_to(MEDIA)][:2] == [500, 200]


async def test_an_upload_dingtalk_refuses_fails_the_outbox_row_for_the_admins(
    mixed: Mixed,
) -> None:
    h = mixed.h
    assert h.app is not None
    await mixed.say(DT_ADMIN, "/bind 领导", group=DT_GROUP)
    mixed.standin.inject(MEDIA, 200, "40006", "不合法的文件大小", times=10)
    h.clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=SH))
    await h.app.jobs.run_due()
    async with h.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    mine = [r for r in rows if r.chat_id <= -PRINCIPAL_BASE and "_document" in (r.params or {})]
    assert mine and all(r.status == OutboxStatus.FAILED for r in mine)
    assert all("40006" in (r.error or "") for r in mine)
