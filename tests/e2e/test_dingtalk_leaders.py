"""The leaders' /digest, /board and /adjust on DingTalk: the same services and words as
Telegram, the .xlsx and the 红黑榜 picture sent after the text as DingTalk file / picture
(uploaded to the media store); never in a unit's group."""

from __future__ import annotations

from tests.e2e.test_dingtalk import ADMIN_STAFF, DingTalkWorld, fill_report
from tests.e2e.test_dingtalk import world as world  # the fixture, shared


async def test_digest_board_and_adjust_for_a_leader(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    await fill_report(world, "liaison1", "宁德时代新能源科技股份有限公司")
    await world.press("liaison1", "✅ 保存")
    [adjusted] = await world.say(ADMIN_STAFF, "/adjust 招商一局 +5 表彰")
    assert "已为「招商一局」调整 \\+5 分" in adjusted.text and "原因：表彰" in adjusted.text
    [digest, workbook] = await world.say(ADMIN_STAFF, "/digest month")
    assert "2026年10月 招商引资工作通报" in digest.text and "一、六项指标" in digest.text
    assert "附件暂不能发到钉钉" not in digest.text
    assert workbook.msg_key == "sampleFile" and workbook.param["fileType"] == "xlsx"
    kept = world.standin.media(workbook)
    assert kept.kind == "file" and kept.content.startswith(b"PK")  # an .xlsx is a zip
    assert kept.name == workbook.param["fileName"]
    [board, picture] = await world.say(ADMIN_STAFF, "/board")
    assert "招商一局" in board.text and "附件暂不能发到钉钉" not in board.text
    assert picture.msg_key == "sampleImageMsg" and picture.to == ("user", ADMIN_STAFF)
    drawn = world.standin.media(picture)
    assert drawn.kind == "image" and drawn.content.startswith(b"\x89PNG")
    [refused] = await world.say("liaison1", "/digest month")
    assert "领导" in refused.text and "附件" not in refused.text


async def test_the_digest_stays_out_of_a_units_group_but_not_the_leaders(
    world: DingTalkWorld,
) -> None:
    await world.join("liaison1", "招商一局")
    [unit_group] = await world.say(ADMIN_STAFF, "/digest month", group="cidunit1")
    assert "请在与我的私聊或领导群中查看" in unit_group.text
    world.standin.add_group("cidleaders", "县领导群")
    await world.say(ADMIN_STAFF, "/bind 领导", group="cidleaders")
    [leaders, workbook] = await world.say(ADMIN_STAFF, "/digest month", group="cidleaders")
    assert leaders.to == ("group", "cidleaders") and "通报" in leaders.text
    assert workbook.to == ("group", "cidleaders") and workbook.msg_key == "sampleFile"
    [adjust] = await world.say(ADMIN_STAFF, "/adjust 招商一局 +1 x", group="cidleaders")
    assert "请在与机器人的私聊中使用此命令" in adjust.text


async def test_export_sends_the_ledger_workbook_in_private_only(world: DingTalkWorld) -> None:
    """/export on DingTalk: the caption Telegram shows, then the .xlsx as a DingTalk file;
    in a group refused (the 台账 holds every lead's contact person and phone)."""
    import io

    import openpyxl

    await world.join("liaison1", "招商一局")
    await fill_report(world, "liaison1", "宁德时代新能源科技股份有限公司")
    await world.press("liaison1", "✅ 保存")
    [caption, workbook] = await world.say(ADMIN_STAFF, "/export")
    assert "暂未开放" not in caption.text and "线索" in caption.text
    assert workbook.msg_key == "sampleFile" and workbook.param["fileType"] == "xlsx"
    book = openpyxl.load_workbook(io.BytesIO(world.standin.media(workbook).content))
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert any("宁德时代" in c for c in cells)
    [refused] = await world.say(ADMIN_STAFF, "/export", group="cidunit1")
    assert "私聊" in refused.text
    [stranger] = await world.say("liaison1", "/export")
    assert "领导" in stranger.text
