"""N reminders to DingTalk recipients through the OpenAPI client and the stand-in's limits.

    python -m bench.dingtalk                  # 3 000 recipients
    python -m bench.dingtalk --recipients 300 --throttle 0.1

What it drives: the real :class:`handlers.dingtalk.openapi.OpenApiClient` over HTTP against
``bot.dingtalk_standin`` with DingTalk's limits switched on (batchSend: ``--qps`` calls a
second per app, guessed at 20; ≤ 20 staff ids a call).  Recipients of one unit get the same
text, so one batchSend carries a unit (``--unit-size`` people).  ``--throttle`` answers that
share of calls with DingTalk's flow-control error on top of the stand-in's own limit; a
throttled call waits and is sent again.  Prints the wall time next to the floor the limit
allows (calls / qps), the throttled answers, and lost and doubled recipients (both must be 0).

NOT the outbox: DingTalk rows do not go through ``scheduler/outbox/sender.py`` yet (that waits for
the notifier's per-channel render registry), so this measures the client, its retries and the
limits, not the claim/mark bookkeeping.  No assertions.

No database, so no bench-data (bench/benchdb.py): nothing here reads or writes the bot's
tables -- the recipients are the stand-in's staff ids, grouped ``--unit-size`` a call.  When
DingTalk rows go through the outbox sender, this bench should plan them as bench/reminders.py
does, on a bench-data database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter

from bot.dingtalk_standin import DingTalkStandIn
from handlers.dingtalk.openapi import OpenApiClient, RateLimited, TransientError, markdown


async def run(recipients: int, unit_size: int, qps: int, throttle: float, workers: int) -> None:
    standin = DingTalkStandIn(app_limit=(qps, 1.0))
    standin.start()
    staff = [f"staff{i:05d}" for i in range(recipients)]
    for s in staff:
        standin.add_user(s, s)
    units = [staff[i : i + unit_size] for i in range(0, recipients, unit_size)]
    if throttle:
        standin.throttle("/v1.0/robot/oToMessages/batchSend", int(len(units) * throttle))
    api = OpenApiClient(
        standin.base_url, standin.client_id, standin.client_secret, standin.robot_code
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(units)):
        queue.put_nowait(i)
    throttled = retried = 0

    async def worker() -> None:
        nonlocal throttled, retried
        while not queue.empty():
            i = queue.get_nowait()
            text = f"**第{i}单位**：本周周报将于周四 17:00 截止，请及时报送。"
            while True:
                try:
                    await api.send_to_users(units[i], markdown("周报提醒", text))
                    break
                except RateLimited:
                    throttled += 1
                    await asyncio.sleep(1.0 / qps + random.random() / qps)
                except TransientError:
                    retried += 1
                    await asyncio.sleep(0.2)

    started = time.perf_counter()
    await api.access_token()
    await asyncio.gather(*(worker() for _ in range(workers)))
    wall = time.perf_counter() - started
    got = Counter(m.to[1] for m in standin.messages())
    lost = sum(1 for s in staff if got[s] == 0)
    doubled = sum(n - 1 for n in got.values() if n > 1)
    floor = len(units) / qps
    print(
        f"DingTalk reminders: {recipients} recipients in {len(units)} batchSend calls, "
        f"limit {qps}/s: wall {wall:.1f} s, floor {floor:.1f} s ({wall / floor:.2f}× floor); "
        f"throttled {throttled}, retried {retried}; lost {lost}, doubled {doubled}"
    )
    await api.close()
    standin.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipients", type=int, default=3000)
    p.add_argument("--unit-size", type=int, default=3)
    p.add_argument("--qps", type=int, default=20)
    p.add_argument("--throttle", type=float, default=0.1, help="share of calls throttled extra")
    p.add_argument("--workers", type=int, default=8)
    a = p.parse_args()
    asyncio.run(run(a.recipients, a.unit_size, a.qps, a.throttle, a.workers))


if __name__ == "__main__":
    main()
