"""The OpenAPI client against the stand-in: tokens, sends, limits and error classes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.dingtalk_standin import DingTalkStandIn
from handlers.dingtalk.openapi import (
    Button,
    GroupPacer,
    OpenApiClient,
    PermanentError,
    RateLimited,
    TransientError,
    action_card,
    markdown,
)

BATCH = "/v1.0/robot/oToMessages/batchSend"
GROUP = "/v1.0/robot/groupMessages/send"
TOKEN = "/v1.0/oauth2/accessToken"


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def standin() -> Iterator[DingTalkStandIn]:
    s = DingTalkStandIn(group_limit=(20, 60.0))
    s.start()
    s.add_user("liaison1", "王联络")
    s.add_group("cidgroup1", "开化县招商群")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
async def client(standin: DingTalkStandIn) -> AsyncIterator[OpenApiClient]:
    c = OpenApiClient(
        standin.base_url, standin.client_id, standin.client_secret, standin.robot_code
    )
    try:
        yield c
    finally:
        await c.close()


async def test_token_is_cached_and_refreshed_before_it_expires(standin: DingTalkStandIn) -> None:
    now = FakeTime()
    c = OpenApiClient(
        standin.base_url, standin.client_id, standin.client_secret, standin.robot_code, now=now
    )
    try:
        first = await c.access_token()
        assert await c.access_token() == first
        now.t += 7200 - 300 - 1  # still inside the margin
        assert await c.access_token() == first
        now.t += 2  # five minutes before DingTalk's expiry: a new token
        assert await c.access_token() != first
        assert len(standin.recorder.calls_to(TOKEN)) == 2
    finally:
        await c.close()


async def test_a_revoked_token_is_fetched_again_once(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    await client.send_to_users(["liaison1"], markdown("提醒", "第一条"))
    standin.expire_tokens()
    await client.send_to_users(["liaison1"], markdown("提醒", "第二条"))
    assert [m.text for m in standin.messages()] == ["第一条", "第二条"]
    assert client.token_fetches == 2


async def test_person_who_left_is_reported_not_retried(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    result = await client.send_to_users(["liaison1", "left1"], markdown("提醒", "周报"))
    assert (result.delivered, result.invalid) == (["liaison1"], ["left1"])


async def test_errors_are_classified(standin: DingTalkStandIn, client: OpenApiClient) -> None:
    standin.throttle(BATCH)
    with pytest.raises(RateLimited) as limited:
        await client.send_to_users(["liaison1"], markdown("t", "x"))
    assert limited.value.retry_after > 0
    standin.server_error(BATCH)
    with pytest.raises(TransientError):
        await client.send_to_users(["liaison1"], markdown("t", "x"))
    standin.remove_group("cidgroup1")
    with pytest.raises(PermanentError):
        await client.send_to_group("cidgroup1", markdown("t", "x"))
    standin.revoke_permission()
    with pytest.raises(PermanentError) as denied:
        await client.send_to_users(["liaison1"], markdown("t", "x"))
    assert "PermissionDenied" in denied.value.code
    assert standin.messages() == []


async def test_action_card_buttons_arrive_in_order(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    buttons = [Button("保存", "dtmd://dingtalkclient/sendMessage?content=%E4%BF%9D%E5%AD%98")]
    buttons.append(Button("取消", "dtmd://dingtalkclient/sendMessage?content=%E5%8F%96%E6%B6%88"))
    await client.send_to_group("cidgroup1", action_card("确认", "请确认", buttons))
    [sent] = standin.messages(("group", "cidgroup1"))
    assert sent.msg_key == "sampleActionCard2"
    assert [t for t, _ in sent.buttons] == ["保存", "取消"]


def test_group_pacer_spaces_posts_to_twenty_a_minute() -> None:
    now = FakeTime()
    pacer = GroupPacer(now=now)
    assert all(pacer.wait_for("g") == 0 for _ in range(20))
    assert pacer.wait_for("g") == pytest.approx(60.0)
    assert pacer.wait_for("other") == 0
    now.t += 60
    assert pacer.wait_for("g") == 0


async def test_download_refuses_a_file_too_big(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    code = standin.store_file("big.pdf", b"x" * 2048)
    assert await client.download(code, max_bytes=4096) == b"x" * 2048
    code = standin.store_file("big.pdf", b"x" * 2048)
    with pytest.raises(PermanentError):
        await client.download(code, max_bytes=1024)


MEDIA = "/media/upload"


async def test_a_file_and_a_picture_are_uploaded_and_sent(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    """The legacy media upload gives a media id; sampleFile / sampleImageMsg send it."""
    from handlers.dingtalk.openapi import file_message, image_message

    media_id = await client.upload_media(b"PK\x03\x04 workbook", "通报.xlsx", "file")
    assert media_id.startswith("@lA")
    await client.send_to_users(["liaison1"], file_message(media_id, "通报.xlsx"))
    picture = await client.upload_media(b"\x89PNG board", "红黑榜.png", "image")
    await client.send_to_group("cidgroup1", image_message(picture))
    [upload, upload2] = standin.recorder.calls_to(MEDIA)
    assert upload.body == {"type": "file", "filename": "通报.xlsx", "size": 13}
    assert upload2.body["type"] == "image"
    sent_file, sent_picture = standin.messages()[-2:]
    assert sent_file.msg_key == "sampleFile" and sent_file.to == ("user", "liaison1")
    assert sent_file.param["fileName"] == "通报.xlsx" and sent_file.param["fileType"] == "xlsx"
    assert standin.media(sent_file).content == b"PK\x03\x04 workbook"
    assert sent_picture.msg_key == "sampleImageMsg" and sent_picture.to == ("group", "cidgroup1")
    assert standin.media(sent_picture).content == b"\x89PNG board"


async def test_uploads_over_the_limit_and_unknown_media_are_refused(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    from handlers.dingtalk import openapi

    with pytest.raises(PermanentError):  # refused here, before the bytes travel
        await client.upload_media(b"x" * (openapi.MAX_MEDIA_BYTES + 1), "big.zip")
    assert standin.recorder.calls_to(MEDIA) == []
    client_limit, openapi.MAX_MEDIA_BYTES = openapi.MAX_MEDIA_BYTES, 10**9
    try:  # the stand-in's own limit: errcode 40006
        with pytest.raises(PermanentError) as refused:
            await client.upload_media(b"x" * (client_limit + 1), "big.zip")
    finally:
        openapi.MAX_MEDIA_BYTES = client_limit
    assert refused.value.code == "40006"
    with pytest.raises(PermanentError):  # a media id never uploaded
        await client.send_to_users(["liaison1"], openapi.file_message("@lAnope", "a.pdf"))


async def test_an_upload_with_a_stale_token_fetches_a_new_one(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    await client.access_token()
    standin.expire_tokens()
    assert (await client.upload_media(b"data", "a.pdf")).startswith("@lA")
    assert [c.response["errcode"] for c in standin.recorder.calls_to(MEDIA)] == [40014, 0]


def test_a_file_message_names_its_type_by_the_extension() -> None:
    from handlers.dingtalk.openapi import file_message, image_message

    assert file_message("@lA1", "通报.XLSX") == (
        "sampleFile",
        {"mediaId": "@lA1", "fileName": "通报.XLSX", "fileType": "xlsx"},
    )
    assert file_message("@lA2", "说明")[1]["fileType"] == "file"  # no extension
    assert image_message("@lA3") == ("sampleImageMsg", {"photoURL": "@lA3"})


async def test_legacy_upload_errors_are_classified(
    standin: DingTalkStandIn, client: OpenApiClient
) -> None:
    standin.inject(MEDIA, 200, "90018", "调用频率超过限制")
    with pytest.raises(RateLimited):
        await client.upload_media(b"data", "a.pdf")
    standin.inject(MEDIA, 200, "-1", "系统繁忙")
    with pytest.raises(TransientError):
        await client.upload_media(b"data", "a.pdf")
    standin.inject(MEDIA, 503, "ServiceUnavailable", "系统繁忙")
    with pytest.raises(TransientError):
        await client.upload_media(b"data", "a.pdf")
    assert (await client.upload_media(b"data", "a.pdf")).startswith("@lA")
