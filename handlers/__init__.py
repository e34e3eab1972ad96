"""Telegram adapters. :func:`register` wires every handler in its order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import admin, errors, middleware, start

FALLBACK_GROUP = 0


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers(middleware.handlers(), group=middleware.GROUP)
    # Feature handlers first, in group 0; the fallbacks close group 0 so that
    # exactly one handler answers each message.
    app.add_handlers([*start.handlers(), *admin.handlers()])
    app.add_handlers(start.fallbacks())
    app.add_error_handler(errors.on_error)
