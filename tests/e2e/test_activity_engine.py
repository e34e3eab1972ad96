"""/activity on the form engine: the draft is in form_drafts, so it outlives a restart;
old buttons, the injected clock and bad input get their own clear answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from scheduler.forms import expire_idle_forms
from storage.models import Activity, FormDraft
from tests.e2e.harness import Harness

LEADER, CAIZHENG = 1001, 1104  # 财政局's liaison


async def _draft(h: Harness, user: int = CAIZHENG) -> dict[str, Any] | None:
    async with h.db.session() as s:
        row = await s.get(FormDraft, f"tg:{user}")
        return dict(row.data) if row else None


async def test_a_half_filled_activity_continues_after_a_restart(world_harness: Harness) -> None:
    h = world_harness
    await h.send(CAIZHENG, "/start activity")  # the deep link opens the same form
    await h.press(CAIZHENG, "参加培训")
    stored = await _draft(h)
    assert stored is not None and stored["form"] == "activity" and stored["step"] == "date"
    assert stored["values"]["kind"] == "training"
    await h.restart()
    r = await h.press(CAIZHENG, "今天")  # the button sent before the restart still works
    assert "培训名称" in r.text
    await h.send(CAIZHENG, "参加省招商引资业务培训")
    await h.restart()
    r = await h.press(CAIZHENG, "跳过")
    assert "请核对工作记录" in r.text and "参加省招商引资业务培训" in r.text
    r = await h.press(CAIZHENG, "✅ 保存")
    assert "已登记 A0001（参加培训，财政局）" in r.text
    assert await _draft(h) is None


async def test_a_button_of_an_earlier_question_only_says_it_is_stale(
    world_harness: Harness,
) -> None:
    h = world_harness
    r = await h.send(CAIZHENG, "/activity")
    kinds = r.items[-1]
    await h.press(CAIZHENG, "外出招商")
    before = await _draft(h)
    data = kinds.buttons[0][0]["callback_data"]
    assert kinds.message_id is not None
    r = await h.press_data(CAIZHENG, kinds.message_id, data)
    assert r.popups == ["这个按钮已失效，请重新发起。"] and not r.items
    assert await _draft(h) == before  # nothing changed: still at the date
    r = await h.press_data(CAIZHENG, kinds.message_id, "aw:kind:0")  # the old form's buttons
    assert r.popups == ["这个按钮已失效，请重新发起。"]


async def test_an_idle_activity_expires_by_the_clock(world_harness: Harness) -> None:
    h = world_harness
    await h.send(CAIZHENG, "/activity")
    await h.press(CAIZHENG, "参加培训")
    h.clock.advance(timedelta(minutes=h.settings.form_timeout_minutes + 1))
    r = await h.press(CAIZHENG, "今天")
    assert "工作记录填写已超时关闭" in r.text
    assert await _draft(h) is None
    await h.send(CAIZHENG, "/activity")  # the sweep tells whoever left a form open
    h.clock.advance(timedelta(minutes=h.settings.form_timeout_minutes + 1))
    assert h.app is not None
    await expire_idle_forms(h.app, h.clock.now())
    r = h.collect()
    assert "工作记录填写已超时关闭" in r.to(CAIZHENG).text
    assert await _draft(h) is None


async def test_huge_text_and_html_get_clear_answers(world_harness: Harness) -> None:
    h = world_harness
    await h.send(CAIZHENG, "/activity")
    await h.press(CAIZHENG, "参加招商活动")
    await h.press(CAIZHENG, "今天")
    r = await h.send(CAIZHENG, "长" * 600)
    assert "内容过长（600 字），最多 500 字" in r.text and "请简述活动名称" in r.text
    assert (await _draft(h) or {})["step"] == "text"  # the form stayed where it was
    r = await h.send(CAIZHENG, "参加<b>进博会</b> & <script>x</script>")
    r = await h.press(CAIZHENG, "跳过")
    summary = r.items[-1]
    assert "参加<b>进博会</b> & <script>x</script>" in summary.text
    assert "&lt;b&gt;进博会&lt;/b&gt; &amp; &lt;script&gt;" in summary.html
    r = await h.photo(CAIZHENG, b"\x89PNG")  # a file where buttons are wanted
    assert "请点击下面的按钮选择" in r.text or "这一步需要" in r.text
    r = await h.press(CAIZHENG, "✅ 保存")
    assert "A0001" in r.text
    async with h.db.session() as s:
        [a] = (await s.scalars(select(Activity))).all()
    assert a.text == "参加<b>进博会</b> & <script>x</script>"


async def test_the_reject_reason_is_a_form_that_survives_a_restart(world_harness: Harness) -> None:
    from tests.e2e.test_activity import record

    h = world_harness
    await record(h, "参加培训", "参加省招商引资业务培训")
    await h.send(LEADER, "/activities")
    r = await h.press(LEADER, "❌ 驳回")
    assert "请发送驳回 A0001 的原因" in r.text
    stored = await _draft(h, LEADER)
    assert stored is not None and stored["form"] == "activity_reject"
    await h.restart()
    r = await h.photo(LEADER, b"\x89PNG")
    assert "请用文字发送驳回原因" in r.text
    r = await h.send(LEADER, "因" * 501)
    assert "内容过长（501 字），最多 500 字" in r.text and "请发送驳回 A0001 的原因" in r.text
    r = await h.send(LEADER, "与 A0000 重复")
    assert "已驳回 A0001（财政局）。原因：与 A0000 重复" in r.text
    assert "被驳回。原因：与 A0000 重复" in r.to(CAIZHENG).text
    assert await _draft(h, LEADER) is None
    assert "没有待认定的工作记录" in (await h.send(LEADER, "/activities")).text


async def test_cancel_leaves_the_reject_form_without_rejecting(world_harness: Harness) -> None:
    from tests.e2e.test_activity import record

    h = world_harness
    await record(h, "参加培训", "参加省招商引资业务培训")
    await h.send(LEADER, "/activities")
    await h.press(LEADER, "❌ 驳回")
    r = await h.send(LEADER, "/cancel")
    assert "已取消，未驳回" in r.text
    async with h.db.session() as s:
        [a] = (await s.scalars(select(Activity))).all()
    assert a.review == "pending"


async def test_reject_in_the_leaders_group_points_to_the_command(world_harness: Harness) -> None:
    from bot.operations.demo import LEADERS_GROUP_ID
    from tests.e2e.test_activity import record

    h = world_harness
    await record(h, "参加培训", "参加省招商引资业务培训")
    await h.send(LEADER, "/activities", chat_id=LEADERS_GROUP_ID)
    r = await h.press(LEADER, "❌ 驳回", chat_id=LEADERS_GROUP_ID)
    assert "/reject_activity A0001 原因" in r.text
    assert await _draft(h, LEADER) is None  # no form waits for text it would never see
    r = await h.send(LEADER, "/reject_activity A1 与 A0000 重复", chat_id=LEADERS_GROUP_ID)
    assert "已驳回 A0001（财政局）。原因：与 A0000 重复" in r.text


async def _planned_trip(h: Harness, destination: str) -> None:
    """An accepted weekly submission of 财政局 that plans one trip."""
    from storage.models import WeeklySubmission, WeeklyVersion

    now = h.clock.now()
    async with h.db.session() as s:
        sub = WeeklySubmission(
            unit_id=4,
            period_key="2026-W46",
            latest_number=1,
            latest_status="confirmed",
            outcome="on_time",
            done_at=now,
            updated_at=now,
        )
        s.add(sub)
        await s.flush()
        version = WeeklyVersion(
            submission_id=sub.id,
            number=1,
            content={"trips": [destination]},
            submitted_by_tg=CAIZHENG,
            submitted_by_name="刘六",
            submitted_at=now,
            status="confirmed",
        )
        s.add(version)
        await s.flush()
        sub.accepted_version_id = version.id


async def test_a_planned_trip_keeps_its_kind_and_text_when_edited(world_harness: Harness) -> None:
    h = world_harness
    await _planned_trip(h, "深圳")
    await h.send(CAIZHENG, "/trips")
    await h.press(CAIZHENG, "✈️ 转为外出记录")
    await h.press(CAIZHENG, "昨天")
    await h.upload(CAIZHENG, b"%PDF-1.4 report", "外出报告单.pdf")
    r = await h.press(CAIZHENG, "完成")
    assert "类别：外出招商" in r.text and "赴外招商：深圳（2026-W46 周报计划）" in r.text
    r = await h.press(CAIZHENG, "✏️ 修改")
    assert "类别" not in r.labels and "内容" not in r.labels and "日期" in r.labels
