"""How soon an urgent appeal goes out while thousands of greetings wait in the outbox.

Seeds N bound officers, queues a low-priority greeting to all of them, lets the real Sender
drain it against the sandbox (Telegram's limits on), then commits one urgent broadcast and
measures the time from its commit to its first message arriving at the sandbox. The last line
of output is JSON: {"pending": ..., "urgent_first_send_s": ..., "greetings_sent_meanwhile": ...}.
Target (the issue): under 1 s with 10,000 greetings pending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot

from bot.broadcast import Sender
from bot.sandbox import Sandbox
from storage import broadcasts
from storage.db import Database
from storage.models import BroadcastKind, Priority
from storage.roster import RosterEntry, apply_records

TOKEN = "710003:bench-preemption"
FIRST_USER = 9_100_000_000
TARGET_SECONDS = 1.0


def _seed(database: Database, count: int) -> None:
    entries = [
        RosterEntry(
            police_id=f"{100000 + i}",
            name=f"警员{i}",
            unit="天元分局",
            phone=f"+86139{i:08d}",
            telegram_user_id=FIRST_USER + i,
        )
        for i in range(count + 1)
    ]
    with database.session() as session:
        apply_records(session, entries, deactivate_missing=False)


async def measure(pending: int, warmup: float, rate: float) -> dict[str, float | int]:
    """Run the scenario once and return its figures."""
    with tempfile.TemporaryDirectory(prefix="nuanjing-preempt-") as folder:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        database.upgrade()
        _seed(database, pending)
        with database.session() as session:
            everyone = broadcasts.audience(session)
        greeted, appealed = everyone[:pending], everyone[pending:]
        async with Sandbox(limits=True) as sandbox:
            client = sandbox.client(TOKEN)
            # Every chat is known, so each greeting is a real send that uses up the rate.
            for recipient in everyone:
                await client.ensure_user({"id": recipient.chat_id, "first_name": "警员"})
            await client.aclose()
            with database.session() as session:
                broadcasts.create(
                    session,
                    kind=BroadcastKind.GREETING,
                    priority=Priority.LOW,
                    text="节日快乐",
                    recipients=greeted,
                    created_by="bench",
                )
            bot = Bot(TOKEN, base_url=sandbox.api_base_url, base_file_url=sandbox.file_base_url)
            await bot.initialize()
            sender = Sender(bot, database, rate=rate)
            await sender.start()
            try:
                await asyncio.sleep(warmup)
                committed = time.monotonic()
                with database.session() as session:
                    broadcasts.create(
                        session,
                        kind=BroadcastKind.APPEAL,
                        priority=Priority.URGENT,
                        text="紧急献血",
                        recipients=appealed,
                        created_by="bench",
                    )
                sender.wake()
                target = appealed[0].chat_id
                while True:
                    calls = sandbox.calls(TOKEN)
                    urgent = [c for c in calls if c.chat_id == target and c.status == 200]
                    if urgent:
                        break
                    if time.monotonic() - committed > 30:
                        raise SystemExit("the urgent broadcast was not sent within 30 s")
                    await asyncio.sleep(0.002)
            finally:
                await sender.stop()
                await bot.shutdown()
            meanwhile = sum(
                1
                for c in calls
                if c.method == "sendMessage"
                and c.status == 200
                and c.time >= committed
                and c.chat_id != target
            )
        database.dispose()
    return {
        "pending": pending,
        "urgent_first_send_s": round(urgent[0].time - committed, 3),
        "greetings_sent_meanwhile": meanwhile,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run, print the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.preemption",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--pending", type=int, default=10_000, help="greetings queued (10000)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds the greetings drain first (2)"
    )
    parser.add_argument("--rate", type=float, default=25.0, help="sender rate, msgs/s (25)")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.pending, args.warmup, args.rate))
    verdict = "met" if figures["urgent_first_send_s"] < TARGET_SECONDS else "NOT met"
    print(f"greetings pending  {figures['pending']}")
    print(
        f"urgent first send  {figures['urgent_first_send_s']:.3f} s after its commit "
        f"(target < {TARGET_SECONDS:.0f} s: {verdict})"
    )
    print(f"greetings sent before it  {figures['greetings_sent_meanwhile']}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
