"""Who is on the other end of a web request: Telegram's signed launch data, or our cookie.

Three ways in, one session:

* **Telegram Mini App**: the page posts ``Telegram.WebApp.initData`` (or the
  ``tgWebAppData`` of the URL fragment, which Telegram's web clients use). It is
  checked as Telegram documents it: ``secret = HMAC_SHA256("WebAppData", bot_token)``,
  ``hash = hex(HMAC_SHA256(secret, data_check_string))`` over every other field sorted
  by name, and ``auth_date`` no older than the configured age.
* **Plain browser**: ``/web`` in the bot gives a one-time link (a 256-bit random token,
  stored hashed, ten minutes, single use: see :mod:`storage.web_signins`).
* **DingTalk 免登**: opened from the 工作台 (an H5 micro app), the page asks DingTalk's
  JSAPI for an auth code (``dd.runtime.permission.requestAuthCode({corpId})``) and posts
  it; :class:`DingTalkLogin` exchanges it for the staff id through the OpenAPI (once,
  five minutes), wired when DingTalk and ``LEADBOT_DINGTALK_CORP_ID`` are configured.

Each ends in the same signed cookie: ``payload.mac`` where the payload names the
channel and the user, the expiry and a nonce; the CSRF token is a MAC of the nonce,
so it changes with every sign-in and needs no server state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

COOKIE_NAME = "leadbot_session"
SESSION_AGE = timedelta(hours=12)


class AuthError(Exception):
    """The request does not prove who sent it; ``reason`` is for the log, never the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebUser:
    """A person as a channel knows them; the member is resolved from this per request."""

    channel: str  # "telegram" or "dingtalk"
    user_id: str
    name: str = ""
    language_code: str | None = None


@dataclass(frozen=True)
class DingTalkLogin:
    """免登 inside DingTalk: the organisation's CorpId (the page needs it), where the page
    loads DingTalk's JSAPI from, and the exchange of an auth code for (staff id, name),
    which raises when DingTalk refuses the code."""

    corp_id: str
    jsapi_url: str
    exchange: Callable[[str], Awaitable[tuple[str, str]]]
    close: Callable[[], Awaitable[None]] | None = None  # the OpenAPI client's connections


def validate_init_data(
    init_data: str, bot_token: str, now: datetime, max_age: timedelta
) -> WebUser:
    """Telegram's Mini App launch data → the user it was signed for, or :class:`AuthError`."""
    if not init_data or len(init_data) > 8192 or not bot_token:
        raise AuthError("no init data")
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=False))
    given = fields.pop("hash", "")
    if not given:
        raise AuthError("init data without hash")
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise AuthError("init data signature mismatch")
    try:
        signed_at = int(fields.get("auth_date", ""))
    except ValueError:
        raise AuthError("init data without auth_date") from None
    age = now.timestamp() - signed_at
    if age > max_age.total_seconds() or age < -300:
        raise AuthError(f"init data too old ({int(age)} s)")
    try:
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, KeyError, TypeError):
        raise AuthError("init data without a user") from None
    name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    return WebUser("telegram", str(user_id), name[:128], user.get("language_code"))


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """What Telegram does: used by the console and the tests to open the app as someone."""
    from urllib.parse import urlencode

    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


@dataclass(frozen=True)
class Session:
    user: WebUser
    expires: datetime
    nonce: str


class SessionCodec:
    """Signs and reads the session cookie; the key never leaves the server."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the web session key must be at least 16 bytes")
        self._key = key

    @classmethod
    def derived(cls, secret: str) -> SessionCodec:
        """A key of its own from a configured secret (or the bot token), never the secret itself."""
        return cls(hmac.new(secret.encode(), b"leadbot web session v1", hashlib.sha256).digest())

    def _mac(self, data: bytes) -> str:
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())

    def issue(
        self, user: WebUser, now: datetime, age: timedelta = SESSION_AGE
    ) -> tuple[str, Session]:
        session = Session(user, now + age, secrets.token_urlsafe(16))
        body = {
            "c": user.channel,
            "u": user.user_id,
            "n": user.name,
            "l": user.language_code,
            "e": int(session.expires.timestamp()),
            "x": session.nonce,
        }
        payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{payload}.{self._mac(payload.encode())}", session

    def read(self, cookie: str | None, now: datetime) -> Session:
        if not cookie or "." not in cookie or len(cookie) > 4096:
            raise AuthError("no session")
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(payload.encode()), mac):
            raise AuthError("session signature mismatch")
        try:
            body = json.loads(_unb64(payload))
            user = WebUser(str(body["c"]), str(body["u"]), str(body.get("n") or ""), body.get("l"))
            expires = datetime.fromtimestamp(int(body["e"]), tz=now.tzinfo)
            nonce = str(body["x"])
        except (ValueError, KeyError, TypeError):
            raise AuthError("session unreadable") from None
        if expires <= now:
            raise AuthError("session expired")
        return Session(user, expires, nonce)

    def csrf_token(self, session: Session) -> str:
        return self._mac(b"csrf:" + session.nonce.encode())

    def check_csrf(self, session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf_token(session), given or "")


def new_signin_token() -> str:
    """256 random bits, URL-safe; only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
