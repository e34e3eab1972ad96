"""The DingTalk stand-in speaks the protocol the real ``dingtalk-stream`` SDK expects."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from bot.dingtalk_standin import CHATBOT_TOPIC, DingTalkStandIn
from handlers.dingtalk.sdk import dingtalk_stream, point_sdk_at, run_stream


class Recording(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.seen: list[dingtalk_stream.ChatbotMessage] = []
        self.delay = delay

    async def process(self, callback: Any) -> tuple[int, str]:
        self.seen.append(dingtalk_stream.ChatbotMessage.from_dict(callback.data))
        await asyncio.sleep(self.delay)
        return dingtalk_stream.AckMessage.STATUS_OK, "OK"


@pytest.fixture
def standin() -> Iterator[DingTalkStandIn]:
    s = DingTalkStandIn(ack_timeout=0.3, group_limit=(3, 60.0))
    point_sdk_at(s.start())
    s.add_user("liaison1", "王联络")
    s.add_group("cidgroup1", "开化县招商群")
    try:
        yield s
    finally:
        s.stop()


@contextlib.asynccontextmanager
async def sdk_client(standin: DingTalkStandIn, handler: Recording) -> AsyncIterator[Any]:
    cred = dingtalk_stream.Credential(standin.client_id, standin.client_secret)
    client = dingtalk_stream.DingTalkStreamClient(cred)
    client.register_callback_handler(CHATBOT_TOPIC, handler)
    task = asyncio.create_task(run_stream(client, retry_after=0.1))
    try:
        await asyncio.to_thread(standin.wait_connected)
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_until(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_sdk_receives_a_one_to_one_text_and_acks_it(standin: DingTalkStandIn) -> None:
    handler = Recording()
    async with sdk_client(standin, handler):
        msg_id = await asyncio.to_thread(standin.send_text, "liaison1", "/help")
        await wait_until(lambda: handler.seen)
        code = await asyncio.to_thread(standin.wait_acked, msg_id)
    assert code == 200
    got = handler.seen[0]
    assert (got.text.content, got.sender_staff_id, got.conversation_type) == (
        "/help",
        "liaison1",
        "1",
    )
    assert got.message_id == msg_id and got.session_webhook
    opened = standin.recorder.calls_to("/v1.0/gateway/connections/open")
    assert opened[0].body["subscriptions"] == [{"type": "CALLBACK", "topic": CHATBOT_TOPIC}]
    assert opened[0].body["clientSecret"] == "***"


async def test_group_delivers_only_messages_that_at_the_robot(standin: DingTalkStandIn) -> None:
    handler = Recording()
    async with sdk_client(standin, handler):
        assert (
            await asyncio.to_thread(
                standin.send_text, "liaison1", "闲聊", group="cidgroup1", at_robot=False
            )
            is None
        )
        await asyncio.to_thread(standin.send_text, "liaison1", "排名", group="cidgroup1")
        await wait_until(lambda: handler.seen)
    got = handler.seen[0]
    assert got.conversation_type == "2" and got.is_in_at_list
    assert got.text.content.strip() == "排名" and got.conversation_id == "cidgroup1"
    assert len(handler.seen) == 1


async def test_unacknowledged_frame_is_redelivered_with_the_same_msg_id(
    standin: DingTalkStandIn,
) -> None:
    handler = Recording()
    standin.lose_acks(1)
    async with sdk_client(standin, handler):
        msg_id = await asyncio.to_thread(standin.send_text, "liaison1", "周报")
        await wait_until(lambda: len(handler.seen) >= 2)
        await asyncio.to_thread(standin.wait_acked, msg_id)
        # acknowledged now: nothing is pending, so no third delivery can come
        assert await asyncio.to_thread(standin.redeliver_unacked) == 0
    assert [m.message_id for m in handler.seen] == [msg_id, msg_id]
    assert standin.deliveries(msg_id) == 2


async def test_disconnect_makes_the_sdk_reconnect_and_pending_frames_follow(
    standin: DingTalkStandIn,
) -> None:
    handler = Recording()
    async with sdk_client(standin, handler):
        await asyncio.to_thread(standin.disconnect)
        await wait_until(lambda: standin.gateway.connections_opened == 2, seconds=8)
        await asyncio.to_thread(standin.wait_connected)
        msg_id = await asyncio.to_thread(standin.send_text, "liaison1", "状态")
        await asyncio.to_thread(standin.wait_acked, msg_id)
    assert handler.seen[-1].message_id == msg_id


async def test_ping_is_answered_with_its_opaque(standin: DingTalkStandIn) -> None:
    async with sdk_client(standin, Recording()):
        await asyncio.to_thread(standin.ping)
        await wait_until(lambda: standin.recorder.calls_to("ack"))
    ack = standin.recorder.calls_to("ack")[0].body
    assert json.loads(ack["data"])["opaque"]


async def http(method: str, url: str, body: dict[str, Any], token: str = "") -> tuple[int, Any]:
    headers = {"x-acs-dingtalk-access-token": token} if token else {}
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, json=body, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_openapi_sends_and_throttles_a_group_after_its_limit(
    standin: DingTalkStandIn,
) -> None:
    base = standin.base_url
    status, tok = await http(
        "POST",
        base + "/v1.0/oauth2/accessToken",
        {"appKey": standin.client_id, "appSecret": standin.client_secret},
    )
    assert status == 200 and tok["expireIn"] == 7200
    body = {
        "robotCode": standin.robot_code,
        "openConversationId": "cidgroup1",
        "msgKey": "sampleMarkdown",
        "msgParam": json.dumps({"title": "提醒", "text": "**本周**周报"}),
    }
    results = [
        (await http("POST", base + "/v1.0/robot/groupMessages/send", body, tok["accessToken"]))
        for _ in range(4)
    ]
    assert [s for s, _ in results] == [200, 200, 200, 403]
    assert results[3][1]["code"].startswith("Forbidden.AccessDenied.QpsLimit")
    assert [m.text for m in standin.messages(("group", "cidgroup1"))] == ["**本周**周报"] * 3
    status, err = await http("POST", base + "/v1.0/robot/groupMessages/send", body, "wrong")
    assert (status, err["code"]) == (401, "InvalidAuthentication")


async def test_batch_send_reports_people_who_left_and_injected_faults(
    standin: DingTalkStandIn,
) -> None:
    base = standin.base_url
    _, tok = await http(
        "POST",
        base + "/v1.0/oauth2/accessToken",
        {"appKey": standin.client_id, "appSecret": standin.client_secret},
    )
    body = {
        "robotCode": standin.robot_code,
        "userIds": ["liaison1", "gone"],
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "你好"}),
    }
    standin.server_error("/v1.0/robot/oToMessages/batchSend")
    url = base + "/v1.0/robot/oToMessages/batchSend"
    assert (await http("POST", url, body, tok["accessToken"]))[0] == 500
    status, ok = await http("POST", url, body, tok["accessToken"])
    assert status == 200 and ok["invalidStaffIdList"] == ["gone"]
    assert [m.to for m in standin.messages()] == [("user", "liaison1")]


async def test_file_download_through_download_code(standin: DingTalkStandIn) -> None:
    handler = Recording()
    async with sdk_client(standin, handler):
        await asyncio.to_thread(standin.send_file, "liaison1", "计划书.pdf", b"%PDF-1.4 x")
        await wait_until(lambda: handler.seen)
    code = handler.seen[0].extensions["content"]["downloadCode"]
    _, tok = await http(
        "POST",
        standin.base_url + "/v1.0/oauth2/accessToken",
        {"appKey": standin.client_id, "appSecret": standin.client_secret},
    )
    status, answer = await http(
        "POST",
        standin.base_url + "/v1.0/robot/messageFiles/download",
        {"downloadCode": code, "robotCode": standin.robot_code},
        tok["accessToken"],
    )
    assert status == 200
    async with aiohttp.ClientSession() as s, s.get(answer["downloadUrl"]) as r:
        assert await r.read() == b"%PDF-1.4 x"
