"""``DingTalkStandIn``: the gateway and the OpenAPI on one local port, on their own thread.

The real SDK reaches it through ``DINGTALK_OPENAPI_ENDPOINT``.  It runs on a private event
loop in a daemon thread because the SDK opens connections and fetches tokens with blocking
``requests`` calls from the bot's loop: a server on that same loop could never answer them.
Every public method is safe to call from any thread except the stand-in's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from bot.dingtalk_standin.gateway import Gateway
from bot.dingtalk_standin.openapi import OpenApi, StoredFile, StoredMedia
from bot.dingtalk_standin.records import (
    SERVER_ERROR_CODE,
    THROTTLE_CODE,
    THROTTLE_MESSAGE,
    THROTTLE_STATUS,
    Fault,
    Recorder,
    SentMessage,
)

__all__ = ["CARD_CALLBACK_TOPIC", "CHATBOT_TOPIC", "DingTalkStandIn"]

CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_CALLBACK_TOPIC = "/v1.0/card/instances/callback"
CORP_ID = "dingstandincorp"
T = TypeVar("T")


def _dingtalk_id(staff_id: str) -> str:
    """The per-app opaque sender id DingTalk puts in ``senderId`` (format as observed)."""
    return "$:LWCP_v1:$" + hashlib.sha256(staff_id.encode()).hexdigest()[:24]


class DingTalkStandIn:
    def __init__(
        self,
        client_id: str = "dingstandinkey",
        client_secret: str = "standin-secret",
        robot_code: str = "dingstandinrobot",
        *,
        ack_timeout: float = 5.0,
        group_limit: tuple[int, float] = (20, 60.0),
        app_limit: tuple[int, float] = (20, 1.0),
        token_lifetime: int = 7200,
    ) -> None:
        self.client_id, self.client_secret, self.robot_code = client_id, client_secret, robot_code
        self.recorder = Recorder()
        self.gateway = Gateway(self.recorder, client_id, client_secret, ack_timeout=ack_timeout)
        self.openapi = OpenApi(
            self.recorder,
            client_id,
            client_secret,
            robot_code,
            group_limit=group_limit,
            app_limit=app_limit,
            token_lifetime=token_lifetime,
        )
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(host, port))
            except BaseException as exc:  # surfaced to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="dingtalk-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self.base_url

    async def _serve(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(self.gateway.routes() + self.openapi.routes())
        self._runner = web.AppRunner(app, access_log=None)  # every call is in the recorder
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        bound = sockets[0].getsockname()[1]
        self.base_url = f"http://{host}:{bound}"
        self.gateway.base_url = self.openapi.base_url = self.base_url

    async def _shutdown(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        assert self._loop is not None, "stand-in not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def _on_loop(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the stand-in's loop (its state belongs to that loop)."""
        return self._call(self._run(fn, *args))

    # ------------------------------------------------------------------ the world
    def add_user(self, staff_id: str, nick: str) -> None:
        self._on_loop(self.openapi.users.__setitem__, staff_id, nick)

    def auth_code(self, staff_id: str) -> str:
        """A 免登 code for ``staff_id``, as the DingTalk client gives an H5 page (once, 5 min)."""
        return str(self._on_loop(self.openapi.issue_auth_code, staff_id))

    def remove_user(self, staff_id: str) -> None:
        """The person left the organisation: sends to them come back as invalid staff ids."""
        self._on_loop(self.openapi.users.pop, staff_id, None)

    def add_group(self, conversation_id: str, title: str) -> None:
        self._on_loop(self.openapi.groups.__setitem__, conversation_id, title)

    def remove_group(self, conversation_id: str) -> None:
        """The robot was removed from the group."""
        self._on_loop(self.openapi.groups.pop, conversation_id, None)

    def revoke_permission(self, revoked: bool = True) -> None:
        self._on_loop(setattr, self.openapi, "no_permission", revoked)

    def expire_tokens(self) -> None:
        self._on_loop(self.openapi.tokens.clear)

    # ------------------------------------------------------------------ what users do
    def send_text(
        self, staff_id: str, text: str, *, group: str | None = None, at_robot: bool = True
    ) -> str | None:
        """A user types ``text`` to the robot (1:1, or in ``group``).

        In a group DingTalk delivers only messages that @ the robot; others return None.
        The @-mention itself is not in ``text.content`` (DingTalk strips it and leaves the
        leading space, as observed in SDK issue reports — guessed detail).
        """
        if group is not None and not at_robot:
            self.recorder.record("not-delivered", {"staffId": staff_id, "text": text}, 0, None)
            return None
        content = f" {text}" if group is not None else text
        return self._push_message(staff_id, group, "text", {"text": {"content": content}})

    def send_file(
        self, staff_id: str, name: str, content: bytes, *, group: str | None = None
    ) -> str | None:
        code = self.store_file(name, content)
        # Documented file message: content.downloadCode + content.fileName.
        return self._push_message(
            staff_id, group, "file", {"content": {"downloadCode": code, "fileName": name}}
        )

    def send_picture(
        self, staff_id: str, content: bytes, *, group: str | None = None
    ) -> str | None:
        code = self.store_file("image.png", content)
        return self._push_message(
            staff_id,
            group,
            "picture",
            {"content": {"downloadCode": code, "pictureDownloadCode": code}},
        )

    def press(self, staff_id: str, message: SentMessage, title: str) -> str | None:
        """Press the action-card button ``title`` of ``message``.

        A ``dtmd://dingtalkclient/sendMessage?content=...`` button makes the DingTalk client
        send ``content`` as the user's own message in the same chat; that is what we do.
        """
        urls = dict(message.buttons)
        if title not in urls:
            raise KeyError(f"no button {title!r} in {message.buttons}")
        url = urls[title]
        parts = urlsplit(url)
        if parts.scheme != "dtmd":
            raise ValueError(f"button {title!r} opens {url!r}, not a sendMessage link")
        content = parse_qs(parts.query).get("content", [""])[0]
        group = message.to[1] if message.to[0] == "group" else None
        return self.send_text(staff_id, content, group=group)

    def card_action(self, staff_id: str, out_track_id: str, params: dict[str, Any]) -> str:
        """An interactive-card button press, delivered on the card callback topic."""
        data = {
            "extension": "{}",
            "corpId": CORP_ID,
            "userId": staff_id,
            "outTrackId": out_track_id,
            "type": "actionCallback",
            "content": json.dumps({"cardPrivateData": {"actionIds": ["btn"], "params": params}}),
        }
        return self._call(self.gateway.push("CALLBACK", CARD_CALLBACK_TOPIC, data))

    def media(self, message: SentMessage) -> StoredMedia:
        """What a delivered file or picture message shows: the upload it names."""
        found: StoredMedia = self._on_loop(self.openapi.media_of, message.param)
        return found

    def store_file(self, name: str, content: bytes) -> str:
        code = "dc" + secrets.token_urlsafe(18)
        self._on_loop(self.openapi.files.__setitem__, code, StoredFile(name, content))
        return code

    def _push_message(
        self, staff_id: str, group: str | None, msgtype: str, body: dict[str, Any]
    ) -> str:
        nick = self.openapi.users.get(staff_id, staff_id)
        to = ("group", group) if group is not None else ("user", staff_id)
        conversation = group or "cid" + hashlib.sha256(staff_id.encode()).hexdigest()[:20]
        now_ms = int(time.time() * 1000)
        msg_id = "msg" + secrets.token_hex(10)
        data: dict[str, Any] = {
            "conversationId": conversation,
            "chatbotCorpId": CORP_ID,
            "chatbotUserId": "$:LWCP_v1:$robot",
            "msgId": msg_id,
            "senderNick": nick,
            "isAdmin": False,
            "senderStaffId": staff_id,
            "sessionWebhookExpiredTime": now_ms + 90 * 60 * 1000,
            "createAt": now_ms,
            "senderCorpId": CORP_ID,
            "conversationType": "2" if group is not None else "1",
            "senderId": _dingtalk_id(staff_id),
            "sessionWebhook": "",
            "robotCode": self.robot_code,
            "msgtype": msgtype,
            **body,
        }
        if group is not None:
            data["isInAtList"] = True
            data["conversationTitle"] = self.openapi.groups.get(group, group)
            data["atUsers"] = [{"dingtalkId": "$:LWCP_v1:$robot"}]
        data["sessionWebhook"] = self._on_loop(self.openapi.new_session, to)
        self._call(self.gateway.push("CALLBACK", CHATBOT_TOPIC, data))
        return msg_id

    # ------------------------------------------------------------------ faults
    def inject(self, endpoint: str, status: int, code: str, message: str, times: int = 1) -> None:
        self.recorder.inject(endpoint, Fault(status, code, message, times))

    def throttle(self, endpoint: str, times: int = 1) -> None:
        """The next ``times`` calls to ``endpoint`` answer DingTalk's flow-control error."""
        self.inject(endpoint, THROTTLE_STATUS, THROTTLE_CODE, THROTTLE_MESSAGE, times)

    def server_error(self, endpoint: str, times: int = 1) -> None:
        self.inject(endpoint, 500, SERVER_ERROR_CODE, "系统繁忙", times)

    def lose_acks(self, count: int = 1) -> None:
        """Drop the next ``count`` ACKs, so DingTalk redelivers those frames."""
        self._on_loop(setattr, self.gateway, "ignore_acks", self.gateway.ignore_acks + count)

    def redeliver_unacked(self) -> int:
        """Redeliver every frame whose ACK has not arrived, now; how many were sent."""
        return self._call(self.gateway.redeliver_now())

    def disconnect(self) -> None:
        self._call(self.gateway.disconnect())

    def ping(self) -> str:
        return self._call(self.gateway.ping())

    # ------------------------------------------------------------------ observing
    def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.gateway.sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("the SDK did not connect")
            time.sleep(0.02)

    def wait_acked(self, message_id: str, timeout: float = 10.0) -> int:
        """Wait until the frame carrying ``msgId``/``messageId`` is ACKed; return the code."""
        deadline = time.monotonic() + timeout
        while True:
            for ack in list(self.gateway.acks):
                if ack.message_id == message_id:
                    return ack.code
            frame_ids = self._frame_ids_for(message_id)
            for ack in list(self.gateway.acks):
                if ack.message_id in frame_ids:
                    return ack.code
            if time.monotonic() > deadline:
                raise TimeoutError(f"frame {message_id} not acknowledged")
            time.sleep(0.02)

    def _frame_ids_for(self, msg_id: str) -> set[str]:
        ids: set[str] = set()
        for call in self.recorder.calls_to("frame"):
            if msg_id in str(call.body.get("data", "")):
                ids.add(str(call.body["headers"]["messageId"]))
        return ids

    def deliveries(self, msg_id: str) -> int:
        """How many times the frame carrying robot message ``msg_id`` went to the bot."""
        return sum(
            1 for call in self.recorder.calls_to("frame") if msg_id in str(call.body.get("data"))
        )

    def messages(self, to: tuple[str, str] | None = None, start: int = 0) -> list[SentMessage]:
        return self.recorder.messages(to, start)

    def wait_for_messages(
        self, count: int, to: tuple[str, str] | None = None, start: int = 0, timeout: float = 5.0
    ) -> list[SentMessage]:
        return self.recorder.wait_for_messages(count, to, start, timeout)
