"""Where the ``dingtalk-stream`` SDK points, and the one place that imports it.

The SDK reads ``DINGTALK_OPENAPI_ENDPOINT`` once, at import, into module globals and into
``DingTalkStreamClient.OPEN_CONNECTION_API``.  :func:`point_sdk_at` sets the variable and
rewrites those already-imported values, so a process can aim the real SDK at the stand-in
(tests, ``leadbot console --channel dingtalk``) without depending on import order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from urllib.parse import quote_plus

import dingtalk_stream  # type: ignore[import-untyped]
import websockets
from dingtalk_stream import chatbot, stream, utils

__all__ = [
    "DEFAULT_ENDPOINT",
    "dingtalk_stream",
    "openapi_endpoint",
    "point_sdk_at",
    "run_stream",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://api.dingtalk.com"


def openapi_endpoint() -> str:
    """The OpenAPI base URL: the SDK's own ``DINGTALK_OPENAPI_ENDPOINT`` variable."""
    return os.environ.get("DINGTALK_OPENAPI_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def point_sdk_at(base_url: str) -> None:
    """Make the SDK (and :func:`openapi_endpoint`) use ``base_url`` from now on."""
    base_url = base_url.rstrip("/")
    os.environ["DINGTALK_OPENAPI_ENDPOINT"] = base_url
    utils.DINGTALK_OPENAPI_ENDPOINT = base_url
    stream.DINGTALK_OPENAPI_ENDPOINT = base_url
    chatbot.DINGTALK_OPENAPI_ENDPOINT = base_url
    stream.DingTalkStreamClient.OPEN_CONNECTION_API = base_url + "/v1.0/gateway/connections/open"


async def run_stream(
    client: dingtalk_stream.DingTalkStreamClient,
    *,
    retry_after: float = 3.0,
    connected: Callable[[], None] | None = None,
) -> None:
    """Keep ``client`` connected until cancelled.

    The SDK's own ``start()`` catches ``CancelledError`` (it sleeps 10 s and reconnects), so a
    bot built on it can never shut down cleanly, and it opens connections with a blocking
    ``requests`` call on the event loop.  This loop uses the SDK's pieces — its
    ``open_connection`` (in a worker thread), ``websockets`` and ``route_message`` (the
    handlers and their ACKs) — and lets cancellation through.
    """
    client.pre_start()
    while True:
        connection = await asyncio.to_thread(client.open_connection)
        if not connection:
            _LOGGER.warning("DingTalk: opening a Stream connection failed; retrying")
            await asyncio.sleep(retry_after)
            continue
        uri = f"{connection['endpoint']}?ticket={quote_plus(connection['ticket'])}"
        tasks: set[asyncio.Task[None]] = set()
        try:
            async with websockets.connect(uri) as websocket:
                client.websocket = websocket
                if connected is not None:
                    connected()
                async for raw in websocket:
                    task = asyncio.create_task(client.background_task(json.loads(raw)))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        except (websockets.exceptions.ConnectionClosed, OSError) as exc:
            _LOGGER.warning("DingTalk: Stream connection lost (%s); reconnecting", exc)
            await asyncio.sleep(retry_after)
        finally:
            for task in tasks:
                task.cancel()
