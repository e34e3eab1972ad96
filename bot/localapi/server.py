"""The server: the aiohttp application, its routes, the method table and the one request
path every Bot API call takes (decode, fault, handle, record, answer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.localapi.faults import _Faults
from bot.localapi.params import _json_response, _read_params
from bot.localapi.recording import _Recording
from bot.localapi.records import MAX_UPLOAD_BYTES, ApiError, Handler, Params, _Upload
from bot.localapi.simulation import _Simulation

_LOGGER = logging.getLogger("bot.localapi")


class LocalBotAPI(_Simulation, _Faults, _Recording):
    """An in-process Telegram: simulated users on one side, the Bot API on the other."""

    def __init__(
        self,
        token: str = "123456:LOCAL-TEST-TOKEN",
        bot_username: str = "leadbot_local_bot",
        bot_name: str = "Leadbot",
        now: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(token, bot_username, bot_name, now)
        self._handlers: dict[str, Handler] = self._method_table()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port; port 0 picks a free port (see base_url afterwards)."""
        if self._runner is not None:
            raise RuntimeError("LocalBotAPI is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._stopping = False
        bound_host, bound_port = runner.addresses[0][:2]
        wildcard = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}
        self._host = wildcard.get(bound_host, bound_host)
        self._port = bound_port
        _LOGGER.info("Local Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered first so clients are not left hanging."""
        if self._runner is None:
            return
        self._stopping = True
        self._update_signal.fire()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    @property
    def _origin(self) -> str:
        if not self._port:
            raise RuntimeError("the address is known only after start()")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin}/file/bot"

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(401, ApiError(401, "Unauthorized").body())
        requested = request.match_info["method"]
        method = self._canonical_names.get(requested.lower(), requested)
        params: Params = {}
        uploads: dict[str, _Upload] = {}
        try:
            params, uploads = await _read_params(request)
            handler = self._handlers.get(method)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            fault = self._take_fault(method)
            if fault is not None:
                raise fault
            result = await handler(params, uploads)
        except ApiError as error:
            self._record(method, params, uploads, False, error.body(), _peer(request))
            _LOGGER.debug("%s -> %s %s", method, error.status, error.description)
            return _json_response(error.status, error.body())
        self._record(method, params, uploads, True, result, _peer(request))
        return _json_response(200, {"ok": True, "result": result})

    def _method_table(self) -> dict[str, Handler]:
        table: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._always_true,
            "close": self._always_true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatMemberCount": self._get_chat_member_count,
        }
        # Telegram matches method names case-insensitively.
        self._canonical_names = {name.lower(): name for name in table}
        return table

    async def _always_true(self, params: Params, uploads: dict[str, _Upload]) -> bool:
        return True

    async def _get_me(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


def _peer(request: web.Request) -> tuple[str, int] | None:
    """The caller's (host, port): tests with several bot processes tell them apart by it."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return (str(peer[0]), int(peer[1])) if peer else None
