"""The rush for places: N bound officers press 预约 for P places released at one instant.

One bookable service with one slot of P places (tomorrow 09:00 in the union's zone, open every
day, one open booking per officer as the shipped health room has) is served by the real bot
(``build_application`` with that policy, polling the local Bot API sandbox from a child process
of its own, as in production). Each of N seeded, bound officers sends ``/book`` once (untimed:
the message they will press on). Then, in each of ``--runs`` runs, every officer waits on one
barrier and presses the slot's confirm button (``BookStep("ok", …)``, what ✅ 确认预约 carries)
at the same instant; a press's time runs from its request to the arrival at the sandbox of the
bot's answerCallbackQuery for it. Afterwards the database says who holds a place (booked, the
SIGNED rows) and who waits (the waitlist); overbooked is booked beyond P. Every officer must get
exactly one answer, a plain one (booked or waitlisted, never refused). Between runs the slot's
bookings are deleted, so each run starts from P free places.

The sandbox and the simulated officers share this process; the last line of stdout is one JSON
object: officers, places, booked, overbooked, p95_reply_s (the median over the runs of each
run's 95th percentile), then waitlisted, runs, p95_min_s, p95_max_s and database.

Run from the repository root: ``python bench/bookings.py`` or ``python -m bench.bookings``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from sqlalchemy import delete, func
from sqlmodel import col, select

from bench.updates import (
    CPU,
    FIRST_USER_ID,
    READY,
    BotProcess,
    ErrorCounter,
    Spread,
    bench_database,
    load_average,
    met_or_not,
    percentile,
    positive,
    postgres_url,
    seed_officers,
)
from bot.app import build_application, polling
from bot.policy import (
    WEEKDAY_KEYS,
    BookingLimits,
    Policy,
    ServiceKind,
    ServicePolicy,
    load_policy,
)
from bot.settings import Settings
from handlers.callbacks import BookStep
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Booking, ServiceSlot, SignupState

if TYPE_CHECKING:
    # Imported where used: the bot process must not carry the sandbox's aiohttp.
    from bot.sandbox import ApiCall, SandboxClient

TOKEN = "730001:bench-bookings-bot"
ZONE = "Asia/Shanghai"
SERVICE_KEY = "bench-room"
SLOT_TIME = "09:00"
WINDOW = "09:00-10:00"  # one slot of SLOT_MINUTES
SLOT_MINUTES = 60
DAY_FORMAT, SLOT_FORMAT = "%Y%m%d", "%H%M"
TARGET_P95 = 2.0
# Requests the simulated officers have in flight at once (bench/updates.py says why 4).
CLIENT_CONNECTIONS = 4
POLL_TIMEOUT = 1
GET_UPDATES = "getUpdates"
ANSWER, EDIT = "answerCallbackQuery", "editMessageText"
# A bot that makes no Bot API call for this long while answers are missing has stalled.
STALL_SECONDS = 10.0
# The deadline only bounds a bot that trickles: slower than this many answers a second fails.
SLOWEST_PER_SECOND = 10.0
GRACE_SECONDS = 30.0
LONGEST_WAIT = 60.0
# How long to keep listening after the last answer, to catch a bot that answers twice.
QUIET_SECONDS = 0.5
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

JSON = dict[str, Any]


class BenchmarkError(Exception):
    """The run did not measure what it claims to (missing or extra answers, refusals, errors)."""


@dataclass(frozen=True)
class Run:
    """What one rush did."""

    officers: int
    places: int
    booked: int
    waitlisted: int
    missing: int  # officers with no answer to their press
    from_press: list[float]
    posting_seconds: float  # from the release to the last press posted
    seconds: float  # from the release to the last answer
    bot_cpu_seconds: float

    @property
    def overbooked(self) -> int:
        """Places held beyond the slot's places."""
        return max(0, self.booked - self.places)

    @property
    def p95(self) -> float:
        """The 95th percentile of a press's time to its answer."""
        return percentile(self.from_press, 0.95)


# --- the policy ---------------------------------------------------------------------------


def bench_service(places: int) -> ServicePolicy:
    """One service whose one slot a day (09:00–10:00, every day) has `places` places."""
    hours = {weekday: [WINDOW] for weekday in WEEKDAY_KEYS}
    return ServicePolicy.model_validate(
        {
            "key": SERVICE_KEY,
            "name": "基准健康屋",
            "kind": ServiceKind.HEALTH_ROOM,
            "place": "基准大楼一层",
            "hours": hours,
            "slot_minutes": SLOT_MINUTES,
            "places_per_slot": places,
            "horizon_days": 7,
            "cancel_before_minutes": 120,
            # As the shipped health room: one open booking per officer (the officer's row is
            # locked after the slot's, and their other bookings counted).
            "limits": BookingLimits(open_bookings=1),
            # Open every day, holidays too: the benchmark runs on any day of the year.
            "follows_workdays": False,
        }
    )


def bench_policy(places: int) -> Policy:
    """The shipped policy with the benchmark's service as its only one."""
    shipped = load_policy(None).model_dump()
    shipped["services"] = [bench_service(places).model_dump()]
    return Policy.model_validate(shipped)


def slot_start(now: datetime) -> datetime:
    """The slot pressed for: tomorrow 09:00 in the union's zone (always ahead, always open)."""
    zone = ZoneInfo(ZONE)
    day = now.astimezone(zone).date() + timedelta(days=1)
    hour, minute = (int(part) for part in SLOT_TIME.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def confirm_data(start: datetime) -> str:
    """The callback data of the slot's ✅ 确认预约 button."""
    return BookStep(
        "ok", SERVICE_KEY, start.strftime(DAY_FORMAT), start.strftime(SLOT_FORMAT)
    ).pack()


# --- arguments ----------------------------------------------------------------------------


def _places(value: str) -> int:
    number = positive(value)
    if number > 1000:
        raise argparse.ArgumentTypeError(f"a slot has at most 1000 places, got {number}")
    return number


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bookings",
        description="N bound officers press 预约 (the confirm button of one slot) at one instant "
        "for P places, through the real NuanJing bot (a child process) and the local Bot API "
        "sandbox. Prints per run how many were booked, overbooked and waitlisted and the time "
        "from each press to the bot's answer (p50, p95, max); then the median [min-max] of the "
        "p95 over the runs. The last line is JSON: officers, places, booked, overbooked, "
        f"p95_reply_s, waitlisted, runs, p95_min_s, p95_max_s, database. Targets: booked == "
        f"places, overbooked == 0, p95 < {TARGET_P95:.0f} s. Exits non-zero if any run "
        "overbooked, or any officer's press went unanswered, was answered twice or refused.",
    )
    parser.add_argument(
        "--officers",
        type=positive,
        default=1000,
        metavar="N",
        help="bound officers pressing at once (default: 1000)",
    )
    parser.add_argument(
        "--places",
        type=_places,
        default=100,
        metavar="P",
        help="places of the slot (default: 100)",
    )
    parser.add_argument(
        "--runs",
        type=positive,
        default=3,
        metavar="N",
        help="rushes, each from P free places (default: 3)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL (the benchmark works in a scratch schema of its own, dropped "
        "afterwards); default: a temporary SQLite file",
    )
    # The bot process's side (started by the benchmark itself).
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve and not (args.api_base_url and args.database_url):
        parser.error("--serve needs --api-base-url and --database-url")
    return args


# --- the bot process ----------------------------------------------------------------------


async def serve(api_base_url: str, database_url: str, places: int) -> int:
    """Poll as the bot with the benchmark's policy until stdin closes; non-zero on errors."""
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=SecretStr(TOKEN),
        NUANJING_API_BASE_URL=api_base_url,
        NUANJING_DATABASE_URL=database_url,
        NUANJING_TIMEZONE=ZONE,
        # A throwaway key: the benchmark stores no health details worth keeping.
        NUANJING_SECRET_KEY=SecretStr(FieldCipher.generate_key()),
    )
    database = Database(settings.database_url)
    try:
        application = build_application(settings, database, bench_policy(places))
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader()
        pipe, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), sys.stdin
        )
        try:
            async with polling(application, poll_timeout=POLL_TIMEOUT):
                print(READY, flush=True)
                while line := await commands.readline():
                    word = line.decode().strip()
                    answer = str(time.process_time()) if word == CPU else f"unknown {word!r}"
                    print(answer, flush=True)
        finally:
            pipe.close()
    finally:
        database.dispose()
    if errors.count:
        print(f"bench: the bot logged {errors.count} error(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


@asynccontextmanager
async def bot_process(
    api_base_url: str, database_url: str, places: int
) -> AsyncIterator[BotProcess]:
    """Start the bot in a child process, polling the sandbox, and stop it after."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        "--api-base-url",
        api_base_url,
        "--database-url",
        database_url,
        "--places",
        str(places),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    handle = BotProcess("bot", process)
    try:
        await handle.wait_ready()
        yield handle
    finally:
        code = await handle.stop()
    if code != EXIT_OK:
        raise BenchmarkError(f"the bot process exited with code {code}")


# --- the database ---------------------------------------------------------------------------


def counts(database: Database) -> tuple[int, int]:
    """Bookings holding a place and bookings waiting, over every slot of the service."""
    with database.session() as session:
        rows = session.exec(
            select(Booking.state, func.count())
            .where(Booking.service_key == SERVICE_KEY)
            .group_by(col(Booking.state))
        ).all()
    found = {str(state): int(count) for state, count in rows}
    database.dispose()  # the bot process holds the database meanwhile
    return found.get(SignupState.SIGNED, 0), found.get(SignupState.WAITLISTED, 0)


def reset(database: Database) -> None:
    """Delete the service's bookings and slots: the next rush starts from P free places."""
    with database.session() as session:
        session.execute(delete(Booking).where(col(Booking.service_key) == SERVICE_KEY))
        session.execute(delete(ServiceSlot).where(col(ServiceSlot.service_key) == SERVICE_KEY))
    database.dispose()


# --- driving the officers -------------------------------------------------------------------


def _made(calls: Sequence[ApiCall]) -> int:
    return sum(1 for call in calls if call.method != GET_UPDATES)


async def _watch(calls: Callable[[], Sequence[ApiCall]]) -> None:
    """Fail if the bot makes no Bot API call for STALL_SECONDS; runs until cancelled."""
    loop = asyncio.get_running_loop()
    made, changed = -1, loop.time()
    while True:
        await asyncio.sleep(1.0)
        now = _made(calls())
        if now != made:
            made, changed = now, loop.time()
        elif loop.time() - changed >= STALL_SECONDS:
            raise AssertionError(f"the bot made no Bot API call for {STALL_SECONDS:.0f} s")


async def _answer_of(client: SandboxClient, query: str, until: float) -> JSON:
    """The bot's answer to a press, waited for until `until` (the loop's clock)."""
    loop = asyncio.get_running_loop()
    while True:
        left = until - loop.time()
        answer = await client.callback_answer(query, timeout=min(max(left, 0.0), LONGEST_WAIT))
        if answer is not None:
            return answer
        if left <= LONGEST_WAIT:
            raise AssertionError(f"press {query} was not answered")


async def open_book(client: SandboxClient, users: Sequence[int]) -> dict[int, int]:
    """Each officer sends /book (untimed); the id of the bot's answer, pressed on later."""
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def officer(user_id: int) -> None:
        async with connections:
            await client.send_text(user_id, "/book")

    await asyncio.gather(*(officer(user_id) for user_id in users))
    timeout = GRACE_SECONDS + len(users) / SLOWEST_PER_SECOND
    messages: dict[int, int] = {}
    for user_id in users:
        [event] = await client.replies(user_id, count=1, timeout=timeout)
        if event.kind != "message" or not event.buttons:
            raise BenchmarkError(f"officer {user_id} got {event} for /book, not the services")
        messages[user_id] = event.message_id
    return messages


async def rush(
    client: SandboxClient,
    calls: Callable[[], list[ApiCall]],
    bot: BotProcess,
    messages: dict[int, int],
    data: str,
) -> tuple[list[ApiCall], dict[int, float], dict[str, JSON], dict[str, int], float, float]:
    """Every officer presses `data` on their message at one instant; wait for every answer.

    The calls the bot made meanwhile, when each officer pressed, the answers by query, the
    query of each officer, the release's moment and the bot's CPU seconds over the rush.
    """
    users = list(messages)
    first_call = len(calls())
    gc.collect()
    barrier = asyncio.Barrier(len(users) + 1)
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)
    pressed_at: dict[int, float] = {}

    async def officer(user_id: int) -> str:
        await barrier.wait()
        async with connections:
            pressed_at[user_id] = time.monotonic()
            return await client.press_data(user_id, messages[user_id], data)

    loop = asyncio.get_running_loop()
    until = loop.time() + GRACE_SECONDS + len(users) / SLOWEST_PER_SECOND
    answers: dict[str, JSON] = {}
    queries: dict[str, int] = {}
    bot_cpu = await bot.cpu_seconds()
    try:
        async with asyncio.TaskGroup() as group:
            presses = {user_id: group.create_task(officer(user_id)) for user_id in users}
            watchdog = group.create_task(_watch(lambda: calls()[first_call:]))
            await barrier.wait()
            released = time.monotonic()
            try:
                # One waiter at a time: the sandbox wakes every waiter on each answer.
                for user_id, task in presses.items():
                    query = await task
                    queries[query] = user_id
                    answers[query] = await _answer_of(client, query, until)
            finally:
                watchdog.cancel()
    except* AssertionError as failed:
        reason = str(failed.exceptions[0]).splitlines()[0]
        made = _made(calls()[first_call:])
        raise BenchmarkError(
            f"the rush failed after {len(answers)} of {len(users)} answers ({made} Bot API "
            f"calls): {reason}"
        ) from None
    # A bot that answers twice would have its extra answers arrive now.
    await asyncio.sleep(QUIET_SECONDS)
    bot_cpu = await bot.cpu_seconds() - bot_cpu
    return calls()[first_call:], pressed_at, answers, queries, released, bot_cpu


def check(
    made: Sequence[ApiCall],
    users: Sequence[int],
    answers: dict[str, JSON],
    queries: dict[str, int],
) -> tuple[dict[int, float], int]:
    """Each officer's answer's arrival (the first, if more) and how many got none; raises
    BenchmarkError if an officer was answered twice, refused, or a call was refused."""
    answered: dict[int, list[float]] = {}
    for call in made:
        if call.method == ANSWER and call.chat_id is not None:
            answered.setdefault(call.chat_id, []).append(call.time)
    problems = [
        f"officer {user}: {len(answered[user])} answers"
        for user in users
        if len(answered.get(user, [])) > 1
    ]
    problems.extend(
        f"officer {queries[query]}: refused with {answer.get('text')!r}"
        for query, answer in answers.items()
        if answer.get("text") or answer.get("show_alert")
    )
    refused = Counter(
        f"{call.method} {call.status}"
        for call in made
        if call.method != GET_UPDATES
        and call.status != 200
        # Booked again as in the last run: the card is the same, the edit not modified.
        and not (call.method == EDIT and call.status == 400)
    )
    if refused:
        problems.append(f"calls refused by the sandbox: {dict(refused)}")
    if problems:
        shown = "\n  ".join(problems[:10])
        raise BenchmarkError(f"{len(problems)} problem(s) with the answers, e.g.:\n  {shown}")
    first = {user: times[0] for user, times in answered.items()}
    return first, sum(1 for user in users if user not in first)


async def benchmark(
    args: argparse.Namespace, database_url: str | None, progress: Callable[[str], None]
) -> list[Run]:
    """Seed, start the bot, open /book for everyone, then the rushes."""
    from bot.sandbox import Sandbox, SandboxClient

    users = [FIRST_USER_ID + index for index in range(args.officers)]
    runs: list[Run] = []
    with bench_database(database_url) as database:
        seed_officers(database, users)
        # The sandbox's flood limits stay off (its default): this measures the bot, not 429s.
        async with (
            Sandbox() as sandbox,
            SandboxClient(sandbox.base_url, TOKEN) as client,
            bot_process(sandbox.api_base_url, database.url, args.places) as bot,
        ):

            def calls() -> list[ApiCall]:
                return sandbox.calls(TOKEN)

            started = time.monotonic()
            messages = await open_book(client, users)
            progress(
                f"  {len(users)} officers sent /book in {time.monotonic() - started:.1f} s "
                "(untimed: the message each presses on)"
            )
            for number in range(1, args.runs + 1):
                reset(database)
                start = slot_start(datetime.now(ZoneInfo(ZONE)))
                made, pressed_at, answers, queries, released, bot_cpu = await rush(
                    client, calls, bot, messages, confirm_data(start)
                )
                answered_at, missing = check(made, users, answers, queries)
                booked, waitlisted = counts(database)
                last = max(answered_at.values(), default=released)
                run = Run(
                    officers=len(users),
                    places=args.places,
                    booked=booked,
                    waitlisted=waitlisted,
                    missing=missing,
                    from_press=[answered_at[user] - pressed_at[user] for user in answered_at],
                    posting_seconds=max(pressed_at.values()) - released,
                    seconds=last - released,
                    bot_cpu_seconds=bot_cpu,
                )
                runs.append(run)
                progress(
                    f"  run {number}: booked {run.booked}, overbooked {run.overbooked}, "
                    f"waitlisted {run.waitlisted}, unanswered {run.missing}; press to answer "
                    f"p50 {percentile(run.from_press, 0.5):.3f} s, p95 {run.p95:.3f} s, max "
                    f"{max(run.from_press):.3f} s; all answered {run.seconds:.2f} s after the "
                    f"release (presses posted within {run.posting_seconds:.2f} s), bot CPU "
                    f"{run.bot_cpu_seconds:.2f} s ({1000 * run.bot_cpu_seconds / len(users):.1f} "
                    "ms a press)"
                )
    return runs


# --- reporting ----------------------------------------------------------------------------


def summary(args: argparse.Namespace, runs: Sequence[Run], backend: str) -> JSON:
    """The JSON line: the worst run's counts, the median p95 and its range."""
    worst = max(runs, key=lambda run: (run.overbooked, abs(run.booked - run.places)))
    p95 = Spread.of([run.p95 for run in runs])
    return {
        "officers": args.officers,
        "places": args.places,
        "booked": worst.booked,
        "overbooked": max(run.overbooked for run in runs),
        "p95_reply_s": round(p95.median, 3),
        "waitlisted": worst.waitlisted,
        "runs": len(runs),
        "p95_min_s": round(p95.low, 3),
        "p95_max_s": round(p95.high, 3),
        "database": backend,
    }


def report(args: argparse.Namespace, runs: Sequence[Run], backend: str, started: float) -> JSON:
    """Print the readable summary, then the one JSON line; the figures."""
    figures = summary(args, runs, backend)
    p95 = Spread.of([run.p95 for run in runs])
    booked_met = all(run.booked == run.places for run in runs)
    print(
        f"  {args.officers} officers for {args.places} places, {len(runs)} runs: booked "
        f"{figures['booked']} ({met_or_not(booked_met)}: == {args.places} in every run), "
        "overbooked "
        f"{figures['overbooked']} ({met_or_not(figures['overbooked'] == 0)}), waitlisted "
        f"{figures['waitlisted']}; p95 press to answer {p95.text(3)} s, target < "
        f"{TARGET_P95:.0f} s ({met_or_not(p95.median < TARGET_P95)}); took "
        f"{time.monotonic() - started:.0f} s, load average now {load_average()}"
    )
    print(json.dumps(figures), flush=True)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero on overbooking or unanswered presses."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.serve:
        return asyncio.run(serve(args.api_base_url, args.database_url, args.places))
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    print(
        f"NuanJing booking rush on {backend}, {os.cpu_count()} CPUs, load average "
        f"{load_average()}: {args.officers} bound officers press 预约 at one instant for "
        f"{args.places} places, {args.runs} runs; {CLIENT_CONNECTIONS} client connections",
        flush=True,
    )
    started = time.monotonic()
    try:
        runs = asyncio.run(benchmark(args, database_url, lambda line: print(line, flush=True)))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    figures = report(args, runs, backend, started)
    unanswered = sum(run.missing for run in runs)
    if figures["overbooked"] or unanswered:
        print(
            f"bench: FAILED: overbooked {figures['overbooked']}, unanswered presses {unanswered}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
