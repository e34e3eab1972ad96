"""The outbox's render registry: a channel's own renderer wins, the catalog renders the rest."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from scheduler.outbox import render

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _row(kind: str, channel: str | None) -> Any:
    params = {"_channel": channel} if channel else {}
    return SimpleNamespace(kind=kind, params=params)


def _default(row: Any, now: datetime, username: str | None) -> tuple[str, list[Any]]:
    return f"default {row.kind}", []


def test_registered_renderer_is_used_for_its_channel_and_kind() -> None:
    renderers = render.dispatching(_default)

    @renderers.register("dingtalk", "weekly.confirmed")
    def _dingtalk(row: Any, now: datetime, username: str | None) -> tuple[str, list[Any]]:
        return "dingtalk card", []

    assert renderers(_row("notify:weekly.confirmed", "dingtalk"), NOW, "bot") == (
        "dingtalk card",
        [],
    )
    assert renderers(_row("notify:weekly.confirmed", None), NOW, "bot")[0].startswith("default")
    assert renderers(_row("notify:weekly.returned", "dingtalk"), NOW, "bot")[0].startswith(
        "default"
    )


def test_one_registry_does_not_change_another() -> None:
    first, second = render.Renderers(_default), render.Renderers(_default)
    first.register("telegram", "x")(lambda row, now, username: ("first", []))
    assert second(_row("notify:x", None), NOW, None)[0] == "default notify:x"


def test_rows_without_a_channel_are_telegrams() -> None:
    assert render.channel_of(_row("remind:weekly", None)) == "telegram"
    assert render.channel_of(_row("notify:x", "dingtalk")) == "dingtalk"


def test_notifier_does_not_import_the_scheduler() -> None:
    code = (
        "import sys, bot.notifier; "
        "sys.exit(any(m == 'scheduler' or m.startswith('scheduler.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
