"""An idle bot holds no library it does not use while idle (issue #16: under 150 MB).

Alembic (with Mako and Pygments) only migrates, openpyxl (with Pillow) only reads a unit
sheet or builds the reference workbook, matplotlib only draws the 红黑榜 (in a render
worker), cn2an only reads a Chinese numeral: imported at start, each stays in the bot's
memory for good. The bot runs in a fresh interpreter, as ``leadbot run`` starts it (on a
SQLite file at head, the schedule on), since this test process has imported them all.
After the idle check a leader's ``/export`` still gets the workbook.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from bot.assembly.clock import ManualClock
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
IDLE_NEVER = ["alembic", "mako", "pygments", "openpyxl", "PIL", "matplotlib", "cn2an"]
LEADER = 1001  # the demo jurisdiction's leader (bot/operations/demo.py)

CHILD = """
import asyncio, json, sys
from datetime import datetime
from pathlib import Path

from bot.assembly.app import ALLOWED_UPDATES, build_application
from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.localapi import LocalBotAPI
from bot.operations.demo import seed_demo
from storage.db import Database

async def main() -> None:
    url, now, leader, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    watched = json.loads(sys.argv[5])
    clock = ManualClock(datetime.fromisoformat(now))
    db = Database(url)
    async with db.session() as session:
        world = await seed_demo(session, clock.now())
    api = LocalBotAPI(now=lambda: clock.now().timestamp())
    await api.start()
    for user in world.users:
        api.add_user(user.tg_id, user.name)
    for group in world.groups:
        api.add_group(group.tg_chat_id, group.title)
    settings = Settings(admins=[1000], database_url=url, tz="Asia/Shanghai", locale="zh_CN")
    app = build_application(
        settings, db, clock, token=api.token, base_url=api.base_url,
        base_file_url=api.base_file_url,
    )
    handled = asyncio.Event()
    app.update_listeners.append(lambda update, outcome, elapsed: handled.set())
    await app.initialize()
    await app.start()
    app.inbox.start_polling(timeout=1, allowed_updates=ALLOWED_UPDATES)
    await app.services.directory.ready()
    await asyncio.sleep(1.0)  # the schedule's first tick, a long poll or two
    idle = sorted(m for m in watched if m in sys.modules)
    api.send_text(leader, "/export month")
    await asyncio.wait_for(handled.wait(), 60)
    message = api.last_bot_message(leader)
    document = message.document if message is not None else None
    if document is not None:
        out.write_bytes(api.file_bytes(document["file_id"]))
    after = sorted(m for m in watched if m in sys.modules)
    await app.stop()
    await app.shutdown()
    await api.stop()
    await db.dispose()
    name = document["file_name"] if document else None
    print(json.dumps({"idle": idle, "after_export": after, "document": name}), flush=True)

if __name__ == "__main__":
    asyncio.run(main())
"""


async def test_an_idle_bot_has_not_imported_what_only_migrating_or_drawing_needs(
    sqlite_db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    url = sqlite_db.url  # at head: a start that must migrate imports Alembic, rightly
    await sqlite_db.dispose()
    workbook = tmp_path / "export.xlsx"
    args = [url, clock.now().isoformat(), str(LEADER), str(workbook), json.dumps(IDLE_NEVER)]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CHILD, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["idle"] == [], f"imported by an idle bot: {found['idle']}"
    assert found["document"] == "招商引资台账_2026-11.xlsx"
    assert "openpyxl" not in found["after_export"]  # the workbook's writer needs none of it
    assert openpyxl.load_workbook(workbook).sheetnames == ["线索台账", "周报", "计分明细", "排名"]
