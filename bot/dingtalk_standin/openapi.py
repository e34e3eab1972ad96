"""The OpenAPI endpoints the bot calls: token, send to people, send to groups, files, webhook.

Payloads follow DingTalk's documentation of the new-style API (``api.dingtalk.com``):
- ``POST /v1.0/oauth2/accessToken`` ``{appKey, appSecret}`` → ``{accessToken, expireIn}``
- ``POST /v1.0/robot/oToMessages/batchSend`` ``{robotCode, userIds ≤ 20, msgKey, msgParam}``
  → ``{processQueryKey, invalidStaffIdList, flowControlledStaffIdList}``
- ``POST /v1.0/robot/groupMessages/send`` ``{robotCode, openConversationId, msgKey, msgParam}``
  → ``{processQueryKey}``
- ``POST /v1.0/robot/messageFiles/download`` ``{downloadCode, robotCode}`` → ``{downloadUrl}``
- ``POST /topapi/v2/user/getuserinfo?access_token=…`` ``{code}`` (legacy ``oapi`` style): the
  H5 micro app's 免登 code → ``{errcode: 0, result: {userid, name, unionid}}``; a code is good
  once, for five minutes (documented); an unknown one is ``errcode`` 40078 (documented)
- the session webhook (``sessionWebhook`` of an incoming message), legacy ``oapi`` style:
  ``{msgtype, text|markdown|actionCard}`` → ``{errcode, errmsg}``.
- ``POST /media/upload?access_token=…&type=file|image`` (legacy ``oapi``), multipart field
  ``media`` → ``{errcode: 0, type, media_id: "@lA…", created_at}`` (documented); a file over
  20 MB (documented for ``file``; a picture is documented smaller, 20 MB is our limit here)
  is ``errcode`` 40006 and a wrong type 40004 (the codes are guessed). A ``sampleFile`` /
  ``sampleImageMsg`` message must name an uploaded media id (``mediaId`` / ``photoURL``),
  else 400 ``invalidParameter.mediaId`` (guessed).
Error bodies are ``{"code": ..., "message": ...}`` with an HTTP status; the codes for a robot
not in a group and for a missing permission are guessed and marked so below.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.dingtalk_standin.records import (
    SERVER_ERROR_CODE,
    THROTTLE_CODE,
    THROTTLE_MESSAGE,
    THROTTLE_STATUS,
    Recorder,
)

__all__ = ["OpenApi", "StoredFile", "StoredMedia"]

TOKEN_PATH = "/v1.0/oauth2/accessToken"
BATCH_SEND_PATH = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
DOWNLOAD_PATH = "/v1.0/robot/messageFiles/download"
WEBHOOK_PATH = "/robot/sendBySession"
USERINFO_PATH = "/topapi/v2/user/getuserinfo"
AUTH_CODE_LIFETIME = 300.0  # documented: a 免登 code is valid for five minutes, once
FILES_PATH = "/standin-files/{token}"
MEDIA_UPLOAD_PATH = "/media/upload"
MAX_MEDIA_BYTES = 20 * 1024 * 1024

MAX_USERS_PER_BATCH = 20  # documented
MAX_MSG_PARAM_BYTES = 15_000  # documented for groupMessages/send; assumed for batchSend too
MSG_KEYS = frozenset(
    {
        "sampleText",
        "sampleMarkdown",
        "sampleLink",
        "sampleImageMsg",
        "sampleFile",
        "sampleActionCard",
        "sampleActionCard2",
        "sampleActionCard3",
        "sampleActionCard4",
        "sampleActionCard5",
        "sampleActionCard6",
    }
)
# Guessed codes (DingTalk documents these situations, not these exact strings for the robot).
ROBOT_NOT_IN_GROUP_CODE = "resource.not.found"
PERMISSION_DENIED_CODE = "Forbidden.AccessDenied.AccessTokenPermissionDenied"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class StoredFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class StoredMedia:
    """An upload to the media store: what a ``sampleFile``/``sampleImageMsg`` shows."""

    name: str
    kind: str  # "file" or "image"
    content: bytes


@dataclass
class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds (wall clock, as DingTalk counts)."""

    limit: int
    window: float
    events: deque[float] = field(default_factory=deque)

    def allow(self) -> bool:
        now = time.monotonic()
        while self.events and now - self.events[0] >= self.window:
            self.events.popleft()
        if len(self.events) >= self.limit:
            return False
        self.events.append(now)
        return True


