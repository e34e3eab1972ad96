"""The outbox's rendering: a renderer a service declared wins for its (channel, kind),
the catalog renders the rest, and declaring one does not make the notifier import the
scheduler."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bot import notifier
from scheduler.outbox import render

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _row(kind: str, channel: str | None) -> Any:
    params = {"_channel": channel} if channel else {}
    return SimpleNamespace(kind=kind, params=params)


def _default(row: Any, now: datetime, username: str | None) -> tuple[str, list[Any]]:
    return f"default {row.kind}", []


def test_a_declared_renderer_is_used_for_its_channel_and_kind_only() -> None:
    def _dingtalk(row: Any, now: datetime, username: str | None) -> tuple[str, list[Any]]:
        return "dingtalk card", []

    out = render.dispatching(
        _default, notifier.renderers({("dingtalk", "weekly.confirmed"): _dingtalk})
    )

    assert out(_row("notify:weekly.confirmed", "dingtalk"), NOW, "bot") == ("dingtalk card", [])
    assert out(_row("notify:weekly.confirmed", None), NOW, "bot")[0].startswith("default")
    assert out(_row("notify:weekly.returned", "dingtalk"), NOW, "bot")[0].startswith("default")


def test_rows_without_a_channel_are_telegrams() -> None:
    assert render.channel_of(_row("remind:weekly", None)) == "telegram"
    assert render.channel_of(_row("notify:x", "dingtalk")) == "dingtalk"


def test_notifier_does_not_import_the_scheduler() -> None:
    code = (
        "import sys, bot.notifier; "
        "sys.exit(any(m == 'scheduler' or m.startswith('scheduler.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
