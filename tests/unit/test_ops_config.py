"""Operations settings and `leadbot webhook`'s refusal to start half-configured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.assembly.cli import main
from bot.assembly.config import ConfigError, load_settings

OPS_ENV = (
    "LEADBOT_TOKEN",
    "LEADBOT_WEBHOOK_URL",
    "LEADBOT_WEBHOOK_SECRET",
    "LEADBOT_WEBHOOK_PATH",
    "LEADBOT_WEBHOOK_PORT",
    "LEADBOT_LOG_JSON",
    "LEADBOT_LOG_LEVEL",
    "LEADBOT_LEADER_RETRY_SECONDS",
    "LEADBOT_LEADER_TAKEOVER_SECONDS",
    "LEADBOT_CONFIG",
    "DATABASE_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in OPS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "leadbot"]:
        root.removeHandler(handler)


def test_operations_defaults() -> None:
    s = load_settings()
    assert s.webhook_url is None and s.webhook_secret is None and s.webhook_path == "/telegram"
    assert (
        s.webhook_listen == "0.0.0.0" and s.webhook_port == 8080 and s.webhook_drop_pending is False
    )
    assert s.log_level == "INFO" and s.log_json is False
    assert s.leader_retry_seconds == 10 and s.leader_takeover_seconds == 30


def test_operations_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_WEBHOOK_URL", "https://bot.example.com/")
    monkeypatch.setenv("LEADBOT_WEBHOOK_SECRET", "abc_DEF-123")
    monkeypatch.setenv("LEADBOT_LOG_JSON", "true")
    monkeypatch.setenv("LEADBOT_LOG_LEVEL", "debug")
    s = load_settings()
    assert s.webhook_url == "https://bot.example.com" and s.webhook_secret_value() == "abc_DEF-123"
    assert s.log_json is True and s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("LEADBOT_WEBHOOK_URL", "bot.example.com"),
        ("LEADBOT_WEBHOOK_PATH", "telegram"),
        ("LEADBOT_WEBHOOK_PORT", "70000"),
        ("LEADBOT_WEBHOOK_SECRET", "has spaces and ü"),
        ("LEADBOT_LOG_LEVEL", "LOUD"),
        ("LEADBOT_LEADER_TAKEOVER_SECONDS", "15"),  # less than twice the 10 s retry
    ],
)
def test_wrong_operations_value_is_one_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    message = str(exc.value)
    assert "\n" not in message and env in message and "expected" in message
    if env == "LEADBOT_WEBHOOK_SECRET":
        assert value not in message


@pytest.mark.parametrize(
    ("present", "named"),
    [
        ({}, "LEADBOT_TOKEN"),
        ({"LEADBOT_TOKEN": "123456:ABC"}, "LEADBOT_WEBHOOK_URL"),
        (
            {"LEADBOT_TOKEN": "123456:ABC", "LEADBOT_WEBHOOK_URL": "https://bot.example.com"},
            "LEADBOT_WEBHOOK_SECRET",
        ),
    ],
)
def test_webhook_refuses_to_start_without_token_url_and_secret(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    present: dict[str, str],
    named: str,
) -> None:
    for key, value in present.items():
        monkeypatch.setenv(key, value)
    assert main(["webhook"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and named in err and "is not set: expected" in err
