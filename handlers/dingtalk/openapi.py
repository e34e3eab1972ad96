"""An async client for the DingTalk OpenAPI calls the bot makes.

- the access token of the internal app, cached and refreshed ``refresh_margin`` before it
  expires (and once more if DingTalk answers 401 anyway);
- robot messages to people (``oToMessages/batchSend``, ≤ 20 staff ids per call) and to
  groups (``groupMessages/send``), as markdown or as an action card with buttons;
- files of incoming messages through ``messageFiles/download`` and the URL it returns;
- files and pictures *to* DingTalk: uploaded to the media store (legacy ``media/upload``)
  and sent as ``sampleFile`` / ``sampleImageMsg`` robot messages (:func:`file_message`,
  :func:`image_message`);
- the web app's 免登 inside DingTalk: the H5 page's auth code → the person's staff id
  (``topapi/v2/user/getuserinfo``, on the legacy host ``oapi.dingtalk.com``; a stand-in that
  takes the new host's place serves both, so the legacy base follows it).

Errors are classified once, here, so the sender decides without knowing DingTalk:
:class:`RateLimited` (wait ``retry_after`` and try again), :class:`PermanentError` (the
person left, the robot is not in the group, the app lacks a permission: never retried, shown
to admins once) and :class:`TransientError` (5xx, network: retry with back-off).

A group robot may post about 20 messages a minute; :class:`GroupPacer` spaces posts to one
group so that DingTalk's limit is never hit in the first place.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = [
    "Button",
    "DingTalkError",
    "GroupPacer",
    "OpenApiClient",
    "PermanentError",
    "RateLimited",
    "SendResult",
    "TransientError",
    "action_card",
    "file_message",
    "image_message",
    "legacy_base",
    "markdown",
]

MAX_USERS_PER_BATCH = 20
MAX_BUTTONS = 5  # sampleActionCard (1), sampleActionCard2..5 (2..5 vertical buttons)
DEFAULT_RATE_LIMIT_WAIT = 2.0
APP_QPS = 15.0  # under the ~20 calls a second an app's send API takes (a guess, see the stand-in)
NEW_HOST, LEGACY_HOST = "https://api.dingtalk.com", "https://oapi.dingtalk.com"
USERINFO_PATH = "/topapi/v2/user/getuserinfo"
MEDIA_UPLOAD_PATH = "/media/upload"
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # DingTalk documents 20 MB for a file, less for a picture
STALE_TOKEN_CODES = (40001, 40014, 42001)
# The legacy host's errcodes: -1 系统繁忙 (retry); 90002 / 90018 / 90019 flow control (from
# DingTalk's 全局返回码 page: all apps / this app / a third-party app over the API's rate).
LEGACY_BUSY, LEGACY_THROTTLED = -1, (90002, 90018, 90019)


def legacy_base(base_url: str) -> str:
    """The legacy (``oapi``) host next to the new-style ``base_url``."""
    base = base_url.rstrip("/")
    return LEGACY_HOST if base == NEW_HOST else base


class DingTalkError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"DingTalk {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class RateLimited(DingTalkError):
    def __init__(self, status: int, code: str, message: str, retry_after: float) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class PermanentError(DingTalkError):
    """Retrying cannot help: a person to tell an admin about, once."""


class TransientError(DingTalkError):
    pass


def classify(
    status: int, body: dict[str, Any], wait: float = DEFAULT_RATE_LIMIT_WAIT
) -> DingTalkError:
    """DingTalk's answer as one of the error classes (``wait``: how long a throttle lasts —
    DingTalk sends no Retry-After, so this is ours)."""
    code = str(body.get("code", ""))
    message = str(body.get("message", ""))
    if "QpsLimit" in code or "Throttling" in code or status == 429:
        return RateLimited(status, code, message, wait)
    if status >= 500 or status == 0:
        return TransientError(status, code, message)
    return PermanentError(status, code, message)


@dataclass(frozen=True)
class Button:
    title: str
    url: str


def markdown(title: str, text: str) -> tuple[str, dict[str, str]]:
    """``(msgKey, msgParam)`` of a markdown message; ``text`` must already be escaped."""
    return "sampleMarkdown", {"title": title, "text": text}


def action_card(title: str, text: str, buttons: Sequence[Button]) -> tuple[str, dict[str, str]]:
    """An action card with 1–5 vertical buttons (``sampleActionCard`` for one)."""
    if not buttons:
        return markdown(title, text)
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"an action card holds at most {MAX_BUTTONS} buttons")
    if len(buttons) == 1:
        return "sampleActionCard", {
            "title": title,
            "text": text,
            "singleTitle": buttons[0].title,
            "singleURL": buttons[0].url,
        }
    param = {"title": title, "text": text}
    for i, button in enumerate(buttons, start=1):
        param[f"actionTitle{i}"] = button.title
        param[f"actionURL{i}"] = button.url
    return f"sampleActionCard{len(buttons)}", param  # 2..5 vertical buttons


def file_message(media_id: str, file_name: str) -> tuple[str, dict[str, str]]:
    """A file the recipient opens (``sampleFile``: mediaId, fileName, fileType).

    The msgParam fields are DingTalk's documented ones for a robot's file message; that the
    ``media_id`` of the legacy upload is accepted there is documented too, not tried live."""
    _, dot, ext = file_name.rpartition(".")
    return "sampleFile", {
        "mediaId": media_id,
        "fileName": file_name,
        "fileType": ext.lower() if dot and ext else "file",
    }


def image_message(media_id: str) -> tuple[str, dict[str, str]]:
    """A picture shown in the chat (``sampleImageMsg``). Its documented field is a URL
    (``photoURL``); DingTalk accepts an uploaded picture's ``media_id`` there (documented
    for the robot's picture message, not tried on a live tenant)."""
    return "sampleImageMsg", {"photoURL": media_id}


