"""An operator's first day (issue 17): failures are one line saying what to do, not tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.assembly.cli import main
from tests.conftest import PG_ENV, PG_SKIP_REASON, pg_url

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ("LEADBOT_", "DATABASE_URL")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _leadbot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN)}
    base.update(
        {
            "LEADBOT_TOKEN": "123456:ABC-DEF",
            "LEADBOT_ADMINS": "1001",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            "LEADBOT_LOG_LEVEL": "WARNING",
            "LEADBOT_CONFIG": str(tmp_path / "none.toml"),
        }
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.assembly.cli", *args],
        cwd=tmp_path,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["run", "webhook"])
def test_telegram_unreachable_is_one_line_naming_the_bot_api_setting(
    tmp_path: Path, command: str
) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/bot"
    done = _leadbot(
        tmp_path,
        command,
        LEADBOT_BOT_API_URL=api,
        LEADBOT_LOCALE="en",
        LEADBOT_WEBHOOK_URL="https://bot.example.com",
        LEADBOT_WEBHOOK_SECRET="s3cret",
        LEADBOT_WEBHOOK_PORT=str(_closed_port()),
        LEADBOT_WEBHOOK_LISTEN="127.0.0.1",
    )
    line = _one_line(done)
    assert f"cannot reach Telegram at {api}" in line and "LEADBOT_BOT_API_URL" in line


def test_telegram_unreachable_keeps_the_traceback_for_debug_logging(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/bot"
    done = _leadbot(tmp_path, "-v", "run", LEADBOT_BOT_API_URL=api)
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert "start-up failed" in done.stderr and "LEADBOT_BOT_API_URL" in done.stderr


def test_postgres_down_is_one_line_naming_host_and_port(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"postgresql+asyncpg://leadbot:pw@127.0.0.1:{port}/leadbot"
    line = _one_line(_leadbot(tmp_path, "run", DATABASE_URL=url, LEADBOT_LOCALE="en"))
    assert f"cannot connect to the database 127.0.0.1:{port}/leadbot" in line
    assert "PostgreSQL is running" in line and "pw" not in line


def test_wrong_postgres_password_is_one_line_naming_the_user(tmp_path: Path) -> None:
    url = pg_url()
    if not url:
        pytest.skip(PG_SKIP_REASON)
    wrong = make_url(url).set(password="certainly-wrong-password")
    done = _leadbot(
        tmp_path,
        "run",
        DATABASE_URL=wrong.render_as_string(hide_password=False),
        LEADBOT_LOCALE="en",
    )
    line = _one_line(done)
    if "refused the login" not in line:  # a server that trusts local logins checks no password
        pytest.skip(f"the PostgreSQL at {PG_ENV} does not check passwords: {line}")
    assert f"user {wrong.username}" in line and "certainly-wrong" not in line


@pytest.mark.parametrize("value", ["", "-5", "12,,34", "0"])
def test_admins_that_let_nobody_onboard_are_refused_in_one_line(tmp_path: Path, value: str) -> None:
    done = _leadbot(tmp_path, "run", LEADBOT_ADMINS=value)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "LEADBOT_ADMINS" in line and "expected" in line


def test_run_without_admins_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LEADBOT_ADMINS"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.assembly.cli", "run"],
        cwd=tmp_path,
        env={
            **{k: v for k, v in env.items() if not k.startswith(CLEAN)},
            "LEADBOT_TOKEN": "1:x",
            "LEADBOT_CONFIG": str(tmp_path / "none.toml"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "LEADBOT_ADMINS (admins) is not set" in done.stderr and "\n" not in done.stderr.strip()


def test_admin_ids_still_accept_spaces_and_a_trailing_comma(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.assembly.config import load_settings

    monkeypatch.setenv("LEADBOT_ADMINS", " 11，22, ")
    assert load_settings().admins == [11, 22]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [k for k in os.environ if k.startswith(CLEAN)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEADBOT_LOCALE", "en")


def test_periods_of_a_year_without_holiday_data_warn_how_to_list_them(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.domain.periods

    monkeypatch.setattr(bot.domain.periods, "_package_covers", lambda year: year != 2027)
    assert main(["periods", "--year", "2027"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("2027-W01\t")
    assert "2027" in err and "LEADBOT_EXTRA_HOLIDAYS" in err and "extra_holidays" in err
    assert main(["periods", "--year", "2026"]) == 0
    assert capsys.readouterr().err == ""


def test_periods_warning_goes_once_the_config_lists_that_years_holidays(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.domain.periods

    monkeypatch.setattr(bot.domain.periods, "_package_covers", lambda year: year != 2027)
    monkeypatch.setenv("LEADBOT_EXTRA_HOLIDAYS", "2027-02-05,2027-10-01")
    assert main(["periods", "--year", "2027"]) == 0
    assert capsys.readouterr().err == ""


def test_export_says_when_period_and_key_disagree(
    cli_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["export", str(tmp_path / "y.xlsx"), "--period", "month", "--key", "2026-Q3"]) == 1
    err = capsys.readouterr().err.strip()
    assert "--key 2026-Q3 names a quarter but --period is month" in err and "\n" not in err
    assert main(["export", str(tmp_path / "y.xlsx"), "--key", "Q3"]) == 1
    assert "2026-Q3 (quarter)" in capsys.readouterr().err


def test_backup_into_a_missing_folder_is_one_line(
    cli_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "leadbot.db").close()
    assert main(["backup", str(tmp_path / "no" / "such" / "b.db")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not exist" in err and str(tmp_path / "no" / "such") in err


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("run", ["long polling", "LEADBOT_TOKEN", "LEADBOT_ADMINS", "LEADBOT_BOT_API_URL"]),
        ("webhook", ["LEADBOT_WEBHOOK_URL", "LEADBOT_WEBHOOK_SECRET", "/healthz"]),
        ("backup", ["consistent copy", "--force", "folder must exist"]),
        ("periods", ["deadline", "--year", "LEADBOT_EXTRA_HOLIDAYS"]),
        ("import-units", [".xlsx", "名称", "序列", "skipped"]),
    ],
)
def test_help_of_each_command_says_what_it_does(
    capsys: pytest.CaptureFixture[str], command: str, words: list[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert word in text, word


def test_commands_do_not_print_alembic_info_lines(tmp_path: Path) -> None:
    done = _leadbot(tmp_path, "db", "upgrade", LEADBOT_LOG_LEVEL="INFO")
    assert done.returncode == 0, done.stderr
    assert "alembic" not in done.stderr and "schema at revision" in done.stdout


def test_pg_skip_reason_says_how_to_use_any_postgresql() -> None:
    assert "shared/scripts" not in PG_SKIP_REASON
    assert PG_ENV in PG_SKIP_REASON and "postgresql+asyncpg://" in PG_SKIP_REASON
