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

The floor, in the same run: a bare python-telegram-bot echo bot (bench/updates.py's, with the
bot's concurrency, connection pool and HTTP client, in a child process of its own under another
token of the same sandbox; ``--echo-transport httpx`` gives it PTB's own client instead) gets
the same rush from the same officers: each sends it ``/book`` (answered with a copy), then all
press a ``BookStep("ok", …)`` button on that message at one instant, and the
echo answers each press and edits the message to the button's data: the same two Bot API calls
the bot makes for a booking (answerCallbackQuery, editMessageText). The echo's data names
another day in each run, so that its edit always changes the message. Bot and echo alternate
which rushes first; ``--no-echo`` leaves the echo out.

The sandbox and the simulated officers share this process; the last line of stdout is one JSON
object: officers, places, booked, overbooked, p95_reply_s (the median over the runs of each
run's 95th percentile), then echo_p95_reply_s (the echo's, likewise; null with --no-echo),
echo_p95_min_s, echo_p95_max_s, waitlisted, runs, p95_min_s, p95_max_s, cpu_ms_per_press and
echo_cpu_ms_per_press (each process's CPU over a rush per press, median over the runs),
sql_per_press (SQL statements the bot sent per press, commits included), machine_cpu_s (the CPU
every process on the machine used over the bot's rush, the database server's included, median
over the runs; null off Linux), echo_transport (the echo's HTTP client, ``--echo-transport``)
and database.

Run from the repository root: ``python bench/bookings.py`` or ``python -m bench.bookings``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from sqlalchemy import delete, event, func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench.updates import (
    ECHO,
    FIRST_USER_ID,
    READY,
    TOKENS,
    BotProcess,
    ErrorCounter,
    Spread,
    _Commands,
    add_floor_transport,
    bench_database,
    load_average,
    met_or_not,
    percentile,
    positive,
    postgres_url,
    profile_lines,
    seed_officers,
)
from bench.updates import BenchmarkError as ProcessError
from bench.updates import bot_process as echo_process
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
    from bot.sandbox import ApiCall, BotEvent, SandboxClient

TOKEN = "730001:bench-bookings-bot"
BOT = "bot"
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
BOOK = "/book"
# A bot that makes no Bot API call for this long while answers are missing has stalled.
STALL_SECONDS = 10.0
# The deadline only bounds a bot that trickles: slower than this many answers a second fails.
SLOWEST_PER_SECOND = 10.0
GRACE_SECONDS = 30.0
LONGEST_WAIT = 60.0
# How long to keep listening after the last answer, to catch a bot that answers twice.
QUIET_SECONDS = 0.5
# The bot process's answer to this command line: JSON of the SQL statements it has sent so far
# by their first word (BEGIN, SELECT, SAVEPOINT…) and its commits (COMMIT).
STATEMENTS = "statements"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

JSON = dict[str, Any]


class BenchmarkError(Exception):
    """The run did not measure what it claims to (missing or extra answers, refusals, errors)."""


@dataclass(frozen=True)
class Rush:
    """One bot's side of one rush: each answered press's time to its answer, and the cost."""

    presses: int
    from_press: list[float]
    posting_seconds: float  # from the release to the last press posted
    seconds: float  # from the release to the last answer
    cpu_seconds: float  # the bot process's, from just before the release to the quiet after
    harness_cpu_seconds: float  # this process's (the sandbox and the officers) meanwhile
    # every process's on the machine meanwhile (the database server's too); None off Linux
    machine_cpu_seconds: float | None
    calls: Counter[str]  # the Bot API calls it made meanwhile, by method (no getUpdates)
    statements: Counter[str] = field(default_factory=Counter)  # its SQL (the bot only)

    @property
    def p95(self) -> float:
        """The 95th percentile of a press's time to its answer."""
        return percentile(self.from_press, 0.95)

    @property
    def cpu_ms(self) -> float:
        """The process's CPU milliseconds per press."""
        return 1000 * self.cpu_seconds / self.presses

    @property
    def sql_per_press(self) -> float:
        """SQL statements (commits included) per press."""
        return sum(self.statements.values()) / self.presses

    def line(self) -> str:
        """p50, p95, max; how long it all took; CPU and calls per press."""
        calls = ", ".join(
            f"{method} {count / self.presses:.2f}" for method, count in sorted(self.calls.items())
        )
        return (
            f"press to answer p50 {percentile(self.from_press, 0.5):.3f} s, p95 {self.p95:.3f} s, "
            f"max {max(self.from_press):.3f} s; all answered {self.seconds:.2f} s after the "
            f"release (presses posted within {self.posting_seconds:.2f} s); CPU "
            f"{self.cpu_seconds:.2f} s ({self.cpu_ms:.1f} ms a press; sandbox+officers "
            f"{self.harness_cpu_seconds:.2f} s{self._machine_text()}); Bot API calls a press: "
            f"{calls}"
        )

    def _machine_text(self) -> str:
        if self.machine_cpu_seconds is None:
            return ""
        # Work the machine's cores shared out: no bot could have answered the last press
        # before this, whatever its own share.
        floor = self.machine_cpu_seconds / (os.cpu_count() or 1)
        return (
            f"; all processes {self.machine_cpu_seconds:.2f} s, {floor:.2f} s of the "
            f"{os.cpu_count()} cores"
        )


@dataclass(frozen=True)
class Run:
    """What one rush did: the bot's bookings and timings, and the echo's timings."""

    officers: int
    places: int
    booked: int
    waitlisted: int
    missing: int  # officers with no answer to their press
    bot: Rush
    echo: Rush | None

    @property
    def overbooked(self) -> int:
        """Places held beyond the slot's places."""
        return max(0, self.booked - self.places)

    @property
    def p95(self) -> float:
        """The 95th percentile of a press's time to the bot's answer."""
        return self.bot.p95


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


def echo_data(start: datetime, run: int) -> str:
    """What the echo's officers press in this run: a confirm button of the slot `run` days on.

    The same shape as the bot's; another day each run, so that the echo's edit (to the data)
    always changes the message, as a first booking changes the bot's.
    """
    return confirm_data(start + timedelta(days=run))


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
        "sandbox; in each run the same officers rush a bare python-telegram-bot echo bot too "
        "(bench/updates.py's, the bot's concurrency, pool and HTTP client; it answers each "
        "press and edits the message: the bot's two Bot API calls), alternating which goes "
        "first. Prints per run how many were booked, overbooked and waitlisted and, for each "
        "bot, the time from each press to its answer (p50, p95, max), CPU per press and the Bot "
        "API calls per press; then the median [min-max] of the p95 over the runs. The last line "
        "is JSON: officers, places, booked, overbooked, p95_reply_s, echo_p95_reply_s, "
        "echo_p95_min_s, echo_p95_max_s, waitlisted, runs, p95_min_s, p95_max_s, "
        "cpu_ms_per_press, echo_cpu_ms_per_press, sql_per_press, machine_cpu_s, echo_transport, "
        f"database. Targets: booked == places, overbooked == 0, p95 < {TARGET_P95:.0f} s. Exits "
        "non-zero if any run overbooked, or any officer's press went unanswered, was answered "
        "twice or refused.",
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
        "--no-echo",
        dest="echo",
        action="store_false",
        help="leave the echo bot's rushes out (its keys are null in the JSON line)",
    )
    add_floor_transport(parser)
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="run cProfile in the bot process during its rushes, write the stats to DIR "
        "(bot-runN.prof) and print the top functions of bot/, handlers/, storage/ and the "
        "libraries by cumulative time per press; the profiler slows the bot, so the timings of "
        "such a run are not comparable",
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


class StatementCounter:
    """Counts the SQL statements this process sends, by their first word, and its commits."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def install(self) -> None:
        """Listen on every engine of the process (the bot makes its own)."""
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, *args: Any) -> None:
        # (connection, cursor, statement, parameters, context, executemany)
        words = str(args[2]).split(None, 1)
        self.counts[words[0].upper() if words else "?"] += 1

    def _commit(self, *args: Any) -> None:
        self.counts["COMMIT"] += 1


async def serve(api_base_url: str, database_url: str, places: int) -> int:
    """Poll as the bot with the benchmark's policy until stdin closes; non-zero on errors."""
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    statements = StatementCounter()
    statements.install()
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
        # CPU time, memory and the profiler as bench/updates.py's bot process answers them.
        answers = _Commands()
        try:
            async with polling(application, poll_timeout=POLL_TIMEOUT):
                print(READY, flush=True)
                while line := await commands.readline():
                    word = line.decode().strip()
                    if word == STATEMENTS:
                        print(json.dumps(statements.counts), flush=True)
                    else:
                        print(answers.answer(word), flush=True)
        finally:
            pipe.close()
    finally:
        database.dispose()
    if errors.count:
        print(f"bench: the bot logged {errors.count} error(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


class BookingBot(BotProcess):
    """The bot process, which also counts its SQL statements."""

    async def statements(self) -> Counter[str]:
        """The SQL statements the bot has sent so far, by their first word."""
        return Counter(json.loads(await self._ask(STATEMENTS)))


@asynccontextmanager
async def bot_process(
    api_base_url: str, database_url: str, places: int
) -> AsyncIterator[BookingBot]:
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
    handle = BookingBot(BOT, process)
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


@dataclass
class Side:
    """One bot under test: its process, its officers' client, and the message each presses on."""

    name: str
    process: BotProcess
    client: SandboxClient
    calls: Callable[[], list[ApiCall]]
    messages: dict[int, int] = field(default_factory=dict)


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


def services_shown(event: BotEvent) -> bool:
    """The bot's answer to /book: the services, as buttons."""
    return event.kind == "message" and bool(event.buttons)


def echoed(event: BotEvent) -> bool:
    """The echo's answer to /book: a copy of it."""
    return event.kind == "message" and event.text == BOOK


async def open_book(
    client: SandboxClient, users: Sequence[int], right: Callable[[BotEvent], bool]
) -> dict[int, int]:
    """Each officer sends /book (untimed); the id of the answer, pressed on later."""
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def officer(user_id: int) -> None:
        async with connections:
            await client.send_text(user_id, BOOK)

    await asyncio.gather(*(officer(user_id) for user_id in users))
    timeout = GRACE_SECONDS + len(users) / SLOWEST_PER_SECOND
    messages: dict[int, int] = {}
    for user_id in users:
        [answer] = await client.replies(user_id, count=1, timeout=timeout)
        if not right(answer):
            raise BenchmarkError(f"officer {user_id} got {answer} for {BOOK}")
        messages[user_id] = answer.message_id
    return messages


async def rush(
    side: Side, data: str
) -> tuple[list[ApiCall], dict[int, float], dict[str, JSON], dict[str, int], float, float]:
    """Every officer presses `data` on their message at one instant; wait for every answer.

    The calls the bot made meanwhile, when each officer pressed, the answers by query, the
    query of each officer, the release's moment and the bot's CPU seconds over the rush.
    """
    client, messages = side.client, side.messages
    users = list(messages)
    first_call = len(side.calls())
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
    cpu = await side.process.cpu_seconds()
    try:
        async with asyncio.TaskGroup() as group:
            presses = {user_id: group.create_task(officer(user_id)) for user_id in users}
            watchdog = group.create_task(_watch(lambda: side.calls()[first_call:]))
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
        made = _made(side.calls()[first_call:])
        raise BenchmarkError(
            f"the {side.name}'s rush failed after {len(answers)} of {len(users)} answers ({made} "
            f"Bot API calls): {reason}"
        ) from None
    # A bot that answers twice would have its extra answers arrive now.
    await asyncio.sleep(QUIET_SECONDS)
    cpu = await side.process.cpu_seconds() - cpu
    return side.calls()[first_call:], pressed_at, answers, queries, released, cpu


def check(
    made: Sequence[ApiCall],
    users: Sequence[int],
    answers: dict[str, JSON],
    queries: dict[str, int],
    *,
    echo: bool = False,
) -> tuple[dict[int, float], int]:
    """Each officer's answer's arrival (the first, if more) and how many got none; raises
    BenchmarkError if an officer was answered twice, refused, or a call was refused; the echo
    must have made exactly one answer and one edit per press."""
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
        # Booked again as in the last run: the card is the same, the edit not modified. The
        # echo's edits always change the message (echo_data).
        and not (call.method == EDIT and call.status == 400 and not echo)
    )
    if refused:
        problems.append(f"calls refused by the sandbox: {dict(refused)}")
    if echo:
        calls = Counter(call.method for call in made if call.method != GET_UPDATES)
        wanted = Counter({ANSWER: len(users), EDIT: len(users)})
        if calls != wanted:
            problems.append(f"the echo made the calls {dict(calls)}, not {dict(wanted)}")
    if problems:
        shown = "\n  ".join(problems[:10])
        raise BenchmarkError(f"{len(problems)} problem(s) with the answers, e.g.:\n  {shown}")
    first = {user: times[0] for user, times in answered.items()}
    return first, sum(1 for user in users if user not in first)


def machine_cpu_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (Linux); None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait were busy
    ticks = [int(value) for value in fields[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


async def timed_rush(side: Side, data: str, *, profile_to: Path | None = None) -> tuple[Rush, int]:
    """One side's rush, checked; its timings and costs, and how many presses went unanswered."""
    bot = side.process if isinstance(side.process, BookingBot) else None
    statements = await bot.statements() if bot is not None else Counter[str]()
    if profile_to is not None:
        await side.process.profile(None)
    harness, machine = time.process_time(), machine_cpu_seconds()
    made, pressed_at, answers, queries, released, cpu = await rush(side, data)
    harness = time.process_time() - harness
    after = machine_cpu_seconds()
    machine = None if machine is None or after is None else after - machine
    if profile_to is not None:
        await side.process.profile(profile_to)
    if bot is not None:
        statements = await bot.statements() - statements
    users = list(side.messages)
    answered_at, missing = check(made, users, answers, queries, echo=bot is None)
    last = max(answered_at.values(), default=released)
    timing = Rush(
        presses=len(users),
        from_press=[answered_at[user] - pressed_at[user] for user in answered_at],
        posting_seconds=max(pressed_at.values()) - released,
        seconds=last - released,
        cpu_seconds=cpu,
        harness_cpu_seconds=harness,
        machine_cpu_seconds=machine,
        calls=Counter(call.method for call in made if call.method != GET_UPDATES),
        statements=statements,
    )
    return timing, missing


async def benchmark(
    args: argparse.Namespace, database_url: str | None, progress: Callable[[str], None]
) -> tuple[list[Run], list[str]]:
    """Seed, start the bots, open /book for everyone, then the rushes; the runs, and the
    profile's lines with --profile."""
    from bot.sandbox import Sandbox, SandboxClient

    users = [FIRST_USER_ID + index for index in range(args.officers)]
    runs: list[Run] = []
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    with bench_database(database_url) as database:
        seed_officers(database, users)
        # The sandbox's flood limits stay off (its default): this measures the bot, not 429s.
        async with AsyncExitStack() as stack:
            sandbox = await stack.enter_async_context(Sandbox())
            client = await stack.enter_async_context(SandboxClient(sandbox.base_url, TOKEN))
            process = await stack.enter_async_context(
                bot_process(sandbox.api_base_url, database.url, args.places)
            )
            bot = Side(BOT, process, client, lambda: sandbox.calls(TOKEN))
            echo: Side | None = None
            if args.echo:
                echo_client = await stack.enter_async_context(
                    SandboxClient(sandbox.base_url, TOKENS[ECHO])
                )
                echo = Side(
                    ECHO,
                    await stack.enter_async_context(
                        echo_process(ECHO, sandbox, database.url, args.echo_transport)
                    ),
                    echo_client,
                    lambda: sandbox.calls(TOKENS[ECHO]),
                )
            started = time.monotonic()
            bot.messages = await open_book(client, users, services_shown)
            if echo is not None:
                echo.messages = await open_book(echo.client, users, echoed)
            progress(
                f"  {len(users)} officers sent /book in {time.monotonic() - started:.1f} s "
                "(untimed: the message each presses on)"
            )
            for number in range(1, args.runs + 1):
                start = slot_start(datetime.now(ZoneInfo(ZONE)))
                echo_rush: Rush | None = None
                # Alternate which goes first, so that a drift of the machine hits both.
                if echo is not None and number % 2 == 0:
                    echo_rush, _ = await timed_rush(echo, echo_data(start, number))
                reset(database)
                profile_to = (
                    args.profile / f"bot-run{number}.prof" if args.profile is not None else None
                )
                bot_rush, missing = await timed_rush(
                    bot, confirm_data(start), profile_to=profile_to
                )
                booked, waitlisted = counts(database)
                if echo is not None and number % 2 == 1:
                    echo_rush, _ = await timed_rush(echo, echo_data(start, number))
                run = Run(
                    officers=len(users),
                    places=args.places,
                    booked=booked,
                    waitlisted=waitlisted,
                    missing=missing,
                    bot=bot_rush,
                    echo=echo_rush,
                )
                runs.append(run)
                progress(
                    f"  run {number}: booked {run.booked}, overbooked {run.overbooked}, "
                    f"waitlisted {run.waitlisted}, unanswered {run.missing}; "
                    f"{bot_rush.line()}; SQL statements a press "
                    f"{bot_rush.sql_per_press:.1f} ({_statements_text(bot_rush)})"
                )
                if echo_rush is not None:
                    progress(f"  run {number} echo: {echo_rush.line()}")
    lines: list[str] = []
    if args.profile is not None:
        paths = sorted(args.profile.glob("bot-run*.prof"))
        lines = profile_lines(paths, len(paths) * len(users))
    return runs, lines


def _statements_text(rush: Rush) -> str:
    """``SELECT 9.0, SAVEPOINT 4.0, …`` per press, most first."""
    return ", ".join(
        f"{word} {count / rush.presses:.1f}" for word, count in rush.statements.most_common()
    )


# --- reporting ----------------------------------------------------------------------------


def _median(values: Sequence[float], digits: int) -> float | None:
    return round(statistics.median(values), digits) if values else None


def summary(args: argparse.Namespace, runs: Sequence[Run], backend: str) -> JSON:
    """The JSON line: the worst run's counts, the median p95 and its range, the echo's."""
    worst = max(runs, key=lambda run: (run.overbooked, abs(run.booked - run.places)))
    p95 = Spread.of([run.p95 for run in runs])
    echoes = [run.echo for run in runs if run.echo is not None]
    echo = Spread.of([rush.p95 for rush in echoes]) if echoes else None
    machine = [run.bot.machine_cpu_seconds for run in runs if run.bot.machine_cpu_seconds]
    return {
        "officers": args.officers,
        "places": args.places,
        "booked": worst.booked,
        "overbooked": max(run.overbooked for run in runs),
        "p95_reply_s": round(p95.median, 3),
        "echo_p95_reply_s": round(echo.median, 3) if echo else None,
        "echo_p95_min_s": round(echo.low, 3) if echo else None,
        "echo_p95_max_s": round(echo.high, 3) if echo else None,
        "waitlisted": worst.waitlisted,
        "runs": len(runs),
        "p95_min_s": round(p95.low, 3),
        "p95_max_s": round(p95.high, 3),
        "cpu_ms_per_press": _median([run.bot.cpu_ms for run in runs], 2),
        "echo_cpu_ms_per_press": _median([rush.cpu_ms for rush in echoes], 2),
        "sql_per_press": _median([run.bot.sql_per_press for run in runs], 1),
        "machine_cpu_s": _median(machine, 2) if len(machine) == len(runs) else None,
        "echo_transport": args.echo_transport if echoes else None,
        "database": backend,
    }


def report(
    args: argparse.Namespace,
    runs: Sequence[Run],
    profile: Sequence[str],
    backend: str,
    started: float,
) -> JSON:
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
        f"{TARGET_P95:.0f} s ({met_or_not(p95.median < TARGET_P95)}); CPU "
        f"{figures['cpu_ms_per_press']} ms a press, {figures['sql_per_press']} SQL statements "
        "a press"
    )
    echoes = [run.echo for run in runs if run.echo is not None]
    if echoes:
        echo = Spread.of([rush.p95 for rush in echoes])
        print(
            f"  echo (bare PTB, the same presses, answer + edit): p95 press to answer "
            f"{echo.text(3)} s, CPU {figures['echo_cpu_ms_per_press']} ms a press; the bot's "
            f"p95 is {p95.median / echo.median:.1f} times the echo's"
        )
    if profile:
        print("  profile of the bot process over its rushes (cProfile), per press")
        for line in profile:
            print(line)
    print(f"  took {time.monotonic() - started:.0f} s, load average now {load_average()}")
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
        f"{args.places} places, {args.runs} runs"
        f"{f', each also through the echo bot ({args.echo_transport})' if args.echo else ''}; "
        f"{CLIENT_CONNECTIONS} "
        "client connections",
        flush=True,
    )
    started = time.monotonic()
    try:
        runs, profile = asyncio.run(
            benchmark(args, database_url, lambda line: print(line, flush=True))
        )
    except (BenchmarkError, ProcessError) as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    figures = report(args, runs, profile, backend, started)
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
