"""Files and pictures sent *to* DingTalk, through the real SDK against the stand-in: a lead's
附件 button, a leader's /digest workbook and /board picture, outbox rows that carry a file.
Each file is uploaded to the media store (``/media/upload``) and sent as ``sampleFile`` /
``sampleImageMsg``; the tests read back the bytes the recipient would open."""

from __future__ import annotations

from sqlalchemy import select

from bot.dingtalk_standin import SentMessage
from storage.models import Lead
from tests.e2e.test_dingtalk import DingTalkWorld, _send_file
from tests.e2e.test_dingtalk import world as world  # the fixture, shared

MEDIA = "/media/upload"
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
    await _send_file(world, "liaison1", "项目投资计划书.pdf", PLAN)
    await _send_file(world, "liaison1", None, PICTURE)
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
