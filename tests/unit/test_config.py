from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.assembly.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "LEADBOT_TOKEN",
        "LEADBOT_ADMINS",
        "DATABASE_URL",
        "LEADBOT_TZ",
        "LEADBOT_LOCALE",
        "LEADBOT_BOT_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADBOT_CONFIG", raising=False)


def test_defaults_need_nothing() -> None:
    s = load_settings()
    assert s.database_url == "sqlite+aiosqlite:///leadbot.db"
    assert s.tz == "Asia/Shanghai" and s.locale == "zh_CN" and s.admins == []
    assert s.token is None and s.deadline_time == time(17, 0)


def test_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_TOKEN", "123:abc")
    monkeypatch.setenv("LEADBOT_ADMINS", "11, 22;33")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@h/db")
    monkeypatch.setenv("LEADBOT_LOCALE", "en")
    s = load_settings()
    assert s.token_value() == "123:abc" and s.admins == [11, 22, 33]
    assert s.database_url.startswith("postgresql+asyncpg") and s.locale == "en"


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "leadbot.toml").write_text(
        'tz = "Europe/Berlin"\nadmins = [7]\nlocale = "en"\n', encoding="utf-8"
    )
    monkeypatch.setenv("LEADBOT_LOCALE", "zh_CN")
    s = load_settings()
    assert s.tz == "Europe/Berlin" and s.admins == [7] and s.locale == "zh_CN"


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("LEADBOT_ADMINS", "alice,bob", "LEADBOT_ADMINS"),
        ("LEADBOT_TZ", "Mars/Olympus", "LEADBOT_TZ"),
        ("LEADBOT_LOCALE", "fr", "LEADBOT_LOCALE"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("LEADBOT_BOT_API_URL", "ftp://x", "LEADBOT_BOT_API_URL"),
    ],
)
def test_wrong_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    message = str(exc.value)
    assert "\n" not in message and named in message and "expected" in message


def test_token_is_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "leadbot.toml").write_text("token = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "LEADBOT_TOKEN" in str(exc.value)


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "leadbot.toml").write_text("tz = \n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings()
