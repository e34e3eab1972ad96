"""The Stream-mode gateway: the open-connection call, the WebSocket, frames, ACKs, redelivery.

Read from ``dingtalk_stream/stream.py`` (0.24.x): the SDK POSTs ``clientId``,
``clientSecret`` and ``subscriptions`` to ``/v1.0/gateway/connections/open``, expects
``{"endpoint": ..., "ticket": ...}`` and connects to ``endpoint?ticket=...``.  Every frame is
JSON ``{"specVersion", "type", "headers", "data"}`` with ``data`` a JSON *string*; the SDK
answers CALLBACK / EVENT / SYSTEM frames with ``{"code", "headers": {"messageId", ...},
"message", "data"}``.  A SYSTEM ``disconnect`` makes the SDK close and open a new connection.

DingTalk redelivers a frame that was not acknowledged; the delay (here ``ack_timeout``) and
whether the ``messageId`` header stays the same are guessed — we keep both the header and the
robot message's ``msgId`` unchanged, which is what a bot deduplicating on ``msgId`` relies on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.dingtalk_standin.records import Recorder

__all__ = ["Gateway", "PendingFrame"]

_LOGGER = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
WS_PATH = "/connect"


@dataclass
class PendingFrame:
    """A frame pushed to the bot and not acknowledged yet."""

    frame: dict[str, Any]
    sent_at: float
    deliveries: int = 1


@dataclass
class Ack:
    message_id: str
    code: int
    data: Any


@dataclass
class Gateway:
    """Tickets, live sockets and the frames waiting for an ACK."""

    recorder: Recorder
    client_id: str
    client_secret: str
    base_url: str = ""
    ack_timeout: float = 5.0
    tickets: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    pending: dict[str, PendingFrame] = field(default_factory=dict)
    acks: list[Ack] = field(default_factory=list)
    subscriptions: list[dict[str, str]] = field(default_factory=list)
    ignore_acks: int = 0
    connections_opened: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _redeliver_task: asyncio.Task[None] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.post(OPEN_PATH, self.open_connection), web.get(WS_PATH, self.websocket)]

    # ------------------------------------------------------------------ HTTP + socket
    async def open_connection(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            # Guessed body; DingTalk answers wrong credentials with a 4xx and a code.
            answer = {"code": "InvalidAuthentication", "message": "clientId or secret invalid"}
            self.recorder.record(OPEN_PATH, _redact(body), 401, answer)
            return web.json_response(answer, status=401)
        ticket = secrets.token_urlsafe(16)
        self.tickets[ticket] = list(body.get("subscriptions") or [])
        host = self.base_url.replace("http://", "ws://", 1)
        answer = {"endpoint": f"{host}{WS_PATH}", "ticket": ticket}
        self.recorder.record(OPEN_PATH, _redact(body), 200, answer)
        return web.json_response(answer)

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ticket = request.query.get("ticket", "")
        subscriptions = self.tickets.pop(ticket, None)
        if subscriptions is None:
            raise web.HTTPUnauthorized(text="unknown or used ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.subscriptions = subscriptions
        self.sockets.append(ws)
        self.connections_opened += 1
        self.connected.set()
        # A new connection gets what the old one left unacknowledged.
        for pending in list(self.pending.values()):
            await self._send(ws, pending)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_ack(json.loads(msg.data))
        finally:
            self.sockets.remove(ws)
            if not self.sockets:
                self.connected.clear()
        return ws

    def _on_ack(self, ack: dict[str, Any]) -> None:
        message_id = str((ack.get("headers") or {}).get("messageId", ""))
        self.recorder.record("ack", ack, int(ack.get("code", 0)), None)
        if self.ignore_acks > 0:
            self.ignore_acks -= 1  # as if the ACK was lost on the way: the frame comes again
            return
        self.acks.append(Ack(message_id, int(ack.get("code", 0)), ack.get("data")))
        self.pending.pop(message_id, None)

    # ------------------------------------------------------------------ pushing frames
    async def push(self, frame_type: str, topic: str, data: dict[str, Any]) -> str:
        """Send a frame to the connected bot; it stays pending until ACKed."""
        message_id = secrets.token_hex(12)
        frame = {
            "specVersion": "1.0",
            "type": frame_type,
            "headers": {
                "appId": self.client_id,
                "connectionId": "standin",
                "contentType": "application/json",
                "messageId": message_id,
                "time": str(int(time.time() * 1000)),
                "topic": topic,
            },
            "data": json.dumps(data, ensure_ascii=False),
        }
        pending = PendingFrame(frame, time.monotonic(), 0)
        if frame_type != "SYSTEM":
            self.pending[message_id] = pending
        if self.sockets:
            await self._send(self.sockets[-1], pending)
        self._ensure_redelivery()
        return message_id

    async def _send(self, ws: web.WebSocketResponse, pending: PendingFrame) -> None:
        pending.sent_at = time.monotonic()
        pending.deliveries += 1
        self.recorder.record("frame", pending.frame, 0, None)
        try:
            await ws.send_str(json.dumps(pending.frame, ensure_ascii=False))
        except ConnectionError:
            _LOGGER.info("socket closed while sending; the frame stays pending")

    def _ensure_redelivery(self) -> None:
        if self._redeliver_task is None or self._redeliver_task.done():
            self._redeliver_task = asyncio.get_running_loop().create_task(self._redeliver())

    async def _redeliver(self) -> None:
        while self.pending:
            await asyncio.sleep(min(self.ack_timeout, 0.05) if self.ack_timeout < 1 else 0.5)
            now = time.monotonic()
            for pending in list(self.pending.values()):
                if now - pending.sent_at >= self.ack_timeout and self.sockets:
                    await self._send(self.sockets[-1], pending)

    async def redeliver_now(self) -> int:
        """Send every frame not yet ACKed again, now: the redelivery without waiting for
        ``ack_timeout`` (tests drive it instead of sleeping). Returns how many went."""
        if not self.sockets:
            return 0
        pending = list(self.pending.values())
        for frame in pending:
            await self._send(self.sockets[-1], frame)
        return len(pending)

    async def disconnect(self) -> None:
        """SYSTEM/disconnect, as DingTalk sends before moving a connection elsewhere."""
        await self.push("SYSTEM", "disconnect", {"reason": "standin"})

    async def ping(self) -> str:
        """SYSTEM/ping with an ``opaque`` the SDK echoes in its ACK."""
        return await self.push("SYSTEM", "ping", {"opaque": secrets.token_hex(4)})

    async def close(self) -> None:
        if self._redeliver_task is not None:
            self._redeliver_task.cancel()
        for ws in list(self.sockets):
            await ws.close()


def _redact(body: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if "secret" in k.lower() else v) for k, v in body.items()}
