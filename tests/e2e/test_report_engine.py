"""/report on the form engine: state before replies, dollar examples, tags redrawn in place."""

from __future__ import annotations

from typing import Any

import pytest

from storage.models import FormDraft
from tests.e2e.harness import Harness

LIAISON = 1101


async def _draft(h: Harness) -> dict[str, Any] | None:
    async with h.db.session() as s:
        row = await s.get(FormDraft, f"tg:{LIAISON}")
        return dict(row.data) if row else None


async def _to_industry(h: Harness) -> None:
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "动力电池项目")
    await h.send(LIAISON, "某某新能源有限公司")


async def test_the_step_is_committed_before_the_next_question_is_sent(
    world_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12.3: whatever the stand-in is asked to send, the answer is already stored."""
    h = world_harness
    await _to_industry(h)
    seen: list[tuple[str, dict[str, Any] | None]] = []
    send = h.api._handlers["sendMessage"]

    async def recording(params: Any, uploads: Any) -> Any:
        seen.append((str(params.get("text", "")), await _draft(h)))
        return await send(params, uploads)

    monkeypatch.setitem(h.api._handlers, "sendMessage", recording)
    await h.press(LIAISON, "新能源")  # a button answer
    await h.send(LIAISON, "5000万。")  # a typed answer, with a full stop
    [(ask_amount, after_button), (ask_origin, after_text)] = seen
    assert "计划投资额" in ask_amount and after_button is not None
    assert after_button["step"] == "amount" and after_button["values"]["industry"] == "新能源"
    assert "来源地" in ask_origin and after_text is not None
    assert after_text["step"] == "origin" and after_text["values"]["amount"] == "5000"


@pytest.mark.parametrize("answer", ["5000万。", "5000万.", "1.2亿！", "一亿两千万，"])
async def test_amounts_typed_as_a_sentence_are_accepted(
    world_harness: Harness, answer: str
) -> None:
    h = world_harness
    await _to_industry(h)
    await h.press(LIAISON, "新能源")
    r = await h.send(LIAISON, answer)
    assert "来源地" in r.text and "没看懂" not in r.text


async def _to_foreign(h: Harness) -> None:
    await _to_industry(h)
    await h.press(LIAISON, "新能源")
    await h.send(LIAISON, "100万")
    await h.press(LIAISON, "本地")
    await h.press(LIAISON, "线索")
    await h.press(LIAISON, "完成")


async def test_the_dollar_step_explains_itself_in_dollars(world_harness: Harness) -> None:
    h = world_harness
    await _to_foreign(h)
    r = await h.send(LIAISON, "很多美元")
    assert "没看懂这个金额" in r.text and "美元" in r.text.split("\n")[0]
    assert "5000万" not in r.text and "1.2亿" not in r.text
    r = await h.send(LIAISON, "5000万元")
    assert "外资请按美元填写" in r.text
    r = await h.send(LIAISON, "2万美元。")
    assert "联系人" in r.text
    assert (await _draft(h) or {})["values"]["foreign"] == "20000"


async def test_each_tag_tap_redraws_the_same_message(world_harness: Harness) -> None:
    h = world_harness
    await _to_industry(h)
    await h.press(LIAISON, "新能源")
    await h.send(LIAISON, "100万")
    await h.press(LIAISON, "本地")
    r = await h.press(LIAISON, "线索")
    tags_message = r.items[-1].message_id
    r = await h.press(LIAISON, "上市公司")
    assert [i.method for i in r.items] == ["editMessageText"]
    assert r.items[0].message_id == tags_message and "✅ 上市公司" in r.labels
    r = await h.press(LIAISON, "专精特新")
    assert [i.method for i in r.items] == ["editMessageText"]
    assert {"✅ 上市公司", "✅ 专精特新"} <= set(r.labels)
    r = await h.press(LIAISON, "✅ 上市公司")  # tapped again: off
    assert "上市公司" in r.labels and "✅ 上市公司" not in r.labels
    asks = [c for c in h.api.calls_of("sendMessage") if "可多选" in str(c.params.get("text"))]
    assert len(asks) == 1  # one tags question, not a copy per tap
    r = await h.press(LIAISON, "完成")
    assert "外资" in r.text
    assert (await _draft(h) or {})["values"]["tags"] == ["专精特新"]
