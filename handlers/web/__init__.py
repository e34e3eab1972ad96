"""The web app channel: pages and JSON under ``/app/`` (docs/web.md).

:class:`~handlers.web.server.WebApp` is built by the composition root when
``LEADBOT_WEB_URL`` is set and mounted on the webhook server, or on a server of its own
(``LEADBOT_WEB_PORT``) in polling mode.

The package itself imports nothing: the Telegram side reads :mod:`handlers.web.auth` (the
/web link's signed token) in every bot, while the pages and their server (aiohttp's web
framework, ~10 MB with the client) load only when the web app is built
(handlers/web_wiring.py).
"""
