"""Foundation journeys: onboarding, invites, strangers, groups, reliability."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import Workbook
from telegram import Update

from storage import repo
from tests.e2e.harness import ADMIN, Harness

NEWBIE = 777


def links(text: str) -> list[str]:
    return re.findall(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)", text)


async def test_admin_adds_unit_invites_and_member_joins(harness: Harness) -> None:
    h = harness
    h.user(ADMIN, "管理员")
    r = await h.send(ADMIN, "/addunit 招商引资部 招商部 一序列")
    assert "已新增单位「招商引资部」" in r.text
    r = await h.send(ADMIN, "/invite 招商部 专干×2 负责人")
    tokens = links(r.text)
    assert len(tokens) == 3 and "有效期至" in r.text
    h.user(NEWBIE, "张三")
    r = await h.send(NEWBIE, f"/start {tokens[2]}")
    assert "欢迎，张三。您已加入「招商引资部」，身份：单位负责人。" in r.text
    assert "/help" in r.text
    async with h.db.session() as s:
        member = await repo.member_by_tg(s, NEWBIE)
        assert member is not None and member.role == "head" and member.unit.name == "招商引资部"
    menus = h.api.commands(scope_type="chat", chat_id=NEWBIE)
    assert menus and all(c["command"] not in ("invite", "addunit") for c in menus)


async def test_leader_link_needs_no_unit(harness: Harness) -> None:
    harness.user(ADMIN, "管理员")
    r = await harness.send(ADMIN, "/invite 领导")
    harness.user(NEWBIE, "王主任")
    r = await harness.send(NEWBIE, f"/start {links(r.text)[0]}")
    assert "身份：领导" in r.text and "/units" in r.text


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("expired", "已过期"),
        ("revoked", "已被作废"),
        ("reused", "已被使用过"),
        ("garbage", "无效"),
    ],
)
async def test_bad_links_get_a_clear_reply_and_join_nobody(
    harness: Harness, case: str, expected: str
) -> None:
    h = harness
    h.user(ADMIN, "管理员")
    await h.send(ADMIN, "/addunit 财政局")
    r = await h.send(ADMIN, "/invite 财政局 专干 once 1d")
    token = links(r.text)[0]
    if case == "expired":
        h.clock.advance(timedelta(days=1, seconds=1))
    elif case == "revoked":
        number = re.search(r"#(\d+)", r.text).group(1)  # type: ignore[union-attr]
        assert "已作废邀请" in (await h.send(ADMIN, f"/revoke {number}")).text
    elif case == "reused":
        h.user(NEWBIE + 1, "先来者")
        assert "欢迎" in (await h.send(NEWBIE + 1, f"/start {token}")).text
    else:
        token = "x" * 20
    h.user(NEWBIE, "后来者")
    r = await h.send(NEWBIE, f"/start {token}")
    assert expected in r.text and "欢迎" not in r.text
    async with h.db.session() as s:
        assert await repo.member_by_tg(s, NEWBIE) is None


async def test_stranger_is_refused_and_sees_no_data(world_harness: Harness) -> None:
    h = world_harness
    h.user(NEWBIE, "路人甲")
    for text in (
        "/start",
        "/help",
        "/units",
        "/invite 招商部 专干",
        "你好",
        "/nonsense",
        "/members",
    ):
        r = await h.send(NEWBIE, text)
        assert "本机器人仅供已登记的单位使用" in r.text, text
        assert "招商引资部" not in r.text and "张三" not in r.text
    r = await h.send(NEWBIE, "/help", chat_id=-1001000000001)
    assert len(r) == 0  # silent in groups


async def test_admin_binds_a_group_and_others_cannot(world_harness: Harness) -> None:
    h = world_harness
    h.api.add_group(-555, "新工作群")
    r = await h.send(1101, "/bind 招商引资部", chat_id=-555)
    assert "仅限管理员" in r.text
    r = await h.send(ADMIN, "/bind 招商引资部", chat_id=-555)
    assert "本群已绑定到「招商引资部」" in r.text
    r = await h.send(ADMIN, "/bind", chat_id=-555)
    assert "用法" in r.text
    async with h.db.session() as s:
        chat = await repo.chat_by_tg(s, -555)
        assert chat is not None and chat.kind == "unit"
        assert (
            await repo.chat_by_tg(s, -1001000000001) is None
        )  # the unit's old group lost the binding
    r = await h.send(ADMIN, "/bind 领导", chat_id=-555)
    assert "领导群" in r.text


async def test_a_duplicated_update_is_handled_once(world_harness: Harness) -> None:
    h = world_harness
    h.api.duplicate_next(2)
    r = await h.send(ADMIN, "/addunit 商务局")
    follow = await h.send(ADMIN, "/units")  # processed strictly after the copies
    assert r.text.count("已新增单位") + follow.text.count("已新增单位") == 1
    assert "已有名为" not in r.text + follow.text
    async with h.db.session() as s:
        assert sum(1 for u in await repo.units(s) if u.name == "商务局") == 1


async def test_a_failing_handler_apologises_and_the_bot_goes_on(
    world_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = world_harness
    from handlers import admin

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(admin.units, "list_units", broken)
    r = await h.send(ADMIN, "/units")
    assert "抱歉，处理时出了问题" in r.text
    monkeypatch.undo()
    r = await h.send(ADMIN, "/units")
    assert "招商引资部" in r.text


def sheet(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_admin_imports_a_sheet_with_a_row_report(world_harness: Harness) -> None:
    h = world_harness
    rows: list[list[object]] = [["名称", "简称", "序列"]]
    rows += [[f"单位{i}", None, "三序列"] for i in range(28)]
    rows.insert(7, [None, "空", None])
    rows.insert(19, ["招商引资部", None, None])
    rows.append(["<b>商务局</b>", None, None])
    r = await h.upload(ADMIN, sheet(rows), "单位.xlsx")
    assert "已导入 29 个单位，跳过 2 行" in r.text
    assert "第 8 行：单位名称不能为空" in r.text and "第 20 行：与「招商引资部」重复" in r.text
    r = await h.send(ADMIN, "/units")
    assert "&lt;b&gt;商务局&lt;/b&gt;" in r.items[0].html  # escaped, not bold


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"", "u.csv", "文件是空的"),
        ("简称\n招商部\n".encode(), "u.csv", "缺少「名称」列"),
        (b"PK\x03\x04broken", "u.xlsx", "文件无法读取"),
    ],
)
async def test_bad_sheets_get_a_clear_reply(
    world_harness: Harness, data: bytes, name: str, expected: str
) -> None:
    r = await world_harness.upload(ADMIN, data, name)
    assert expected in r.text


async def test_liaison_cannot_import_or_invite(world_harness: Harness) -> None:
    h = world_harness
    assert "仅限管理员" in (await h.upload(1101, sheet([["名称"], ["x"]]), "u.xlsx")).text
    assert "仅限管理员" in (await h.send(1101, "/invite 招商部 专干")).text


async def test_help_differs_by_role_and_unknown_commands_are_explained(
    world_harness: Harness,
) -> None:
    h = world_harness
    liaison = await h.send(1101, "/help")
    admin = await h.send(ADMIN, "/help")
    assert "招商专干" in liaison.text and "/invite" not in liaison.text
    assert (
        "/invite" in admin.text
        and "/bind" in (await h.send(ADMIN, "/help", chat_id=-1001000000999)).text
    )
    assert "没有这个命令" in (await h.send(1101, "/frobnicate")).text


async def test_language_switch_is_remembered(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(1101, "/lang")
    assert r.labels == ["中文", "English"]
    r = await h.press(1101, "English")
    assert "Language set to English" in r.text
    assert "Commands" in (await h.send(1101, "/help")).text


async def test_huge_and_html_input_is_handled(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(ADMIN, "/addunit " + "局" * 5000)
    assert "单位名称太长（5000 字，最多 100 字）" in r.text
    r = await h.send(ADMIN, "/addunit <i>新区</i>")
    assert "&lt;i&gt;新区&lt;/i&gt;" in r.items[0].html


async def test_menus_are_set_per_scope_and_language(world_harness: Harness) -> None:
    await world_harness.restart()  # the admin's chat exists now: its own menu is set on start
    api = world_harness.api
    assert {c["command"] for c in api.commands(scope_type="default")} == {"start", "help"}
    private = {c["command"] for c in api.commands(scope_type="all_private_chats")}
    assert "lang" in private and "invite" not in private
    assert "invite" in {c["command"] for c in api.commands(scope_type="chat", chat_id=ADMIN)}
    assert api.commands(scope_type="all_private_chats", language_code="en")


def raw_text_update(update_id: int, user: int, text: str) -> dict[str, object]:
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if text.startswith("/")
        else []
    )
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_763_000_000,
            "text": text,
            "entities": entities,
            "chat": {"id": user, "type": "private", "first_name": "x"},
            "from": {"id": user, "is_bot": False, "first_name": "x"},
        },
    }


async def test_a_redelivery_after_a_restart_is_still_dropped(world_harness: Harness) -> None:
    h = world_harness
    update = raw_text_update(900_001, ADMIN, "/addunit 重启测试局")
    first = await h._act(h.api.enqueue_update(update))
    assert "已新增单位" in first.text
    await h.restart()
    assert h.app is not None
    # Telegram sends it again after the restart (e.g. as a webhook retry): straight to the app.
    await h.app.process_update(Update.de_json(update, h.app.bot))
    assert len(h.collect()) == 0
    async with h.db.session() as s:
        assert sum(1 for u in await repo.units(s) if u.name == "重启测试局") == 1
