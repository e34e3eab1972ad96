"""DingTalk in the running process: the Stream connection, the adapter and its client.

``leadbot run`` calls :func:`serve_dingtalk` when the three DingTalk credentials are set —
beside Telegram's polling (same loop, same database) or alone. Either way it is given the
application (:class:`bot.assembly.app.LeadbotApplication`): its form engine and services
answer, and its outbox sends the rows addressed to DingTalk principals through DingTalk
(:func:`handlers.dingtalk.outbox_bridge.route_outbox_to_dingtalk`) -- reminders, the heads'
requests, review results. Alone, the application runs without Telegram
(``start_without_telegram``): the schedule, the outbox and the web app, no Telegram call.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from bot.assembly.clock import Clock
from bot.assembly.config import Settings
from bot.forms import FormEngine, lead_prompts, weekly_return
from bot.forms import activity as activity_form
from bot.forms import report as report_form
from bot.forms import weekly as weekly_form
from bot.services import Services
from handlers.dingtalk.adapter import DingTalkAdapter
from handlers.dingtalk.openapi import OpenApiClient
from handlers.dingtalk.outbox_bridge import route_outbox_to_dingtalk
from handlers.dingtalk.sdk import dingtalk_stream, openapi_endpoint, point_sdk_at, run_stream
from storage.db import Database

__all__ = ["attach_to_telegram", "serve_dingtalk"]

_LOGGER = logging.getLogger(__name__)
CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"


def default_engine(settings: Settings) -> FormEngine:
    """The forms served on DingTalk when no application shares its engine: the same list
    as ``bot.assembly.app.build_application`` builds."""
    return FormEngine(
        [
            report_form.form(),
            *activity_form.forms(),
            weekly_form.form(),
            weekly_return.form(),
            *lead_prompts.forms(),
        ],
        timedelta(minutes=settings.form_timeout_minutes),
    )


async def serve_dingtalk(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    engine: FormEngine | None = None,
    services: Services | None = None,
    app: Any = None,
) -> None:
    """Serve DingTalk until cancelled; with ``app``, on its engine, services and outbox."""
    assert settings.dingtalk_enabled
    assert settings.dingtalk_client_secret is not None
    endpoint = openapi_endpoint()
    point_sdk_at(endpoint)
    secret = settings.dingtalk_client_secret.get_secret_value()
    api = OpenApiClient(
        endpoint, str(settings.dingtalk_client_id), secret, str(settings.dingtalk_robot_code)
    )
    if app is not None:
        engine, services = app.forms, app.services
    adapter = DingTalkAdapter(
        db,
        settings,
        clock.now,
        api,
        engine=engine or default_engine(settings),
        services=services or Services(db=db, clock=clock, settings=settings),
    )
    if app is not None:
        route_outbox_to_dingtalk(app, adapter)
        web = getattr(app, "web", None)  # the web app, when LEADBOT_WEB_URL is set
        adapter.web_link = web.create_signin_link if web is not None else None
        jobs = app.jobs
        adapter.last_run = lambda: jobs.last_run
    client = dingtalk_stream.DingTalkStreamClient(
        dingtalk_stream.Credential(settings.dingtalk_client_id, secret)
    )
    client.register_callback_handler(CHATBOT_TOPIC, adapter.sdk_handler())
    _LOGGER.info("DingTalk: Stream mode through %s", endpoint)
    try:
        await run_stream(client)
    finally:
        await api.close()


def attach_to_telegram(app: Any, settings: Settings, db: Database, clock: Clock) -> None:
    """Run DingTalk inside a python-telegram-bot Application's loop, started and stopped with it."""
    previous_init, previous_shutdown = app.post_init, app.post_shutdown

    async def start(application: Any) -> None:
        if previous_init is not None:
            await previous_init(application)
        application.bot_data["dingtalk_task"] = asyncio.create_task(
            serve_dingtalk(settings, db, clock, app=application)
        )

    async def stop(application: Any) -> None:
        task = application.bot_data.pop("dingtalk_task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if previous_shutdown is not None:
            await previous_shutdown(application)

    app.post_init, app.post_shutdown = start, stop
