"""The web app channel: pages and JSON under ``/app/`` (docs/web.md).

:class:`~handlers.web.server.WebApp` is built by the composition root when
``LEADBOT_WEB_URL`` is set and mounted on the webhook server, or on a server of its own
(``LEADBOT_WEB_PORT``) in polling mode.
"""

from handlers.web.pages import Runtime
from handlers.web.server import WebApp

__all__ = ["Runtime", "WebApp"]
