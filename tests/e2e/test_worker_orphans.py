"""The bot's helper processes go with it: kill -9 of the bot leaves no process behind.

A worker is forked by the forkserver and holds both ends of its own call queue, so
nothing told it that the bot was gone; after the kill suite a dozen idle workers
(and their forkservers and resource trackers) were left running. Each worker now
watches the bot's process (bot/operations/isolated.py). The near-match index's process
(bot/operations/near_process.py) ends at the end of its input, which the kernel closes
with the bot.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")

CHILD = """
import asyncio, os, sys
from bot.operations.isolated import Workers

async def main() -> None:
    workers = Workers()
    await workers.warm()
    pid = await workers.run(os.getpid)
    print("ready", pid, flush=True)
    await asyncio.sleep(3600)

if __name__ == "__main__":
    asyncio.run(main())
"""


INDEX_CHILD = """
import asyncio
from bot.operations.near_process import NearProcess

async def main() -> None:
    index = NearProcess()
    await index.start()
    await index.load([(1, "北京云算科技", "北京云算科技有限公司")])
    await index.finish()
    print("ready", index.pid, flush=True)
    await asyncio.sleep(3600)

if __name__ == "__main__":
    asyncio.run(main())
"""


def _marked(marker: str) -> set[int]:
    """Processes whose environment carries ``marker`` (the child and all it started)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            found.add(int(entry.name))
    return found


def _gone_within(marker: str, seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    left = _marked(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)  # polling for processes to exit, not waiting for a deadline
        left = _marked(marker)
    return left


@pytest.mark.parametrize(
    ("child", "helpers"),
    [(CHILD, 2), (INDEX_CHILD, 1)],
    ids=["render workers", "near-match index"],
)
def test_helper_processes_exit_when_the_bot_is_killed(
    tmp_path: Path, child: str, helpers: int
) -> None:
    script = tmp_path / "bot_like.py"
    script.write_text(child)
    marker = f"LEADBOT_ORPHAN_TEST={uuid.uuid4().hex}"
    env = {**os.environ, marker.split("=")[0]: marker.split("=")[1]}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready"), line
        started = _marked(marker) - {proc.pid}
        assert len(started) >= helpers, f"expected {helpers} helper processes, saw {started}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = _gone_within(marker, 15)
        assert not left, f"processes left behind after kill -9: {sorted(left)}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _marked(marker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
