"""DingTalk in the running process: the Stream connection, the adapter and its client.

``leadbot run`` calls :func:`serve_dingtalk` when the three DingTalk credentials are set —
beside Telegram's polling (same loop, same database) or alone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from handlers.dingtalk.adapter import DingTalkAdapter
from handlers.dingtalk.openapi import OpenApiClient
from handlers.dingtalk.sdk import dingtalk_stream, openapi_endpoint, point_sdk_at, run_stream
from storage.db import Database

__all__ = ["attach_to_telegram", "serve_dingtalk"]

_LOGGER = logging.getLogger(__name__)
CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"


async def serve_dingtalk(settings: Settings, db: Database, clock: Clock) -> None:
    """Serve DingTalk until cancelled."""
    assert settings.dingtalk_enabled
    assert settings.dingtalk_client_secret is not None
    endpoint = openapi_endpoint()
    point_sdk_at(endpoint)
    secret = settings.dingtalk_client_secret.get_secret_value()
    api = OpenApiClient(
        endpoint, str(settings.dingtalk_client_id), secret, str(settings.dingtalk_robot_code)
    )
    adapter = DingTalkAdapter(db, settings, clock.now, api)
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
            serve_dingtalk(settings, db, clock)
        )

    async def stop(application: Any) -> None:
        task = application.bot_data.pop("dingtalk_task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if previous_shutdown is not None:
            await previous_shutdown(application)

    app.post_init, app.post_shutdown = start, stop