@dataclass
class OpenApi:
    recorder: Recorder
    client_id: str
    client_secret: str
    robot_code: str
    base_url: str = ""
    token_lifetime: int = 7200
    group_limit: tuple[int, float] = (20, 60.0)  # documented: ~20 messages/minute per group
    app_limit: tuple[int, float] = (20, 1.0)  # guessed: per-app QPS of a send API
    users: dict[str, str] = field(default_factory=dict)  # staff id -> nick
    groups: dict[str, str] = field(default_factory=dict)  # open conversation id -> title
    files: dict[str, StoredFile] = field(default_factory=dict)  # download code -> file
    media: dict[str, StoredMedia] = field(default_factory=dict)  # media id -> upload
    downloads: dict[str, StoredFile] = field(default_factory=dict)  # url token -> file
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    sessions: dict[str, tuple[tuple[str, str], float]] = field(default_factory=dict)
    auth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code -> staff, expiry
    no_permission: bool = False
    _group_windows: dict[str, SlidingWindow] = field(default_factory=dict)
    _app_windows: dict[str, SlidingWindow] = field(default_factory=dict)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(TOKEN_PATH, self._wrap(TOKEN_PATH, self._token, auth=False)),
            web.post(BATCH_SEND_PATH, self._wrap(BATCH_SEND_PATH, self._batch_send)),
            web.post(GROUP_SEND_PATH, self._wrap(GROUP_SEND_PATH, self._group_send)),
            web.post(DOWNLOAD_PATH, self._wrap(DOWNLOAD_PATH, self._download)),
            web.post(WEBHOOK_PATH, self._webhook),
            web.post(USERINFO_PATH, self._userinfo),
            web.post(MEDIA_UPLOAD_PATH, self._media_upload),
            web.get(FILES_PATH, self._serve_file),
        ]

    # ------------------------------------------------------------------ plumbing
    def _wrap(self, path: str, handler: Any, auth: bool = True) -> Any:
        async def serve(request: web.Request) -> web.Response:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                body = {}
            try:
                fault = self.recorder.take_fault(path)
                if fault is not None:
                    raise ApiError(fault.status, fault.code, fault.message)
                if auth:
                    self._check_token(request.headers.get("x-acs-dingtalk-access-token", ""))
                answer = handler(body)
            except ApiError as exc:
                error = {
                    "code": exc.code,
                    "message": exc.message,
                    "requestid": secrets.token_hex(8),
                }
                self.recorder.record(path, body, exc.status, error)
                return web.json_response(error, status=exc.status)
            self.recorder.record(path, body, 200, answer)
            return web.json_response(answer)

        return serve

    def _check_token(self, token: str) -> None:
        expiry = self.tokens.get(token)
        if expiry is None or expiry <= time.monotonic():
            # Documented: an expired or unknown token is HTTP 401 "InvalidAuthentication".
            raise ApiError(401, "InvalidAuthentication", "不合法的access_token")
        if self.no_permission:
            raise ApiError(403, PERMISSION_DENIED_CODE, "没有调用该接口的权限")

    def _throttle(self, windows: dict[str, SlidingWindow], key: str, limit: tuple[int, float]):  # type: ignore[no-untyped-def]
        window = windows.setdefault(key, SlidingWindow(*limit))
        if not window.allow():
            raise ApiError(THROTTLE_STATUS, THROTTLE_CODE, THROTTLE_MESSAGE)

    def _message(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = str(body.get("msgKey", ""))
        if key not in MSG_KEYS:
            raise ApiError(400, "invalidParameter.msgKey", f"msgKey {key!r} 不支持")
        raw = str(body.get("msgParam", ""))
        if len(raw.encode()) > MAX_MSG_PARAM_BYTES:
            raise ApiError(400, "invalidParameter.msgParam", "msgParam 超过长度限制")
        try:
            param = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "invalidParameter.msgParam", "msgParam 不是合法的 JSON") from exc
        if not isinstance(param, dict):
            raise ApiError(400, "invalidParameter.msgParam", "msgParam 不是对象")
        media = {"sampleFile": "mediaId", "sampleImageMsg": "photoURL"}.get(key)
        if media is not None and str(param.get(media, "")) not in self.media:
            raise ApiError(400, "invalidParameter.mediaId", "mediaId 不存在")
        return key, param

    def _check_robot(self, body: dict[str, Any]) -> None:
        if body.get("robotCode") != self.robot_code:
            raise ApiError(400, "invalidParameter.robotCode", "robotCode 不存在")

    # ------------------------------------------------------------------ endpoints
    def _token(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            raise ApiError(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        token = secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return {"accessToken": token, "expireIn": self.token_lifetime}

    def _batch_send(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_robot(body)
        user_ids = [str(u) for u in body.get("userIds") or []]
        if not user_ids or len(user_ids) > MAX_USERS_PER_BATCH:
            raise ApiError(400, "invalidParameter.userIds", "userIds 数量需在1到20之间")
        key, param = self._message(body)
        self._throttle(self._app_windows, BATCH_SEND_PATH, self.app_limit)
        invalid = [u for u in user_ids if u not in self.users]
        for user in user_ids:
            if user not in invalid:
                self.recorder.deliver(("user", user), key, param, "batchSend")
        return {
            "processQueryKey": secrets.token_hex(8),
            "invalidStaffIdList": invalid,
            "flowControlledStaffIdList": [],
        }

    def _group_send(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_robot(body)
        group = str(body.get("openConversationId", ""))
        key, param = self._message(body)
        if group not in self.groups:
            raise ApiError(400, ROBOT_NOT_IN_GROUP_CODE, "机器人不在该群或群不存在")
        self._throttle(self._group_windows, group, self.group_limit)
        self.recorder.deliver(("group", group), key, param, "groupMessages")
        return {"processQueryKey": secrets.token_hex(8)}

    def _download(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_robot(body)
        stored = self.files.get(str(body.get("downloadCode", "")))
        if stored is None:
            raise ApiError(400, "invalidParameter.downloadCode", "downloadCode 无效或已过期")
        token = secrets.token_urlsafe(12)
        self.downloads[token] = stored
        return {"downloadUrl": f"{self.base_url}{FILES_PATH.format(token=token)}"}

    async def _serve_file(self, request: web.Request) -> web.Response:
        stored = self.downloads.pop(request.match_info["token"], None)
        if stored is None:
            raise web.HTTPNotFound()
        self.recorder.record("file", {"name": stored.name}, 200, len(stored.content))
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def issue_auth_code(self, staff_id: str) -> str:
        """What ``dd.runtime.permission.requestAuthCode`` gives the page of ``staff_id``."""
        code = secrets.token_hex(16)
        self.auth_codes[code] = (staff_id, time.monotonic() + AUTH_CODE_LIFETIME)
        return code

    async def _userinfo(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {}
        token = request.query.get("access_token", "")
        expiry = self.tokens.get(token)
        found = self.auth_codes.pop(str(body.get("code", "")), None)
        if expiry is None or expiry <= time.monotonic():
            answer: dict[str, Any] = {"errcode": 40014, "errmsg": "不合法的access_token"}
        elif found is None or found[1] <= time.monotonic() or found[0] not in self.users:
            answer = {"errcode": 40078, "errmsg": "不存在的临时授权码"}
        else:
            staff_id = found[0]
            answer = {
                "errcode": 0,
                "errmsg": "ok",
                "result": {
                    "userid": staff_id,
                    "name": self.users[staff_id],
                    "unionid": f"union-{staff_id}",
                    "sys": False,
                },
            }
        self.recorder.record(USERINFO_PATH, body, 200, answer)
        return web.json_response(answer)

    async def _media_upload(self, request: web.Request) -> web.Response:
        token, kind = request.query.get("access_token", ""), request.query.get("type", "")
        name, data = "", b""
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if getattr(part, "name", None) == "media":
                    name = str(getattr(part, "filename", "") or "")
                    data = await part.read()  # type: ignore[union-attr]
        expiry = self.tokens.get(token)
        answer: dict[str, Any]
        record = {"type": kind, "filename": name, "size": len(data)}
        fault = self.recorder.take_fault(MEDIA_UPLOAD_PATH)
        if fault is not None and fault.status != 200:  # an injected server error
            answer = {"errcode": -1, "errmsg": fault.message}
            self.recorder.record(MEDIA_UPLOAD_PATH, record, fault.status, answer)
            return web.json_response(answer, status=fault.status)
        if fault is not None:  # an injected legacy error: HTTP 200, errcode ≠ 0
            answer = {"errcode": int(fault.code), "errmsg": fault.message}
        elif expiry is None or expiry <= time.monotonic():
            answer = {"errcode": 40014, "errmsg": "不合法的access_token"}
        elif kind not in ("file", "image", "voice", "video"):
            answer = {"errcode": 40004, "errmsg": "不合法的媒体文件类型"}
        elif not name or not data:
            answer = {"errcode": 41001, "errmsg": "缺少参数 media"}  # guessed code
        elif len(data) > MAX_MEDIA_BYTES:
            answer = {"errcode": 40006, "errmsg": "不合法的文件大小"}
        else:
            media_id = "@lA" + secrets.token_urlsafe(18)
            self.media[media_id] = StoredMedia(name, kind, data)
            answer = {
                "errcode": 0,
                "errmsg": "ok",
                "type": kind,
                "media_id": media_id,
                "created_at": int(time.time() * 1000),
            }
        self.recorder.record(MEDIA_UPLOAD_PATH, record, 200, answer)
        return web.json_response(answer)

    def media_of(self, param: dict[str, Any]) -> StoredMedia:
        """The upload a delivered ``sampleFile``/``sampleImageMsg`` shows (for tests)."""
        return self.media[str(param.get("mediaId") or param.get("photoURL"))]

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        session = self.sessions.get(request.query.get("session", ""))
        if session is None or session[1] <= time.monotonic():
            # Documented legacy error shape; 300001-style code for an expired session guessed.
            answer: dict[str, Any] = {"errcode": 300001, "errmsg": "session 不存在或已过期"}
        else:
            kind = str(body.get("msgtype", ""))
            content = body.get(kind)
            if kind not in {"text", "markdown", "actionCard"} or not isinstance(content, dict):
                answer = {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
            else:
                msg_key = {"text": "sampleText", "markdown": "sampleMarkdown"}.get(
                    kind, "sampleActionCard"
                )
                self.recorder.deliver(session[0], msg_key, content, "sessionWebhook")
                answer = {"errcode": 0, "errmsg": "ok"}
        self.recorder.record(WEBHOOK_PATH, body, 200, answer)
        return web.json_response(answer)

    def new_session(self, to: tuple[str, str], lifetime: float = 5400.0) -> str:
        token = secrets.token_urlsafe(12)
        self.sessions[token] = (to, time.monotonic() + lifetime)
        return f"{self.base_url}{WEBHOOK_PATH}?session={token}"


def server_error(message: str = "系统繁忙") -> tuple[int, str, str]:
    return 500, SERVER_ERROR_CODE, message
