"""`leadbot console --demo < script`: the newcomer's first session, asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
/help
:user liaison1
/start
:user 陌生人
你好
:user admin
/invite 招商部 专干
:chat group 招商引资部
/help
:user leader
:chat private
/units
/rank
:press 本周
/lang
:press English
/help
:press 9
:time 2026-10-01T16:00
:time
:frobnicate
:quit
"""


def run_console(tmp_path: Path, script: str) -> str:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_") and k != "DATABASE_URL"
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.assembly.cli",
            "console",
            "--demo",
            "--now",
            "2026-11-24T10:00",
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_scripted_demo_session(tmp_path: Path) -> None:
    out = run_console(tmp_path, SCRIPT)
    assert out.startswith("Leadbot console — typing as 系统管理员 [admin]")
    assert "您的身份：管理员" in out and "/invite — 生成邀请链接" in out
    assert "张三> /start" in out and "您好，张三。" in out
    assert "陌生人> 你好" in out and "本机器人仅供已登记的单位使用" in out
    assert "https://t.me/leadbot_local_bot?start=" in out
    assert "/bind — 在群内绑定单位或领导群" in out  # the group's help
    assert "#4 财政局（简称：财政局；序列：二序列；成员 2 人）" in out
    assert "2026年11月排名" in out and "1. 招商引资部" in out  # the demo's weeks of history count
    assert "[1 中文] [2 English]" in out and "Language set to English." in out
    assert "Your role: leader" in out
    assert "2026年第48周排名" in out  # a button pressed edits the ranking in place
    assert "(cannot press: " in out  # there is no ninth button
    assert "(clock set to 2026-10-01T16:00+08:00)" in out and "(now: 2026-10-01T16:0" in out
    assert "unknown meta-command :frobnicate" in out
    assert not (tmp_path / "leadbot.db").exists()  # --demo never touches the real database


def test_console_ends_cleanly_at_end_of_input(tmp_path: Path) -> None:
    out = run_console(tmp_path, "/start\n")
    assert "您好，系统管理员。" in out
