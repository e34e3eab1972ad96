"""Settings of the weekly cycle: reminder offsets, quiet hours, calendar corrections."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest

from bot.assembly.config import ConfigError, load_settings
from bot.services.scoring import periods_for

WEEKLY_ENV = (
    "LEADBOT_CONFIRMATION_REQUIRED",
    "LEADBOT_REMINDER_OFFSETS",
    "LEADBOT_QUIET_HOURS",
    "LEADBOT_REMINDER_GRACE_MINUTES",
    "LEADBOT_LEADERS_MISSING_OFFSET",
    "LEADBOT_EXTRA_HOLIDAYS",
    "LEADBOT_EXTRA_WORKDAYS",
    "LEADBOT_HOLIDAY_SHIFT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in WEEKLY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADBOT_CONFIG", raising=False)


def test_defaults_follow_the_spec() -> None:
    s = load_settings()
    assert s.confirmation_required is True and s.holiday_shift is True
    assert s.reminder_offsets == [
        timedelta(hours=24),
        timedelta(hours=8),
        timedelta(hours=2),
        timedelta(minutes=30),
    ]
    assert s.quiet_window == (time(22), time(8)) and s.leaders_missing_offset == timedelta(hours=2)
    assert s.reminder_grace_minutes == 60 and s.extra_holidays == [] and s.extra_workdays == []


def test_environment_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_REMINDER_OFFSETS", "30m, 1d，1h30m")
    monkeypatch.setenv("LEADBOT_QUIET_HOURS", "off")
    monkeypatch.setenv("LEADBOT_CONFIRMATION_REQUIRED", "false")
    monkeypatch.setenv("LEADBOT_EXTRA_HOLIDAYS", "2027-02-10, 2027-02-11")
    monkeypatch.setenv("LEADBOT_EXTRA_WORKDAYS", "2027-02-20")
    s = load_settings()
    assert s.reminder_offsets == [timedelta(days=1), timedelta(minutes=90), timedelta(minutes=30)]
    assert s.quiet_window is None and s.confirmation_required is False
    assert s.extra_holidays == [date(2027, 2, 10), date(2027, 2, 11)] and s.extra_workdays == [
        date(2027, 2, 20)
    ]


def test_offsets_may_be_given_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_REMINDER_OFFSETS", "45s,1m30s,20秒")
    monkeypatch.setenv("LEADBOT_LEADERS_MISSING_OFFSET", "30s")
    s = load_settings()
    assert s.reminder_offsets == [
        timedelta(seconds=90),
        timedelta(seconds=45),
        timedelta(seconds=20),
    ]
    assert s.leaders_missing_offset == timedelta(seconds=30)


def test_toml_lists_and_dates(tmp_path: Path) -> None:
    (tmp_path / "leadbot.toml").write_text(
        'reminder_offsets = ["24h", "2h"]\nquiet_hours = "21:30-07:00"\nextra_holidays = [2027-02-11]\nholiday_shift = true\n',
        encoding="utf-8",
    )
    s = load_settings()
    assert s.reminder_offsets == [timedelta(hours=24), timedelta(hours=2)]
    assert s.quiet_window == (time(21, 30), time(7)) and s.extra_holidays == [date(2027, 2, 11)]


def test_the_config_corrects_the_calendar_for_uncovered_years(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert periods_for(load_settings()).by_key("2027-W06").deadline.date() == date(2027, 2, 11)
    monkeypatch.setenv("LEADBOT_EXTRA_HOLIDAYS", "2027-02-11,2027-02-12")
    assert periods_for(load_settings()).by_key("2027-W06").deadline.date() == date(2027, 2, 10)
    monkeypatch.setenv("LEADBOT_HOLIDAY_SHIFT", "false")
    assert periods_for(load_settings()).by_key("2027-W06").deadline.date() == date(2027, 2, 11)
    assert periods_for(load_settings()).by_key("2026-W40").deadline.date() == date(2026, 10, 1)


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("LEADBOT_REMINDER_OFFSETS", "7d"),
        ("LEADBOT_REMINDER_OFFSETS", "soon"),
        ("LEADBOT_QUIET_HOURS", "22-8"),
        ("LEADBOT_QUIET_HOURS", "25:00-08:00"),
        ("LEADBOT_LEADERS_MISSING_OFFSET", "0m"),
        ("LEADBOT_REMINDER_OFFSETS", "0s"),
        ("LEADBOT_REMINDER_GRACE_MINUTES", "-5"),
        ("LEADBOT_EXTRA_HOLIDAYS", "2027-13-01"),
        ("LEADBOT_HOLIDAY_SHIFT", "maybe"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "\n" not in str(exc.value) and env in str(exc.value) and "expected" in str(exc.value)


def test_a_day_both_off_and_working_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_EXTRA_HOLIDAYS", "2027-02-11")
    monkeypatch.setenv("LEADBOT_EXTRA_WORKDAYS", "2027-02-11")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "LEADBOT_EXTRA_WORKDAYS" in str(exc.value)
