"""A second `leadbot console` on the same database (issue 17): the bot "restarts mid-form"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def console(tmp_path: Path, url: str, script: str, *extra: str) -> str:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_") and k != "DATABASE_URL"
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.assembly.cli", "console", "--database-url", url, *extra],
        input=script,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def test_a_second_console_on_the_demo_database_knows_everyone_and_continues_the_form(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    first = console(
        tmp_path, url, ":user liaison3\n/weekly\n无\n:quit\n", "--demo", "--now", "2026-11-24T10:00"
    )
    assert "第 2/4 项" in first

    second = console(
        tmp_path,
        url,
        "/help\n:user 王五\n无\n无\n无\n:user 张三\n/start\n:user 陈七\n:quit\n",
        "--now",
        "2026-11-24T10:05",
    )
    assert second.startswith("Leadbot console — typing as 系统管理员 [admin]")
    assert "您的身份：管理员" in second and "/invite — 生成邀请链接" in second  # /help answered
    assert "(now typing: 王五 [liaison3], private chat)" in second  # the real 王五, no stranger
    assert "(new person 王五" not in second and "(new person 张三" not in second
    assert "第 3/4 项" in second and "周报预览 · 规划建设局" in second  # the form went on
    assert "您好，张三。" in second
    assert "(new person 陈七" in second  # somebody really new is still a stranger
    assert "did not answer in time" not in second


def test_the_demo_flag_on_an_existing_demo_database_does_not_seed_twice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    console(tmp_path, url, ":quit\n", "--demo", "--now", "2026-11-24T10:00")
    again = console(
        tmp_path, url, ":user leader\n/units\n:quit\n", "--demo", "--now", "2026-11-24T11:00"
    )
    assert "<b>单位（4 个）</b>" not in again and "单位（4 个）" in again
