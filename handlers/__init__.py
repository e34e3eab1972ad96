"""Telegram adapters. :func:`register` wires every handler in its order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import admin, errors, middleware, report, start


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers(middleware.handlers(), group=middleware.GROUP)
    # Feature handlers first, in group 0; the fallbacks close group 0 so that
    # exactly one handler answers each message.
    # Forms come first: their entry points (e.g. /start report) must win.
    app.add_handlers(report.handlers())
    app.add_handlers([*start.handlers(), *admin.handlers()])
    app.add_handlers(start.fallbacks())
    app.add_error_handler(errors.on_error)