@dataclass(frozen=True)
class SendResult:
    delivered: list[str]
    invalid: list[str]  # staff ids DingTalk does not know (left the organisation)
    flow_controlled: list[str]  # staff ids DingTalk deferred: send to them again later


@dataclass
class GroupPacer:
    """At most ``limit`` posts per ``window`` seconds to one group (DingTalk: ~20/min)."""

    limit: int = 20
    window: float = 60.0
    now: Callable[[], float] = time.monotonic
    _sent: dict[str, deque[float]] = field(default_factory=dict)

    def wait_for(self, group: str) -> float:
        """Seconds to wait before the next post to ``group`` (0: post now, and counted)."""
        stamps = self._sent.setdefault(group, deque())
        now = self.now()
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return stamps[0] + self.window - now
        stamps.append(now)
        return 0.0


class OpenApiClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        robot_code: str,
        *,
        refresh_margin: float = 300.0,
        now: Callable[[], float] = time.monotonic,
        pacer: GroupPacer | None = None,
        timeout: float = 15.0,
        rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT,
        app_qps: float = APP_QPS,
    ) -> None:
        self.rate_limit_wait = rate_limit_wait
        # An app's send APIs are flow-controlled per second (Forbidden.AccessDenied.QpsLimit…):
        # calls are spaced so a burst (a card with more choices, a fan-out) stays under it.
        self._spacing = 1.0 / app_qps if app_qps > 0 else 0.0
        self._next_call = 0.0
        self._pace_lock = asyncio.Lock()
        self.base_url = base_url.rstrip("/")
        self.client_id, self.client_secret, self.robot_code = client_id, client_secret, robot_code
        self.refresh_margin = refresh_margin
        self.now = now
        self.pacer = pacer or GroupPacer(now=now)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.token_fetches = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    # ------------------------------------------------------------------ token
    async def access_token(self, *, force: bool = False) -> str:
        async with self._token_lock:
            if not force and self._token and self.now() < self._token_expires:
                return self._token
            answer = await self._post(
                "/v1.0/oauth2/accessToken",
                {"appKey": self.client_id, "appSecret": self.client_secret},
                token=None,
            )
            self.token_fetches += 1
            self._token = str(answer["accessToken"])
            lifetime = float(answer.get("expireIn", 7200))
            self._token_expires = self.now() + max(lifetime - self.refresh_margin, lifetime / 2)
            return self._token

    async def _post(self, path: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"x-acs-dingtalk-access-token": token} if token else {}
        try:
            async with self._http().post(self.base_url + path, json=body, headers=headers) as r:
                status = r.status
                try:
                    answer = await r.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError):
                    answer = {"message": (await r.text())[:200]}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(0, type(exc).__name__, str(exc)) from exc
        if status != 200:
            raise classify(status, answer if isinstance(answer, dict) else {}, self.rate_limit_wait)
        return answer if isinstance(answer, dict) else {}

    async def _paced(self) -> None:
        if not self._spacing:
            return
        async with self._pace_lock:
            now = time.monotonic()
            wait = self._next_call - now
            self._next_call = max(now, self._next_call) + self._spacing
        if wait > 0:
            await asyncio.sleep(wait)

    async def _authorized(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        await self._paced()
        try:
            return await self._post(path, body, await self.access_token())
        except PermanentError as exc:
            if exc.status != 401:
                raise
        # The token was revoked or expired early: fetch a new one, once.
        return await self._post(path, body, await self.access_token(force=True))

    # ------------------------------------------------------------------ sends
    async def send_to_users(
        self, staff_ids: Sequence[str], message: tuple[str, dict[str, str]]
    ) -> SendResult:
        if not 1 <= len(staff_ids) <= MAX_USERS_PER_BATCH:
            raise ValueError("batchSend takes 1 to 20 staff ids")
        key, param = message
        answer = await self._authorized(
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": self.robot_code,
                "userIds": list(staff_ids),
                "msgKey": key,
                "msgParam": json.dumps(param, ensure_ascii=False),
            },
        )
        invalid = [str(u) for u in answer.get("invalidStaffIdList") or []]
        deferred = [str(u) for u in answer.get("flowControlledStaffIdList") or []]
        skip = set(invalid) | set(deferred)
        return SendResult([u for u in staff_ids if u not in skip], invalid, deferred)

    async def send_to_group(
        self, conversation_id: str, message: tuple[str, dict[str, str]]
    ) -> None:
        """Post to a group, waiting our turn under the ~20/minute limit."""
        # Time-based pacing: there is no event to wait for, only the window to pass.
        while (wait := self.pacer.wait_for(conversation_id)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        key, param = message
        await self._authorized(
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": self.robot_code,
                "openConversationId": conversation_id,
                "msgKey": key,
                "msgParam": json.dumps(param, ensure_ascii=False),
            },
        )

    # ------------------------------------------------------------------ people
    async def user_by_auth_code(self, code: str) -> tuple[str, str]:
        """The (staff id, name) an H5 page's 免登 code stands for; :class:`PermanentError`
        when DingTalk does not know the code (used, older than five minutes, forged)."""
        url = f"{legacy_base(self.base_url)}{USERINFO_PATH}"
        for attempt in range(2):
            token = await self.access_token(force=attempt > 0)
            try:
                async with self._http().post(
                    url, params={"access_token": token}, json={"code": code}
                ) as r:
                    answer = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
                raise TransientError(0, type(exc).__name__, str(exc)) from exc
            errcode = int(answer.get("errcode", -1)) if isinstance(answer, dict) else -1
            if errcode in (40001, 40014, 42001) and attempt == 0:
                continue  # the token went stale early: a fresh one, once
            if errcode != 0:
                message = str(answer.get("errmsg", "")) if isinstance(answer, dict) else ""
                raise PermanentError(400, str(errcode), message)
            result = answer.get("result") or {}
            return str(result.get("userid", "")), str(result.get("name", ""))
        raise PermanentError(401, "InvalidAuthentication", "access token refused twice")

    # ------------------------------------------------------------------ files
    async def upload_media(self, data: bytes, file_name: str, kind: str = "file") -> str:
        """Put ``data`` in DingTalk's media store; the ``media_id`` a robot message sends.

        ``kind`` is ``file`` or ``image``. The legacy ``oapi`` call (the new-style API has no
        robot media upload): multipart field ``media``, the token as a query parameter."""
        if kind not in ("file", "image"):
            raise ValueError("kind is 'file' or 'image'")
        if len(data) > MAX_MEDIA_BYTES:
            raise PermanentError(413, "tooLarge", f"{len(data)} bytes")
        url = f"{legacy_base(self.base_url)}{MEDIA_UPLOAD_PATH}"
        for attempt in range(2):
            await self._paced()
            token = await self.access_token(force=attempt > 0)
            form = aiohttp.FormData(quote_fields=False)  # the name as UTF-8, not %-encoded
            form.add_field("media", data, filename=file_name.replace('"', "'"))
            params = {"access_token": token, "type": kind}
            answer = await self._legacy_post(url, params, form)
            errcode = int(answer.get("errcode", -1))
            if errcode in STALE_TOKEN_CODES and attempt == 0:
                continue  # the token went stale early: a fresh one, once
            message = str(answer.get("errmsg", ""))
            if errcode in LEGACY_THROTTLED:
                raise RateLimited(200, str(errcode), message, self.rate_limit_wait)
            if errcode == LEGACY_BUSY:
                raise TransientError(200, str(errcode), message)
            if errcode != 0:
                raise PermanentError(400, str(errcode), message)
            return str(answer["media_id"])
        raise PermanentError(401, "InvalidAuthentication", "access token refused twice")

    async def _legacy_post(
        self, url: str, params: dict[str, str], form: aiohttp.FormData
    ) -> dict[str, Any]:
        """One legacy call: HTTP 200 with ``{errcode, errmsg, …}``; 5xx/network → transient."""
        try:
            async with self._http().post(url, params=params, data=form) as r:
                if r.status != 200:
                    raise classify(r.status, {"code": "media", "message": url})
                answer = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            raise TransientError(0, type(exc).__name__, str(exc)) from exc
        return answer if isinstance(answer, dict) else {}

    async def download(self, download_code: str, max_bytes: int) -> bytes:
        """The file behind ``download_code``; :class:`PermanentError` if over ``max_bytes``."""
        answer = await self._authorized(
            "/v1.0/robot/messageFiles/download",
            {"downloadCode": download_code, "robotCode": self.robot_code},
        )
        url = str(answer.get("downloadUrl", ""))
        try:
            async with self._http().get(url) as r:
                if r.status != 200:
                    raise classify(r.status, {"code": "download", "message": url})
                if (r.content_length or 0) > max_bytes:
                    raise PermanentError(413, "tooLarge", f"{r.content_length} bytes")
                data = await r.content.read(max_bytes + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(0, type(exc).__name__, str(exc)) from exc
        if len(data) > max_bytes:
            raise PermanentError(413, "tooLarge", f"more than {max_bytes} bytes")
        return data
