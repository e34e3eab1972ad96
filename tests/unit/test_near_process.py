"""The near-match index in its own process answers as the in-process one does, and a
child that dies, hangs or cannot start is reported, never waited for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any, TypeVar

import pytest

from bot.domain.dedup import company_key
from bot.domain.near import Row
from bot.operations import near_process
from bot.operations.near_process import (
    InlineMatcher,
    Matcher,
    NearIndexDown,
    NearIndexError,
    NearProcess,
)

NAMES = [
    "北京云算科技有限公司",
    "康王药业（甘肃）有限公司",
    "华为技术有限公司",
    "比亚迪股份有限公司",
    "山西焦煤集团有限公司",
    "衢州元立金属制品有限公司",
    "浙江盛达机械有限公司",
]
QUERIES = [
    "北京云算科枝有限公司",
    "甘肃康王药业有限公司",
    "huawei",
    "BYD",
    "山东焦煤集团有限公司",
    "元立金属制品（衢州）有限公司",
    "浙江胜达机械有限公司",
    "完全无关的名字",
]


def rows(names: list[str], first: int = 1) -> list[Row]:
    return [(first + i, company_key(n), n) for i, n in enumerate(names)]


M = TypeVar("M", bound=Matcher)


async def built(matcher: M, names: list[str]) -> M:
    await matcher.start()
    found = rows(names)
    for part in (found[:3], found[3:], [(99, None, "重复的线索")]):  # a duplicate: no key
        await matcher.load(part)
    assert await matcher.finish() == len(names)
    return matcher


async def test_the_process_answers_as_the_inline_index() -> None:
    inline = await built(InlineMatcher(), NAMES)
    process = await built(NearProcess(), NAMES)
    try:
        for query in QUERIES:
            key = company_key(query)
            assert await process.judged(query, key, 90) == await inline.judged(query, key, 90)
            assert await process.near(key, 85) == await inline.near(key, 85)
            assert await process.fragments(query) == await inline.fragments(query)
            among = rows(NAMES[:4])
            assert await process.among(among, query, key, 90) == await inline.among(
                among, query, key, 90
            )
        typo = await process.judged("北京云算科枝有限公司", company_key("北京云算科枝有限公司"), 90)
        assert [(lead_id, reason) for lead_id, (_, reason) in typo.items()] == [(1, "typo")]
    finally:
        await process.close()


async def test_absorbed_names_are_found_by_the_next_request() -> None:
    """An absorb is not answered: the next request's reply comes after it was done."""
    process = await built(NearProcess(), NAMES)
    try:
        query = "杭州海康威视数字技朮有限公司"
        assert await process.judged(query, company_key(query), 90) == {}
        process.absorb(
            [
                (
                    50,
                    company_key("杭州海康威视数字技术股份有限公司"),
                    "杭州海康威视数字技术股份有限公司",
                )
            ]
        )
        process.absorb([(50, company_key("杭州海康威视数字技术股份有限公司"), "again, once")])
        found = await process.judged(query, company_key(query), 90)
        assert list(found) == [50]
    finally:
        await process.close()


async def test_a_failed_request_is_reported_and_the_index_stays() -> None:
    process = await built(NearProcess(), NAMES)
    try:
        with pytest.raises(NearIndexError, match="TypeError"):
            await process._call("judged", "only one argument")
        with pytest.raises(NearIndexError, match="KeyError"):
            await process._call("no such request")
        query = "北京云算科枝有限公司"
        assert list(await process.judged(query, company_key(query), 90)) == [1]
    finally:
        await process.close()


async def test_a_killed_process_is_reported_to_every_caller() -> None:
    process = await built(NearProcess(), NAMES)
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    with pytest.raises(NearIndexDown):
        await process.judged("北京云算科枝有限公司", "北京云算科枝", 90)
    with pytest.raises(NearIndexDown):
        await process.judged("北京云算科枝有限公司", "北京云算科枝", 90)
    process.absorb(rows(["杭州新公司"]))  # lost with it: a new process reads the database
    await process.close()


async def test_a_stuck_process_is_killed_after_the_timeout() -> None:
    process = await built(NearProcess(), NAMES)
    process.timeout = 0.5  # not for the build: its first part loads pypinyin, slow when busy
    assert process.pid is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        with pytest.raises(NearIndexDown):
            await process.judged("北京云算科枝有限公司", "北京云算科枝", 90)
    finally:
        with contextlib.suppress(ProcessLookupError):  # killed and reaped: nothing to wake
            os.kill(process.pid, signal.SIGCONT)
    with pytest.raises(NearIndexDown):
        await process.near("北京云算科枝", 90)
    await process.close()


async def test_a_process_that_cannot_start_fails_its_waiting_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no processes in this sandbox")

    monkeypatch.setattr(near_process.asyncio, "create_subprocess_exec", refused)
    process = NearProcess()
    waiting = asyncio.ensure_future(process.judged("北京云算科枝有限公司", "北京云算科枝", 90))
    with pytest.raises(OSError):
        await process.start()
    with pytest.raises(NearIndexDown):
        await waiting
    await process.close()


async def test_a_closed_process_exits() -> None:
    process = await built(NearProcess(), NAMES)
    proc = process._proc
    assert proc is not None
    await process.close()
    assert proc.returncode == 0
    with pytest.raises(NearIndexDown):
        await process.finish()
