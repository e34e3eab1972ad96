"""Telegram adapters. :func:`register` wires every handler in its order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import (
    activity,
    admin,
    digest,
    errors,
    export,
    leads,
    middleware,
    ranking,
    report,
    start,
    web_link,
    weekly,
)
from handlers.forms import GROUP as FORMS_GROUP
from handlers.forms import EngineForms, bind_forms


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers(middleware.handlers(), group=middleware.GROUP)
    # Feature handlers first, in group 0; the fallbacks close group 0 so that
    # exactly one handler answers each message.
    # Forms come first: their entry points (e.g. /start report) must win.
    app.add_handlers(report.handlers())
    app.add_handlers(activity.handlers())  # /activity in groups, reviews, /trips (form: engine)
    app.add_handlers(weekly.handlers())  # confirmations, /status, /leave … (/weekly: the engine)
    # A pending lead prompt (stage note, reason, new value) takes the next message first.
    app.add_handlers(leads.prompt_handlers(), group=leads.PROMPT_GROUP)
    # Then the form engine's forms (/report, /activity, /weekly, their follow-ups): a
    # person's open form takes the next message.
    app.add_handlers(
        [EngineForms({"report": "report", "activity": "activity", "weekly": "weekly"})],
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
        ]
    )
    app.add_handlers(start.fallbacks())
    bind_forms(app)
    app.add_error_handler(errors.on_error)
