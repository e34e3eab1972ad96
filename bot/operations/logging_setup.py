"""Logging for operators: plain or JSON lines, tagged with the update, secrets removed.

* Every record logged while an update is handled carries ``update_id``, ``user_id``,
  ``chat_id`` and ``handler`` (the callback that handled it), taken from a
  :mod:`contextvars` context that :class:`bot.assembly.app.LeadbotApplication` binds around
  ``process_update`` (:func:`update_scope`) and that :func:`name_handlers` fills in
  with the handler's name.
* :class:`RedactingFilter` runs on the output handler, so third-party records (httpx
  logs request URLs, which contain the bot token) are cleaned as well: bot tokens,
  ``/bot<token>/`` URLs, Chinese mobile numbers and any extra secret strings given
  (the webhook secret, the database password).
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTEXT_FIELDS = ("update_id", "user_id", "chat_id", "handler")
HANDLER_NAME = "leadbot"

# -- redaction ------------------------------------------------------------------

_BOT_URL_RE = re.compile(r"/bot\d+:[^/\s]*")
_TOKEN_RE = re.compile(r"\b(\d{6,}):[A-Za-z0-9_-]{30,}")
# 11-digit mainland mobile numbers, optionally +86 / 86 and written 138-1234-5678 or
# 138 1234 5678; not inside a longer run of digits (ids, timestamps).
_MOBILE_RE = re.compile(r"(?<![\d+])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{2})(\d{2})(?!\d)")


def _mask_mobile(match: re.Match[str]) -> str:
    return f"{match.group(1)}******{match.group(4)}"


def redact(text: str, secrets: Iterable[str] = (), passwords: Iterable[str] = ()) -> str:
    """Remove what must never reach a log file; idempotent.

    ``secrets`` are blanked wherever they appear (long random strings: the webhook
    secret). A password is blanked where it stands as one -- ``user:PASSWORD@`` in a
    URL, ``password=PASSWORD`` -- not every time its text occurs: a database password
    ``postgres`` must not turn ``postgresql://`` into ``[redacted]ql://``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for password in passwords:
        if password:
            quoted = re.escape(password)
            text = re.sub(r"(://[^\s:/@]*:)" + quoted + r"(?=@)", r"\1[redacted]", text)
            text = re.sub(
                r"(?i)(\bpass(?:word)?\s*[=:]\s*['\"]?)" + quoted + r"(?![\w-])",
                r"\1[redacted]",
                text,
            )
    text = _BOT_URL_RE.sub("/bot[redacted]", text)
    text = _TOKEN_RE.sub(r"\1:[redacted]", text)
    return _MOBILE_RE.sub(_mask_mobile, text)


class RedactingFilter(logging.Filter):
    """Rewrites the record in place (message, arguments, traceback) before any formatter."""

    def __init__(self, secrets: Iterable[str] = (), passwords: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.passwords = sorted({p for p in passwords if p}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message, self.secrets, self.passwords)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets, self.passwords)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets, self.passwords)
        return True


# -- the per-update context -------------------------------------------------------


@dataclass
class UpdateContext:
    update_id: int | None = None
    user_id: int | None = None
    chat_id: int | None = None
    handler: str | None = None
    failed: bool = False  # an error handler ran for this update
    _token: contextvars.Token[UpdateContext | None] | None = None


_current: contextvars.ContextVar[UpdateContext | None] = contextvars.ContextVar(
    "leadbot_update", default=None
)


def current() -> UpdateContext | None:
    """The update being handled in this task, if any."""
    return _current.get()


def bind_update(update: object) -> UpdateContext:
    """Bind an update's ids for everything logged until :func:`unbind`."""
    user = getattr(update, "effective_user", None)
    chat = getattr(update, "effective_chat", None)
    ctx = UpdateContext(
        update_id=getattr(update, "update_id", None),
        user_id=user.id if user is not None else None,
        chat_id=chat.id if chat is not None else None,
    )
    ctx._token = _current.set(ctx)
    return ctx


def unbind(ctx: UpdateContext) -> None:
    if ctx._token is not None:
        _current.reset(ctx._token)
        ctx._token = None


@contextmanager
def update_scope(update: object) -> Iterator[UpdateContext]:
    ctx = bind_update(update)
    try:
        yield ctx
    finally:
        unbind(ctx)


def mark_failed(update: object) -> None:
    """Called from ``process_error``: the current update's outcome is "error"."""
    ctx = _current.get()
    if (
        ctx is not None
        and update is not None
        and getattr(update, "update_id", None) == ctx.update_id
    ):
        ctx.failed = True


def name_handlers(app: Any) -> None:
    """Wrap every registered handler callback so records name the handler.

    Call after all handlers are registered (``build_application`` does); nested
    ConversationHandler states are included. Wrapping twice is harmless.
    """
    for group in app.handlers.values():
        for handler in group:
            _name_handler(handler)


def _name_handler(handler: Any) -> None:
    nested = [*getattr(handler, "entry_points", ()), *getattr(handler, "fallbacks", ())]
    for state_handlers in (getattr(handler, "states", None) or {}).values():
        nested.extend(state_handlers)
    for inner in nested:
        _name_handler(inner)
    callback = getattr(handler, "callback", None)
    if callback is None or getattr(callback, "__leadbot_named__", False):
        return
    handler.callback = _named(callback)


def _named(callback: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    name = f"{getattr(callback, '__module__', '?')}.{getattr(callback, '__qualname__', repr(callback))}"

    @functools.wraps(callback)
    async def named(update: Any, context: Any) -> Any:
        ctx = _current.get()
        if ctx is not None:
            ctx.handler = name  # the last handler to run wins: that is the one an error names
        return await callback(update, context)

    named.__leadbot_named__ = True  # type: ignore[attr-defined]
    return named


class ContextFilter(logging.Filter):
    """Copies the update context onto the record (None outside an update)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        for field in CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, getattr(ctx, field) if ctx is not None else None)
        return True


# -- formats --------------------------------------------------------------------


class TextFormatter(logging.Formatter):
    """The classic line, plus ``[update=… user=… handler=…]`` when known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = " ".join(
            f"{field.removesuffix('_id')}={value}"
            for field in CONTEXT_FIELDS
            if (value := getattr(record, field, None)) is not None
        )
        if not tags:
            return line
        head, sep, tail = line.partition("\n")
        return f"{head} [{tags}]{sep}{tail}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the context, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(
    level: int | str = logging.INFO,
    json: bool = False,
    secrets: Iterable[str] = (),
    stream: Any = None,
    passwords: Iterable[str] = (),
) -> logging.Handler:
    """Install one stream handler on the root logger (replacing the one a previous call
    installed; handlers others added, such as pytest's, stay); return it.

    ``secrets``: extra strings to blank out wherever they occur (webhook secret);
    ``passwords``: blanked where they stand as a password (the database's), see :func:`redact`.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secrets, passwords))
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs one INFO line per Bot API request (with the token in the URL).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler
