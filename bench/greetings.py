"""Greetings at scale: choose and queue a festival greeting for 100,000 officers.

A fresh database gets N bound officers (bulk inserts), B of them with a birthday on the bench's
day (a tenth of those a lunar birthday), and 2% more with a lunar birthday on another day. On
that day, a festival (国庆, 1 October 2026), the benchmark then times what the scheduler's tick
does (bot/greetings.py):

- birthday_pick_s: choosing today's birthday recipients (Gregorian and lunar), one query each;
- festival_queue_s: choosing the festival's recipients, writing each one's text, claiming them
  all in the send ledger and writing their deliveries, committed (one transaction);
- the next tick: the same run again, which must find nobody left and write nothing;

and reports the peak resident memory of the process (seeding included). The last line of output
is JSON: {"officers": ..., "festival_queue_s": ..., "birthday_pick_s": ..., "peak_rss_mb": ...}.
Targets (issue 7): festival_queue_s < 5, birthday_pick_s < 0.1, peak_rss_mb < 300.

Run from the repository root: ``python bench/greetings.py [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert
from sqlmodel import select

from bench.updates import bench_database, postgres_url
from bot.greetings import BIRTHDAY, queue_occasion, recipients_of
from bot.policy import load_policy
from bot.rules.calendar import festivals_on, lunar_birthday_keys, lunar_of
from storage import ledger
from storage.db import Database
from storage.models import BindingMethod, Delivery, Officer, TelegramBinding
from storage.types import utcnow

DAY = date(2026, 10, 1)  # 国庆节: a festival, and the birthday of the chosen few
ZONE = ZoneInfo("Asia/Shanghai")
FESTIVAL = "guoqing"
FIRST_USER = 6_000_000_000
SEED_BATCH = 10_000
LUNAR_SHARE = 0.02  # officers who chose a lunar birthday (not today)
TARGETS = {"festival_queue_s": 5.0, "birthday_pick_s": 0.1, "peak_rss_mb": 300.0}
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.greetings",
        description="Time choosing and queueing a festival greeting for N officers and picking "
        "the day's birthdays, through the bot's own greeting code; the last line is JSON.",
    )
    parser.add_argument(
        "--officers",
        type=int,
        default=100_000,
        metavar="N",
        help="bound officers on the roster (default: 100000)",
    )
    parser.add_argument(
        "--birthdays",
        type=int,
        default=300,
        metavar="B",
        help="of them, officers whose birthday is the bench's day (default: 300)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to "
        "run on a fresh schema there (dropped afterwards); default: a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    if args.officers < 1 or not 0 <= args.birthdays <= args.officers:
        parser.error("need 1 <= N and 0 <= B <= N")
    return args


def _other_day(index: int) -> date:
    """A birthday that is not the bench's day (month and day spread over the year)."""
    born = date(1965 + index % 40, 1, 1) + timedelta(days=index % 365)
    if (born.month, born.day) == (DAY.month, DAY.day):
        born += timedelta(days=1)
    return born


def _lunar_today() -> tuple[int, int, bool]:
    """A lunar birthday greeted on the bench's day."""
    today = lunar_of(DAY)
    assert today in lunar_birthday_keys(DAY)
    return today.month, today.day, today.leap


def _lunar_other() -> tuple[int, int, bool]:
    """A lunar birthday not greeted on the bench's day."""
    other = lunar_of(DAY + timedelta(days=40))
    assert other not in lunar_birthday_keys(DAY)
    return other.month, other.day, other.leap


def _officers(count: int, birthdays: int) -> Iterator[dict[str, object]]:
    """Roster rows: the first `birthdays` born on the bench's day (a tenth by lunar date)."""
    now = utcnow()
    lunar_today, lunar_other = _lunar_today(), _lunar_other()
    lunar_every = int(1 / LUNAR_SHARE)
    for index in range(count):
        lunar: tuple[int, int, bool] | None = None
        birthday = _other_day(index)
        if index < birthdays:
            if index % 10 == 0:
                lunar = lunar_today
            else:
                birthday = date(1970 + index % 30, DAY.month, DAY.day)
        elif index % lunar_every == 0:
            lunar = lunar_other
        yield {
            "police_id": f"B{index:07d}",
            "name": f"警员{index:06d}",
            "unit": "基准分局",
            "phone": f"+86139{index:08d}",
            "birthday": birthday,
            "rh_negative": False,
            "active": True,
            "single_opt_in": False,
            "greetings_opt_out": False,
            "lunar_birth_month": lunar[0] if lunar else None,
            "lunar_birth_day": lunar[1] if lunar else None,
            "lunar_birth_leap": lunar[2] if lunar else False,
            "created_at": now,
            "updated_at": now,
        }


def seed(database: Database, count: int, birthdays: int) -> None:
    """N bound officers, in batches so the rows never all sit in memory at once."""
    batch: list[dict[str, object]] = []
    for row in _officers(count, birthdays):
        batch.append(row)
        if len(batch) == SEED_BATCH:
            with database.session() as session:
                session.execute(insert(Officer), batch)
            batch = []
    if batch:
        with database.session() as session:
            session.execute(insert(Officer), batch)
    now = utcnow()
    with database.session() as session:
        ids = sorted(int(i) for i in session.exec(select(Officer.id)).all() if i is not None)
    for start in range(0, len(ids), SEED_BATCH):
        rows = [
            {
                "officer_id": officer_id,
                "telegram_user_id": FIRST_USER + officer_id,
                "chat_id": FIRST_USER + officer_id,
                "method": BindingMethod.IMPORT,
                "bound_at": now,
            }
            for officer_id in ids[start : start + SEED_BATCH]
        ]
        with database.session() as session:
            session.execute(insert(TelegramBinding), rows)
    settle(database)


def settle(database: Database) -> None:
    """Leave the roster as a long-imported one is: statistics known, nothing left to flush.

    Without it the timed run would pay for the seeding: PostgreSQL setting the new rows' hint
    bits and writing the checkpoint their inserts started.
    """
    with database.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if database.dialect == "postgresql":
            connection.exec_driver_sql("VACUUM ANALYZE officer, telegram_binding")
            connection.exec_driver_sql("CHECKPOINT")
        else:
            connection.exec_driver_sql("ANALYZE")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _deliveries(database: Database) -> int:
    with database.session() as session:
        return int(session.exec(select(func.count()).select_from(Delivery)).one())


def measure(database: Database, args: argparse.Namespace) -> dict[str, float | int]:
    """Seed, then time the birthday pick, the festival queue and a repeated tick."""
    policy = load_policy(None)
    assert FESTIVAL in {str(festival) for festival in festivals_on(DAY)}
    started = time.perf_counter()
    seed(database, args.officers, args.birthdays)
    seeded = time.perf_counter() - started
    print(f"  seeded      {args.officers} bound officers in {seeded:.1f} s", flush=True)

    started = time.perf_counter()
    picked = recipients_of(database, BIRTHDAY, DAY)
    birthday_pick = time.perf_counter() - started
    if len(picked) != args.birthdays:
        raise AssertionError(f"picked {len(picked)} birthdays, expected {args.birthdays}")

    # Choosing alone, for the breakdown: queue_occasion chooses again, and only it is counted.
    started = time.perf_counter()
    chosen = len(recipients_of(database, FESTIVAL, DAY))
    choose = time.perf_counter() - started
    started = time.perf_counter()
    queued = queue_occasion(database, policy, FESTIVAL, DAY, {}, zone=ZONE)
    festival_queue = time.perf_counter() - started
    if queued != args.officers or chosen != args.officers:
        raise AssertionError(f"queued {queued} festival greetings for {args.officers} officers")

    started = time.perf_counter()
    birthday_queued = queue_occasion(database, policy, BIRTHDAY, DAY, {}, zone=ZONE)
    birthday_queue = time.perf_counter() - started

    started = time.perf_counter()
    again = queue_occasion(database, policy, FESTIVAL, DAY, {}, zone=ZONE)
    again += queue_occasion(database, policy, BIRTHDAY, DAY, {}, zone=ZONE)
    tick = time.perf_counter() - started
    if again:
        raise AssertionError(f"a second tick queued {again} greetings again")
    total = _deliveries(database)
    with database.session() as session:
        claimed = ledger.claimed_count(session, FESTIVAL, DAY)
    if total != args.officers + args.birthdays or claimed != args.officers:
        raise AssertionError(f"{total} deliveries and {claimed} festival claims: wrong")
    print(
        f"  birthdays   {len(picked)} of {args.officers} picked in {1000 * birthday_pick:.1f} ms "
        f"(target < {1000 * TARGETS['birthday_pick_s']:.0f} ms); queued in "
        f"{birthday_queue:.2f} s"
    )
    print(
        f"  festival    {queued} greetings chosen and queued in {festival_queue:.2f} s "
        f"(choosing alone: {choose:.2f} s; the rest is their texts, the ledger claims and "
        f"the deliveries; target < {TARGETS['festival_queue_s']:.0f} s)"
    )
    print(f"  next tick   {tick:.2f} s, queued nothing (everyone already claimed)")
    print(
        f"  database    {total} deliveries, {claimed} festival claims, {birthday_queued} birthdays"
    )
    return {
        "officers": args.officers,
        "festival_queue_s": round(festival_queue, 3),
        "birthday_pick_s": round(birthday_pick, 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the run went wrong."""
    args = parse_args(argv)
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"NuanJing greetings at scale on {backend}, {os.cpu_count()} CPUs, day {DAY}")
    try:
        with bench_database(database_url) as database:
            figures = measure(database, args)
    except AssertionError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for key, target in TARGETS.items():
        value = float(figures[key])
        verdict = "met" if value < target else "NOT met"
        print(f"  {key:<17}{value} (target < {target:g}: {verdict})")
    print(json.dumps(figures), flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
