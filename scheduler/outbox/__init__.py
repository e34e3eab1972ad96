"""The outbox: messages to anyone but the sender of an update, sent once.

- ``repo``: the claim and attempt queries (which row may be sent now, claiming it,
  expiring attempts a crash interrupted);
- ``sender``: :class:`Outbox`, the claim → send → mark loop, paced (its docstring
  describes the protocol and the crash window);
- ``render``: rendering per channel: the renderers services declared
  (``bot.notifier.register``), else the default catalog renderer.

Rows are planned elsewhere: reminders by :mod:`bot.services.reminders`, notices by
:func:`bot.notifier.notify`, both in the caller's transaction.
"""

from scheduler.outbox.render import Renderer, catalog_render, channel_of, dispatching
from scheduler.outbox.sender import (
    BACKOFF,
    CONCURRENCY,
    INLINE_RETRIES,
    LEASE,
    MAX_429,
    MAX_BACKOFF,
    MAX_RETRY_WAIT,
    PARTS_SENT,
    RATE,
    DrainReport,
    Gate,
    Outbox,
    Pace,
)

__all__ = [
    "BACKOFF",
    "CONCURRENCY",
    "INLINE_RETRIES",
    "LEASE",
    "MAX_429",
    "MAX_BACKOFF",
    "MAX_RETRY_WAIT",
    "PARTS_SENT",
    "RATE",
    "DrainReport",
    "Gate",
    "Outbox",
    "Pace",
    "Renderer",
    "catalog_render",
    "channel_of",
    "dispatching",
]
