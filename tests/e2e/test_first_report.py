"""Journey: first report wins on real Chinese company names (issue 14).

A typo of a company another unit reported first is caught with "same company?"
buttons; "same" records a duplicate with the first report's unit and date,
"different" saves a new first report and is not asked again; a credit code
already reported makes a duplicate whatever the name.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import DistinctCompanies, Lead
from tests.e2e.harness import Harness, Replies

LIAISON, OTHER, THIRD = 1101, 1102, 1103  # 招商引资部, 经济发展局, 规划建设局
FIRST = "北京云算科技有限公司"
TYPO = "北京云算科枝有限公司"
CODE = "91350100M000100Y43"  # a valid 统一社会信用代码 (check character Y43 … 3)


async def start(h: Harness, user: int, company: str) -> Replies:
    await h.send(user, "/report")
    await h.send(user, "云计算中心项目")
    return await h.send(user, company)


async def finish(h: Harness, user: int) -> Replies:
    """From the industry question to the saved reply."""
    await h.press(user, "新能源")
    await h.send(user, "5000万")
    await h.press(user, "省外")
    await h.press(user, "线索")
    for _ in range(7):
        await h.press(user, "跳过")
    return await h.press(user, "✅ 保存")


async def report_first(h: Harness, company: str = FIRST) -> None:
    r = await start(h, LIAISON, company)
    assert "请选择" in r.text and "是同一家吗" not in r.text
    assert "已登记 L0001" in (await finish(h, LIAISON)).text
    h.clock.advance(timedelta(days=3))


async def leads(h: Harness) -> list[Lead]:
    async with h.db.session() as s:
        return list((await s.scalars(select(Lead).order_by(Lead.id))).all())


async def test_a_typo_of_a_first_report_asks_same_company(world_harness: Harness) -> None:
    h = world_harness
    await report_first(h)
    r = await start(h, OTHER, TYPO)
    assert (
        "是同一家吗" in r.text
        and "L0001 云计算中心项目 — 北京云算科技有限公司（招商引资部）" in r.text
    )
    assert r.labels == ["是同一家（L0001）", "不是，继续填写"]


async def test_same_company_records_a_duplicate_with_the_first_unit_and_date(
    world_harness: Harness,
) -> None:
    h = world_harness
    await report_first(h)
    await start(h, OTHER, TYPO)
    r = await h.press(OTHER, "是同一家（L0001）")
    assert "已记为同一家企业" in r.text
    r = await finish(h, OTHER)
    assert (
        "该企业已由「招商引资部」于11月17日首报（L0001），本条记为重复（L0002），不计分。" in r.text
    )
    first, dup = await leads(h)
    assert dup.duplicate_of == first.id and dup.near_confirmed and dup.first_key is None


async def test_different_company_is_a_new_first_report_and_is_not_asked_again(
    world_harness: Harness,
) -> None:
    h = world_harness
    await report_first(h)
    await start(h, OTHER, TYPO)
    await h.press(OTHER, "不是，继续填写")
    assert "已登记 L0002。首报单位：经济发展局。" in (await finish(h, OTHER)).text
    async with h.db.session() as s:
        [pair] = (await s.scalars(select(DistinctCompanies))).all()
    assert {pair.key_a, pair.key_b} == {"北京云算科技", "北京云算科枝"}
    # A third unit types the typo again: the exact duplicate of L0002, no question.
    r = await start(h, THIRD, TYPO)
    assert "是同一家吗" not in r.text and "已由「经济发展局」于11月20日首报（L0002）" in r.text
    _, second = await leads(h)
    assert second.duplicate_of is None and second.first_key == "北京云算科枝"


async def test_different_answer_is_remembered_before_saving(world_harness: Harness) -> None:
    """Cancelled after "different": the next try does not ask again."""
    h = world_harness
    await report_first(h)
    await start(h, OTHER, TYPO)
    await h.press(OTHER, "不是，继续填写")
    await h.send(OTHER, "/cancel")
    r = await start(h, OTHER, TYPO)
    assert "是同一家吗" not in r.text and "请选择" in r.text


async def test_an_exact_duplicate_behaves_as_before(world_harness: Harness) -> None:
    h = world_harness
    await report_first(h)
    r = await start(h, OTHER, "北京云算科技")
    assert "已由「招商引资部」于11月17日首报（L0001）" in r.text and "是同一家吗" not in r.text
    assert "本条记为重复（L0002）" in (await finish(h, OTHER)).text


async def test_a_credit_code_makes_a_duplicate_under_another_name(
    world_harness: Harness,
) -> None:
    h = world_harness
    await report_first(h, f"{FIRST} {CODE}")
    [first] = await leads(h)
    assert first.credit_code == CODE and first.first_credit == CODE
    r = await start(h, OTHER, f"云算数据服务中心 {CODE}")
    assert "该统一社会信用代码已由「招商引资部」于11月17日首报（L0001）" in r.text
    r = await finish(h, OTHER)
    assert "本条记为重复（L0002）" in r.text
    _, dup = await leads(h)
    assert dup.duplicate_of == first.id and dup.credit_code == CODE and dup.first_credit is None


async def test_a_mistyped_credit_code_is_refused_and_asked_again(world_harness: Harness) -> None:
    h = world_harness
    r = await start(h, LIAISON, f"{FIRST} 91350100M000100Y44")
    assert "校验位不对" in r.text and "投资方（企业全称）" in r.text
    r = await h.send(LIAISON, f"{FIRST}，{CODE}")
    assert "请选择" in r.text
    await finish(h, LIAISON)
    [lead] = await leads(h)
    assert lead.company == FIRST and lead.credit_code == CODE
