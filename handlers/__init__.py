"""Telegram adapters. :func:`register` wires every handler in its order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import (
    activity,
    admin,
    aliases,
    digest,
    errors,
    export,
    leads,
    link,
    middleware,
    ranking,
    report,
    start,
    web_link,
    weekly,
)
from handlers.forms import GROUP as FORMS_GROUP
from handlers.forms import EngineForms


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers(middleware.handlers(), group=middleware.GROUP)
    # Feature handlers first, in group 0; the fallbacks close group 0 so that
    # exactly one handler answers each message.
    # Forms come first: their entry points (e.g. /start report) must win.
    app.add_handlers(report.handlers())
    app.add_handlers(activity.handlers())  # /activity in groups, reviews, /trips (form: engine)
    app.add_handlers(weekly.handlers())  # confirmations, /status, /leave … (/weekly: the engine)
    # The form engine's forms (/report, /activity, /weekly, their follow-ups, the lead
    # prompts): a person's open form takes the next message; a closed lead review prompt
    # tells the reviewer who heard the verdict.
    app.add_handlers(
        [
            EngineForms(
                {"report": "report", "activity": "activity", "weekly": "weekly"},
                after_close=leads.review_delivered,
            )
        ],
        group=FORMS_GROUP,
    )
    app.add_handlers(
        [
            *start.handlers(),
            *admin.handlers(),
            *leads.handlers(),
            *ranking.handlers(),
            *export.handlers(),
            *digest.handlers(),
            *web_link.handlers(),
            *link.handlers(),
        ]
    )
    # 周报, 状态 … typed alone run their command (after the commands: none steals theirs).
    app.add_handlers([aliases.AliasCommands(app.handlers.get(0, []))])
    app.add_handlers(start.fallbacks())
    app.add_error_handler(errors.on_error)
