"""Updates/s and CPU per update: the full bot versus a bare python-telegram-bot echo bot.

Bound officers send three kinds of update, each kind timed through the full bot and through an
echo bot on the same sandbox under another token:

- ``me``: ``/me``, answered with the officer's own card and its buttons;
- ``events``: ``/events``, answered with one card per upcoming event (a handful are seeded that
  everyone may see);
- ``press``: the greetings button of the officer's ``/me`` card (got in the warm-up), pressed
  with the data that sets the value the officer already has (a double press: nothing changes,
  the button is answered and the card edited, which Telegram refuses as not modified).

The echo bot is PTB with the bot's concurrency (``bot.app.CONCURRENT_UPDATES``) and as many
pooled connections, so that only the work differs: it answers a text with as many copies of it
as the bot sends messages for it (one for ``/me``, one per card for ``/events``) and a press with
answerCallbackQuery plus an edit of the message to the button's data. Its HTTP client is PTB's
own (httpx): the targets compare the bot with the bare framework. The bot talks to the Bot API
through aiohttp (bot.transport), which costs less CPU a call; ``--echo-transport aiohttp`` gives
the echo that client too, so that the ratios measure the bot's own work alone.

Both bots start once, each in a process of its own as in production (with the interpreter's
optimisation deploy/nuanjing.service gives the bot: ``--optimize``, 2 by default, docstrings and
asserts left out; both sides the same, from bytecode brought up to date first, as an install's
``compileall`` step does), and are warmed up; then
``--runs`` runs each time every kind through both bots, alternating which goes first. A run is
timed from its first update sent to the last Bot API call the sandbox logged for it; every reply
and every call is checked (each update answered exactly once with the right content). Each bot
reports its own CPU time over the run, its memory after the load, and, with ``--profile``, a
cProfile of the bot's timed runs. Last comes a burst: ``--burst`` officers press their card's
button at the same instant, and each press's time to its answer is measured.

The sandbox and the simulated officers share this process: both are pure-Python HTTP stacks
whose CPU cost per update is of the same order as the bots', so they must not be measured with
them. The last line of stdout is one JSON object (see ``--help``).

Run from the repository root: ``python bench/updates.py`` or ``python -m bench.updates``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import math
import os
import pstats
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr, ValidationError
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import CONCURRENT_UPDATES, BotApplication, build_application, polling
from bot.policy import load_policy
from bot.settings import Settings
from bot.transport import AiohttpRequest
from handlers.callbacks import ProfileAction
from storage import events as event_storage
from storage import officers
from storage.crypto import FieldCipher
from storage.db import Database, scratch_schema
from storage.models import Audience, BindingMethod, Officer
from storage.types import utcnow

if TYPE_CHECKING:
    # Imported where used: the bot processes must not carry the sandbox's aiohttp (10 MB here)
    # that the bot does not have in production.
    from bot.sandbox import ApiCall, BotEvent, Sandbox, SandboxClient

REPO = Path(__file__).resolve().parent.parent
BOT, ECHO = "bot", "echo"
SIDES = (BOT, ECHO)
# The echo's HTTP client: PTB's stock one (the bare framework), or the one the bot uses.
PTB_TRANSPORT, BOT_TRANSPORT = "httpx", "aiohttp"
TRANSPORTS = (PTB_TRANSPORT, BOT_TRANSPORT)
# Separate tokens give each bot its own update queue and chats in the one sandbox.
TOKENS = {BOT: "710001:bench-nuanjing-bot", ECHO: "710002:bench-echo-bot"}
ME, EVENTS, PRESS = "me", "events", "press"
KINDS = (ME, EVENTS, PRESS)
COMMANDS = {ME: "/me", EVENTS: "/events"}
# The upcoming events seeded for /events, everyone in their audience: (kind, title).
SEEDED_EVENTS = (
    ("class", "基准插花课"),
    ("outing", "基准户外徒步"),
    ("competition", "基准羽毛球赛"),
)
# Messages each bot sends for one text: the bot one card per event, the echo as many copies.
MESSAGES_PER_UPDATE = {ME: 1, EVENTS: len(SEEDED_EVENTS)}
# A seeded officer is greeted: the card's button turns greetings off ("greet", "0"); pressing
# ("greet", "1") sets what is already set, as the second press of a double press does.
GREET_TOGGLE = ProfileAction("greet", "0").pack()
GREET_KEPT = ProfileAction("greet", "1").pack()
FIRST_USER_ID = 810_000_001
FIRST_POLICE_ID = 300_001
TARGET_RATIO = 0.6
# PYTHONOPTIMIZE as deploy/nuanjing.service sets it for the bot (tests/test_deploy.py checks it).
DEPLOYED_OPTIMIZE = 2
TARGET_CPU_RATIO = 0.5
TARGET_RSS_MB = 120.0
TARGET_BURST_P95 = 1.0
# Short long-polls so that stopping a bot does not wait out a pending getUpdates.
POLL_TIMEOUT = 1
GET_UPDATES = "getUpdates"
# Requests the simulated officers have in flight at once. httpx's pool matches every queued
# request against every connection: 200 officers on 100 connections took 12 s to post 2,000
# messages here, 4 connections under 4 s; 1, 2 and 4 measured alike within the noise.
CLIENT_CONNECTIONS = 4
# A bot that makes no Bot API call for this long while answers are missing has stalled: fail
# then rather than wait out the deadline, which only bounds a bot that trickles (under 20/s).
STALL_SECONDS = 10.0
SLOWEST_UPS = 20.0
GRACE_SECONDS = 30.0
# How long to keep listening after the last answer, to catch a bot that answers twice.
QUIET_SECONDS = 0.3
# The sandbox answers a long poll after at most this long.
LONGEST_WAIT = 60.0
# How long a bot process may take to start polling, and to stop after being told to.
START_SECONDS = 60.0
STOP_SECONDS = 20.0
# The bot process's side of the pipe protocol: it says READY once polling, answers each command
# line with one line, and shuts down when its stdin closes. CPU: its CPU seconds so far; MEMORY:
# JSON with its peak and current resident memory in MB; PROFILE: start a cProfile; UNPROFILE
# PATH: stop it and write its stats to PATH.
READY, CPU, MEMORY, PROFILE, UNPROFILE, DONE = (
    "ready",
    "cpu",
    "memory",
    "profile",
    "unprofile",
    "ok",
)
PROFILE_TOP = 15
OUR_PACKAGES = ("bot", "handlers", "storage")
OURS, LIBRARY, STDLIB, C = "ours", "library", "stdlib", "C"
IDLE = "select"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

JSON = dict[str, Any]


class BenchmarkError(Exception):
    """The run did not measure what it claims to (missing, wrong or extra replies, errors)."""


@dataclass(frozen=True)
class Phase:
    """What one timed run of one kind through one bot did."""

    updates: int
    seconds: float
    bot_cpu_seconds: float
    harness_cpu_seconds: float
    # Between the two readings of the CPU times: the run, its quiet tail and the waiting here.
    cpu_wall_seconds: float

    @property
    def ups(self) -> float:
        """Updates per second."""
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms(self) -> float:
        """The bot process's CPU milliseconds per update."""
        return 1000 * self.bot_cpu_seconds / self.updates

    def busy(self, cpu_seconds: float) -> float:
        """The share of one core that this much CPU time between the readings amounts to."""
        return cpu_seconds / self.cpu_wall_seconds if self.cpu_wall_seconds > 0 else 0.0


@dataclass(frozen=True)
class Load:
    """How many updates each simulated officer sends, keyed by Telegram user id."""

    per_user: dict[int, int]

    @property
    def total(self) -> int:
        """All updates of the load."""
        return sum(self.per_user.values())

    @classmethod
    def spread(cls, updates: int, users: Sequence[int]) -> Load:
        """Deal ``updates`` over ``users`` as evenly as possible; users left with none drop out."""
        base, extra = divmod(updates, len(users))
        counts = {user: base + (1 if index < extra else 0) for index, user in enumerate(users)}
        return cls({user: count for user, count in counts.items() if count > 0})

    @classmethod
    def once(cls, users: Sequence[int]) -> Load:
        """One update from each user."""
        return cls(dict.fromkeys(users, 1))

    def share(self) -> str:
        """Updates per officer: "5", or "4-5" when they differ."""
        fewest, most = min(self.per_user.values()), max(self.per_user.values())
        return str(most) if fewest == most else f"{fewest}-{most}"


@dataclass(frozen=True)
class Spread:
    """The median and range of one figure over the runs."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """Summarise these values."""
        return cls(statistics.median(values), min(values), max(values))

    def text(self, digits: int = 1) -> str:
        """``median [min-max]``."""
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}-{self.high:.{digits}f}]"


@dataclass(frozen=True)
class KindResult:
    """Every run of one kind: the bot's and the echo's phases, paired by run."""

    kind: str
    bot: list[Phase]
    echo: list[Phase]

    @property
    def ratios(self) -> list[float]:
        """Per run: the bot's updates per second over the echo's."""
        return [b.ups / e.ups if e.ups else 0.0 for b, e in zip(self.bot, self.echo, strict=True)]

    @property
    def cpu_ratios(self) -> list[float]:
        """Per run: the echo's CPU per update over the bot's."""
        return [
            e.cpu_ms / b.cpu_ms if b.cpu_ms else 0.0
            for b, e in zip(self.bot, self.echo, strict=True)
        ]

    def medians(self) -> JSON:
        """The figures of the JSON line, each the median over the runs."""
        return {
            "bot_ups": round(statistics.median(p.ups for p in self.bot), 1),
            "echo_ups": round(statistics.median(p.ups for p in self.echo), 1),
            "ratio": round(statistics.median(self.ratios), 3),
            "bot_cpu_ms": round(statistics.median(p.cpu_ms for p in self.bot), 2),
            "echo_cpu_ms": round(statistics.median(p.cpu_ms for p in self.echo), 2),
            "cpu_ratio": round(statistics.median(self.cpu_ratios), 3),
        }


@dataclass(frozen=True)
class Burst:
    """Presses made at one instant: each one's seconds to its answer."""

    presses: int
    from_press: list[float]
    from_release: list[float]
    posting_seconds: float


@dataclass(frozen=True)
class Memory:
    """A bot process's resident memory in MB: the peak so far and now (None if unknown)."""

    peak_mb: float
    current_mb: float | None


@dataclass
class Results:
    """Everything one benchmark measured."""

    kinds: list[KindResult]
    # The bot's after its warm-up, after the runs and after all of the load (the burst
    # included); the echo's after the load.
    warm_memory: Memory
    runs_memory: Memory
    memory: Memory
    echo_memory: Memory
    bursts: dict[str, Burst]
    # How both bot processes ran: the echo's HTTP client and PYTHONOPTIMIZE.
    echo_transport: str = PTB_TRANSPORT
    optimize: int = DEPLOYED_OPTIMIZE
    profiles: dict[str, list[str]] = field(default_factory=dict)


# --- arguments ----------------------------------------------------------------------------


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def add_floor_transport(parser: argparse.ArgumentParser) -> None:
    """--echo-transport for a benchmark whose echo is the bot's floor: the bot's own client by
    default, like with like."""
    parser.add_argument(
        "--echo-transport",
        choices=TRANSPORTS,
        default=BOT_TRANSPORT,
        help=f"the echo's HTTP client: {BOT_TRANSPORT} (the bot's, bot/transport.py: like with "
        f"like, the default) or {PTB_TRANSPORT} (python-telegram-bot's own, which costs the "
        "echo several times the CPU a call)",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.updates",
        description="Updates per second and CPU per update of the full NuanJing bot against "
        "the local Bot API sandbox, compared with a bare python-telegram-bot echo bot with the "
        f"bot's concurrency ({CONCURRENT_UPDATES} updates at once, as many pooled connections) "
        "under the same load, for three kinds of update: /me (the officer's card), /events "
        f"(the listing, {len(SEEDED_EVENTS)} cards; the echo sends as many copies) and press "
        "(the card's greetings button pressed with the value already set; the echo answers the "
        "press and edits the message to its data). Both bots start once, each in its own "
        "process, and are warmed up; each run times every kind through both, alternating which "
        "goes first. Printed per kind: median [min-max] over the runs of updates/s, CPU ms per "
        "update of each bot process, and the ratios; then the bot's memory after the load and "
        "a burst of presses made at one instant. The last line of output is JSON: bot_ups, "
        "echo_ups and ratio of the kind with the lowest median ratio (target >= "
        f"{TARGET_RATIO}), bot_cpu_ms, echo_cpu_ms and cpu_ratio (echo's CPU per update / the "
        f"bot's; target >= {TARGET_CPU_RATIO}) of the kind with the lowest median cpu_ratio, "
        "kinds (each kind's medians), rss_mb and max_rss_mb (the bot's resident memory after "
        f"the load, now and at its peak; target < {TARGET_RSS_MB:.0f} MB), burst_p95_s "
        "(95th percentile of a press's time to its answer in the burst; target < "
        f"{TARGET_BURST_P95:.0f} s), then echo_transport and optimize (how both processes ran). "
        "Exits non-zero if any update is not answered exactly once with the right content.",
    )
    parser.add_argument(
        "--updates",
        type=positive,
        default=1000,
        metavar="N",
        help="timed updates of each kind per bot in each run (default: 1000)",
    )
    parser.add_argument(
        "--officers",
        type=positive,
        default=200,
        metavar="N",
        help="bound officers sending them concurrently, each its share in turn (default: 200)",
    )
    parser.add_argument(
        "--runs",
        type=positive,
        default=5,
        metavar="N",
        help="timed runs of every kind through both bots (default: 5)",
    )
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=KINDS,
        default=list(KINDS),
        metavar="KIND",
        help=f"the kinds of update to time, of {', '.join(KINDS)} (default: all)",
    )
    parser.add_argument(
        "--burst",
        type=_non_negative,
        default=500,
        metavar="N",
        help="bound officers pressing their card's greetings button at the same instant after "
        "the runs, through the bot and then the echo bot; 0 leaves the burst out (default: 500)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to "
        "run the bot on a fresh schema there (dropped afterwards); default: a temporary "
        "SQLite file",
    )
    parser.add_argument(
        "--warmup",
        type=_non_negative,
        default=100,
        metavar="N",
        help="untimed updates of each kind sent to each bot first, after a /me from every "
        "officer (which gives each their card), to warm connections, caches and the database "
        "(default: 100)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="run cProfile in the bot process during its timed runs, write the stats to DIR "
        "(bot-KIND-runN.prof) and print each kind's top functions of bot/, handlers/, storage/ "
        "and the libraries by cumulative time; the profiler slows the bot, so the figures of "
        "such a run are not comparable",
    )
    parser.add_argument(
        "--echo-transport",
        choices=TRANSPORTS,
        default=PTB_TRANSPORT,
        help="the echo bot's HTTP client: PTB's own, httpx (the bare framework, as the targets "
        "mean), or aiohttp, the bot's (bot.transport), to compare the bot's own work alone "
        "(default: httpx)",
    )
    parser.add_argument(
        "--optimize",
        type=int,
        choices=(0, 1, 2),
        default=DEPLOYED_OPTIMIZE,
        metavar="LEVEL",
        help="PYTHONOPTIMIZE of both bot processes: 0 none, 1 without asserts, 2 also without "
        f"docstrings (default: {DEPLOYED_OPTIMIZE}, as deploy/nuanjing.service runs the bot; "
        "it saves about 7 MB of resident memory)",
    )
    # Internal: how this script starts the bot under test in a process of its own.
    parser.add_argument("--serve", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--api-base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    # Each kind once, in the order of KINDS.
    args.kinds = [kind for kind in KINDS if kind in args.kinds]
    return args


# --- database -----------------------------------------------------------------------------


@contextmanager
def bench_database(url: str | None) -> Iterator[Database]:
    """A migrated, empty database: a temporary SQLite file, or a fresh PostgreSQL schema."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="nuanjing-bench-") as folder:
            database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                database.upgrade()
                yield database
            finally:
                database.dispose()
        return
    # A schema of its own, as the tests do, so the benchmark never touches existing tables.
    with scratch_schema(url, prefix="bench") as database:
        yield database


def police_id_of(user_id: int) -> str:
    """The police ID of the officer bound to this simulated Telegram user."""
    return str(FIRST_POLICE_ID + user_id - FIRST_USER_ID)


def seed_officers(database: Database, users: Sequence[int]) -> None:
    """Put one bound officer per simulated user on the roster, in one transaction."""
    with database.session() as session:
        for user_id in users:
            police_id = police_id_of(user_id)
            officer = officers.create(
                session,
                Officer(
                    police_id=police_id,
                    name=f"警员{police_id}",
                    unit="基准分局",
                    phone=f"+86139{int(police_id):08d}",
                ),
            )
            officers.bind(
                session,
                officer,
                telegram_user_id=user_id,
                chat_id=user_id,
                method=BindingMethod.IMPORT,
            )
    # The bot process opens its own connections; this one only seeded.
    database.dispose()


def seed_events(database: Database) -> None:
    """The upcoming events /events lists: open to everyone, ten days apart from ten days on."""
    now = utcnow()
    with database.session() as session:
        for number, (kind, title) in enumerate(SEEDED_EVENTS, start=1):
            starts = now + timedelta(days=10 * number)
            event_storage.create(
                session,
                kind=kind,
                title=title,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                place="基准活动室",
                capacity=50,
                signup_deadline=starts - timedelta(days=1),
                audience=Audience.EVERYONE,
                audience_value="",
                created_by="bench",
            )
    database.dispose()


# --- the bot process ----------------------------------------------------------------------


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text with as many copies of it as the bot sends messages for it."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    copies = MESSAGES_PER_UPDATE[EVENTS] if message.text == COMMANDS[EVENTS] else 1
    for _ in range(copies):
        await message.reply_text(message.text)


async def _echo_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a press and edit the pressed message to the button's data."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    await query.answer()
    try:
        await query.edit_message_text(query.data)
    except BadRequest as exc:
        # The same press again: Telegram (and the sandbox) refuses an edit that changes nothing.
        if "not modified" not in str(exc):
            raise


def build_echo(settings: Settings, transport: str = PTB_TRANSPORT) -> BotApplication:
    """The baseline: PTB with the bot's concurrency and connection pool, and two handlers; its
    HTTP client PTB's own (httpx) or, with `transport` "aiohttp", the bot's (bot.transport)."""
    builder = (
        ApplicationBuilder()
        .token(TOKENS[ECHO])
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if transport == BOT_TRANSPORT:
        builder = builder.request(AiohttpRequest(CONCURRENT_UPDATES)).get_updates_request(
            AiohttpRequest(1)
        )
    else:
        builder = builder.connection_pool_size(CONCURRENT_UPDATES)
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    application.add_handler(CallbackQueryHandler(_echo_press))
    return application


class ErrorCounter(logging.Handler):
    """Counts ERROR records, so that a failed update fails the benchmark."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one more."""
        self.count += 1


def memory_now() -> Memory:
    """This process's peak resident memory so far and its resident memory now, in MB."""
    # VmHWM and VmRSS belong to this process's own address space: ru_maxrss would carry the
    # benchmark's own peak over the fork that started the process.
    try:
        status = dict(
            line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
        )
        peak, current = (int(status[key].split()[0]) / 1024 for key in ("VmHWM", "VmRSS"))
    except (OSError, KeyError, IndexError, ValueError):
        # Not Linux: the peak alone (KiB there, bytes on macOS).
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return Memory(kib / 1024 / (1024 if sys.platform == "darwin" else 1), None)
    return Memory(max(peak, current), current)


class _Commands:
    """The bot process's answers to the parent's command lines."""

    def __init__(self) -> None:
        self._profiler: cProfile.Profile | None = None

    def answer(self, line: str) -> str:
        word, _, rest = line.strip().partition(" ")
        if word == CPU:
            return str(time.process_time())
        if word == MEMORY:
            memory = memory_now()
            return json.dumps({"peak_mb": memory.peak_mb, "current_mb": memory.current_mb})
        if word == PROFILE:
            # Its default clock: process_time made the bot 3.5 times slower under the profiler,
            # 1.6 times with this one; the idle wait in epoll is left out of the figures.
            self._profiler = cProfile.Profile()
            self._profiler.enable()
            return DONE
        if word == UNPROFILE and self._profiler is not None:
            self._profiler.disable()
            self._profiler.dump_stats(rest)
            self._profiler = None
            return DONE
        return f"unknown command {line.strip()!r}"


async def serve(
    kind: str, api_base_url: str, database_url: str, echo_transport: str = PTB_TRANSPORT
) -> int:
    """Poll as the full bot or the echo bot until stdin closes; non-zero if errors were logged."""
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=SecretStr(TOKENS[kind]),
        NUANJING_API_BASE_URL=api_base_url,
        NUANJING_DATABASE_URL=database_url,
        # A throwaway key: the benchmark stores no health details worth keeping.
        NUANJING_SECRET_KEY=SecretStr(FieldCipher.generate_key()),
    )
    database = Database(settings.database_url)
    try:
        if kind == BOT:
            application = build_application(settings, database, load_policy(None))
        else:
            application = build_echo(settings, echo_transport)
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader()
        pipe, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), sys.stdin
        )
        answers = _Commands()
        try:
            async with polling(application, poll_timeout=POLL_TIMEOUT):
                print(READY, flush=True)
                while line := await commands.readline():
                    print(answers.answer(line.decode()), flush=True)
        finally:
            pipe.close()
    finally:
        database.dispose()
    if errors.count:
        print(f"bench: the {kind} logged {errors.count} error(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


class BotProcess:
    """The parent's handle on a bot process: ask for its CPU time and memory, then stop it."""

    def __init__(self, kind: str, process: asyncio.subprocess.Process) -> None:
        self.kind = kind
        self._process = process

    async def _line(self, timeout: float) -> str:
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if not line:
            code = await self._process.wait()
            raise BenchmarkError(f"the {self.kind} process exited with code {code}")
        return line.decode().strip()

    async def _ask(self, command: str) -> str:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{command}\n".encode())
        await self._process.stdin.drain()
        return await self._line(STOP_SECONDS)

    async def wait_ready(self) -> None:
        """Return once the bot polls the sandbox."""
        try:
            line = await self._line(START_SECONDS)
        except TimeoutError:
            raise BenchmarkError(
                f"the {self.kind} did not start within {START_SECONDS:.0f} s"
            ) from None
        if line != READY:
            raise BenchmarkError(f"the {self.kind} process said {line!r} instead of {READY!r}")

    async def cpu_seconds(self) -> float:
        """CPU time the bot's process has used so far."""
        return float(await self._ask(CPU))

    async def memory(self) -> Memory:
        """The bot process's resident memory: its peak so far and now."""
        data = json.loads(await self._ask(MEMORY))
        return Memory(float(data["peak_mb"]), data["current_mb"])

    async def profile(self, to: Path | None) -> None:
        """Start profiling; with ``to``, stop and write the stats there instead."""
        answer = await self._ask(PROFILE if to is None else f"{UNPROFILE} {to}")
        if answer != DONE:
            raise BenchmarkError(f"the {self.kind} process said {answer!r} to a profile command")

    async def stop(self) -> int:
        """Close its stdin so that it shuts down cleanly; kill it if it hangs. Return its code."""
        if self._process.returncode is None and self._process.stdin is not None:
            self._process.stdin.close()
            with contextlib.suppress(ConnectionError):
                await self._process.stdin.wait_closed()
        try:
            return await asyncio.wait_for(self._process.wait(), STOP_SECONDS)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
            raise BenchmarkError(
                f"the {self.kind} did not stop within {STOP_SECONDS:.0f} s"
            ) from None


@asynccontextmanager
async def bot_process(
    kind: str,
    sandbox: Sandbox,
    database_url: str,
    echo_transport: str = PTB_TRANSPORT,
    optimize: int = DEPLOYED_OPTIMIZE,
) -> AsyncIterator[BotProcess]:
    """Start the bot of this kind in a child process, polling the sandbox, and stop it after."""
    environment = {**os.environ, "PYTHONOPTIMIZE": str(optimize)}
    if not optimize:
        environment.pop("PYTHONOPTIMIZE")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        # As a module, not this file: a script run as __main__ is compiled from source at every
        # start (Python caches no bytecode for it), which left about 3 MB of the compiler's
        # garbage in both processes that `nuanjing run`, a five-line script, does not have.
        "-m",
        "bench.updates",
        "--serve",
        kind,
        "--api-base-url",
        sandbox.api_base_url,
        "--database-url",
        database_url,
        "--echo-transport",
        echo_transport,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=environment,
        cwd=REPO,
    )
    handle = BotProcess(kind, process)
    try:
        await handle.wait_ready()
        yield handle
    finally:
        code = await handle.stop()
    if code != EXIT_OK:
        raise BenchmarkError(f"the {kind} process exited with code {code}")


# --- what a right answer is ---------------------------------------------------------------


def check_card(user_id: int, event: BotEvent) -> str | None:
    """The bot's answer to /me: this officer's own card, with the greetings button we expect."""
    police_id = police_id_of(user_id)
    data = {button.callback_data for row in event.buttons for button in row}
    if event.kind != "message" or police_id not in event.text or GREET_TOGGLE not in data:
        return f"wanted {police_id}'s profile card with a {GREET_TOGGLE!r} button, got {event}"
    return None


def check_listing(user_id: int, number: int, event: BotEvent) -> str | None:
    """The bot's answer to /events: a card of each seeded event in turn, each with a button."""
    _, title = SEEDED_EVENTS[number % len(SEEDED_EVENTS)]
    if event.kind != "message" or title not in event.text or not event.buttons:
        return f"wanted the card of {title!r} with buttons, got {event}"
    return None


def check_pressed_card(user_id: int, event: BotEvent) -> str | None:
    """What the bot may do in the chat for a press: edit the card into the same card."""
    police_id = police_id_of(user_id)
    if event.kind != "edit" or police_id not in event.text or not event.buttons:
        return f"wanted {police_id}'s card edited, got {event}"
    return None


def check_echo(text: str, event: BotEvent) -> str | None:
    """The echo bot's answer: a message that repeats the text."""
    if event.kind != "message" or event.text != text:
        return f"wanted an echo of {text!r}, got {event}"
    return None


def check_echo_press(user_id: int, event: BotEvent) -> str | None:
    """The echo bot's edit of the pressed message: the button's data."""
    if event.kind != "edit" or event.text != GREET_KEPT:
        return f"wanted the message edited to {GREET_KEPT!r}, got {event}"
    return None


def expected_calls(kind: str, updates: int) -> Counter[str]:
    """The Bot API calls each bot makes for this many updates of a kind."""
    if kind == PRESS:
        return Counter({"answerCallbackQuery": updates, "editMessageText": updates})
    return Counter({"sendMessage": updates * MESSAGES_PER_UPDATE[kind]})


def audit_calls(calls: Sequence[ApiCall], expected: Counter[str], *, press: bool) -> list[str]:
    """Problems with the calls a bot made: others than expected, or refused by the sandbox.

    An edit of a pressed message may be refused (400, message is not modified): the press set
    what was set, so the card stays as it was.
    """
    made = Counter(call.method for call in calls if call.method != GET_UPDATES)
    problems = []
    if made != expected:
        problems.append(f"expected the Bot API calls {dict(expected)}, got {dict(made)}")
    refused = Counter(
        f"{call.method} {call.status}"
        for call in calls
        if call.method != GET_UPDATES
        and call.status != 200
        and not (press and call.method == "editMessageText" and call.status == 400)
    )
    if refused:
        problems.append(f"calls refused by the sandbox: {dict(refused)}")
    return problems


def _fail(problems: Sequence[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:10])
        raise BenchmarkError(f"{len(problems)} problem(s) with the answers, e.g.:\n  {shown}")


# --- driving the load ---------------------------------------------------------------------


@dataclass
class Side:
    """One bot under test: its process, its simulated officers, and each officer's /me card."""

    name: str
    process: BotProcess
    client: SandboxClient
    sandbox: Sandbox
    cards: dict[int, int] = field(default_factory=dict)

    def calls(self) -> list[ApiCall]:
        """The bot's Bot API calls so far, as the sandbox logged them."""
        return self.sandbox.calls(TOKENS[self.name])


def _made(calls: Sequence[ApiCall]) -> int:
    """Calls that answer something: every one but the long polls."""
    return sum(1 for call in calls if call.method != GET_UPDATES)


async def _answer_of(client: SandboxClient, query: str, until: float) -> JSON:
    """The bot's answer to a press, waited for until ``until`` (the loop's clock)."""
    loop = asyncio.get_running_loop()
    while True:
        left = until - loop.time()
        answer = await client.callback_answer(query, timeout=min(max(left, 0.0), LONGEST_WAIT))
        if answer is not None:
            return answer
        if left <= LONGEST_WAIT:
            raise AssertionError(f"press {query} was not answered")


async def _watch(side: Side, first_call: int) -> None:
    """Fail if the bot makes no Bot API call for STALL_SECONDS; runs until cancelled."""
    loop = asyncio.get_running_loop()
    made, changed = -1, loop.time()
    while True:
        await asyncio.sleep(1.0)
        now = _made(side.calls()[first_call:])
        if now != made:
            made, changed = now, loop.time()
        elif loop.time() - changed >= STALL_SECONDS:
            raise AssertionError(f"the {side.name} made no Bot API call for {STALL_SECONDS:.0f} s")


async def _exchange(
    side: Side, kind: str, load: Load, first_call: int
) -> tuple[dict[int, list[BotEvent]], dict[str, JSON]]:
    """Send the load and wait for every answer: the chats' new events, and press answers."""
    loop = asyncio.get_running_loop()
    until = loop.time() + GRACE_SECONDS + load.total / SLOWEST_UPS
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)
    received: dict[int, list[BotEvent]] = {}
    answers: dict[str, JSON] = {}

    async def officer(user_id: int, count: int) -> list[str]:
        # An officer sends their updates one after another; officers send at the same time.
        queries = []
        for _ in range(count):
            async with connections:
                if kind == PRESS:
                    card = side.cards[user_id]
                    queries.append(await side.client.press_data(user_id, card, GREET_KEPT))
                else:
                    await side.client.send_text(user_id, COMMANDS[kind])
        return queries

    async def collect(
        senders: Mapping[int, asyncio.Task[list[str]]], watchdog: asyncio.Task[None]
    ) -> None:
        # One waiter at a time: the sandbox wakes every waiter of a bot on each answer of any
        # chat, so one waiter per officer would cost the client more than the bot's answers.
        try:
            if kind == PRESS:
                for task in senders.values():
                    for query in await task:
                        answers[query] = await _answer_of(side.client, query, until)
            else:
                per_update = MESSAGES_PER_UPDATE[kind]
                for user_id, count in load.per_user.items():
                    received[user_id] = await side.client.replies(
                        user_id, count=count * per_update, timeout=max(0.0, until - loop.time())
                    )
        finally:
            watchdog.cancel()

    try:
        async with asyncio.TaskGroup() as group:
            senders = {
                user_id: group.create_task(officer(user_id, count))
                for user_id, count in load.per_user.items()
            }
            watchdog = group.create_task(_watch(side, first_call))
            group.create_task(collect(senders, watchdog))
    except* AssertionError as failed:
        # Stalled, or a wait gave up: say how much was answered.
        made = _made(side.calls()[first_call:])
        reason = str(failed.exceptions[0]).splitlines()[0]
        raise BenchmarkError(
            f"the {side.name} made {made} Bot API calls for the {load.total} {kind} updates "
            f"of {expected_calls(kind, load.total).total()} expected ({reason})"
        ) from None
    return received, answers


def _chat_problems(
    side: Side, kind: str, user_id: int, count: int, events: Sequence[BotEvent]
) -> list[str]:
    """What is wrong with what one officer's chat got for their ``count`` updates."""
    if kind == PRESS:
        # The edits the sandbox took, if any: a refused edit leaves no event.
        check = check_pressed_card if side.name == BOT else check_echo_press
        return [problem for event in events if (problem := check(user_id, event))]
    problems = []
    wanted = count * MESSAGES_PER_UPDATE[kind]
    if len(events) != wanted:
        problems.append(f"sent {count} and got {len(events)} messages, not {wanted}")
    for number, event in enumerate(events):
        if side.name == ECHO:
            problem = check_echo(COMMANDS[kind], event)
        elif kind == EVENTS:
            problem = check_listing(user_id, number, event)
        else:
            problem = check_card(user_id, event)
        if problem is not None:
            problems.append(problem)
    return problems


def _answer_problems(answers: Mapping[str, JSON]) -> list[str]:
    """Presses answered otherwise than plainly (no text, no alert)."""
    return [
        f"press {query}: wanted a plain answer, got {answer}"
        for query, answer in answers.items()
        if answer.get("text") or answer.get("show_alert")
    ]


async def drive(side: Side, kind: str, load: Load, profile_to: Path | None = None) -> Phase:
    """Send the load through one bot, wait for every answer, check them all; the timing.

    The run is timed from just before its first update is sent to the arrival of its last Bot
    API call at the sandbox (that call's own logged time, so the waiting here adds nothing).
    """
    first_call = len(side.calls())
    # Collect the last run's garbage now rather than in the middle of this one.
    gc.collect()
    if profile_to is not None:
        await side.process.profile(None)
    bot_cpu, harness_cpu = await side.process.cpu_seconds(), time.process_time()
    started = time.monotonic()
    received, answers = await _exchange(side, kind, load, first_call)
    # A bot that answers twice would have its extra answers arrive now.
    await asyncio.sleep(QUIET_SECONDS)
    bot_cpu = await side.process.cpu_seconds() - bot_cpu
    harness_cpu = time.process_time() - harness_cpu
    cpu_wall = time.monotonic() - started
    if profile_to is not None:
        await side.process.profile(profile_to)

    calls = side.calls()[first_call:]
    problems = audit_calls(calls, expected_calls(kind, load.total), press=kind == PRESS)
    late = await asyncio.gather(*(side.client.quiet(user, 0) for user in load.per_user))
    for (user_id, count), extra in zip(load.per_user.items(), late, strict=True):
        events = received.get(user_id, []) + extra
        problems.extend(
            f"user {user_id}: {problem}"
            for problem in _chat_problems(side, kind, user_id, count, events)
        )
        if kind == ME and events:
            side.cards.setdefault(user_id, events[0].message_id)
    problems.extend(_answer_problems(answers))
    if kind == PRESS:
        problems.extend(await _cards_intact(side, list(load.per_user)))
    _fail(problems)
    finished = max((call.time for call in calls if call.method != GET_UPDATES), default=started)
    return Phase(load.total, max(finished - started, 1e-9), bot_cpu, harness_cpu, cpu_wall)


async def _cards_intact(side: Side, users: Sequence[int]) -> list[str]:
    """After presses: each pressed message still shows what the bot last put there."""
    problems = []
    for user_id in users:
        message = await side.client.message(user_id, side.cards[user_id])
        text = str(message.get("text", ""))
        if side.name == BOT and police_id_of(user_id) not in text:
            problems.append(f"user {user_id}: the pressed card now reads {text[:80]!r}")
        if side.name == ECHO and text != GREET_KEPT:
            problems.append(f"user {user_id}: the pressed message now reads {text[:80]!r}")
    return problems


async def ensure_cards(side: Side, users: Sequence[int]) -> None:
    """Each of these officers sends /me once if they have no card of this bot yet (untimed)."""
    missing = [user for user in users if user not in side.cards]
    if missing:
        await drive(side, ME, Load.once(missing))


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least ``share`` of them do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def burst(side: Side, users: Sequence[int]) -> Burst:
    """Every officer presses their card's greetings button at one instant; time each answer.

    The officers wait on a barrier, so all presses are made at the same moment; the sandbox
    takes them over CLIENT_CONNECTIONS connections as fast as this process can post them. A
    press's time runs from its request to the arrival of the bot's answerCallbackQuery for it.
    """
    await ensure_cards(side, users)
    first_call = len(side.calls())
    gc.collect()
    barrier = asyncio.Barrier(len(users) + 1)
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)
    pressed_at: dict[int, float] = {}

    async def officer(user_id: int) -> str:
        await barrier.wait()
        async with connections:
            pressed_at[user_id] = time.monotonic()
            return await side.client.press_data(user_id, side.cards[user_id], GREET_KEPT)

    loop = asyncio.get_running_loop()
    until = loop.time() + GRACE_SECONDS + len(users) / SLOWEST_UPS
    answers: dict[str, JSON] = {}
    try:
        async with asyncio.TaskGroup() as group:
            presses = [group.create_task(officer(user_id)) for user_id in users]
            watchdog = group.create_task(_watch(side, first_call))
            await barrier.wait()
            released = time.monotonic()
            try:
                for task in presses:
                    query = await task
                    answers[query] = await _answer_of(side.client, query, until)
            finally:
                watchdog.cancel()
    except* AssertionError as failed:
        reason = str(failed.exceptions[0]).splitlines()[0]
        raise BenchmarkError(f"the {side.name}'s burst failed: {reason}") from None
    await asyncio.sleep(QUIET_SECONDS)

    calls = side.calls()[first_call:]
    problems = audit_calls(calls, expected_calls(PRESS, len(users)), press=True)
    problems.extend(_answer_problems(answers))
    late = await asyncio.gather(*(side.client.quiet(user, 0) for user in users))
    for user_id, events in zip(users, late, strict=True):
        problems.extend(
            f"user {user_id}: {problem}"
            for problem in _chat_problems(side, PRESS, user_id, 1, events)
        )
    _fail(problems)
    answered_at: dict[int, float] = {}
    for call in calls:
        if call.method == "answerCallbackQuery" and call.chat_id is not None:
            answered_at.setdefault(call.chat_id, call.time)
    missing = [user for user in users if user not in answered_at]
    if missing:
        raise BenchmarkError(f"no answerCallbackQuery logged for the presses of {missing[:5]}")
    return Burst(
        presses=len(users),
        from_press=[answered_at[user] - pressed_at[user] for user in users],
        from_release=[answered_at[user] - released for user in users],
        posting_seconds=max(pressed_at.values()) - released,
    )


async def benchmark(
    args: argparse.Namespace, database_url: str | None, progress: Callable[[str], None]
) -> Results:
    """Warm both bots up, time every kind through both in each run, then the bursts."""
    from bot.sandbox import Sandbox, SandboxClient

    users = [FIRST_USER_ID + index for index in range(max(args.officers, args.burst))]
    load_users = users[: args.officers]
    load = Load.spread(args.updates, load_users)
    phases: dict[tuple[str, str], list[Phase]] = {
        (kind, name): [] for kind in args.kinds for name in SIDES
    }
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    with bench_database(database_url) as database:
        seed_officers(database, users)
        seed_events(database)
        # The sandbox's flood limits stay off (its default): this measures the bots, not 429s.
        async with (
            Sandbox() as sandbox,
            SandboxClient(sandbox.base_url, TOKENS[BOT]) as bot_client,
            SandboxClient(sandbox.base_url, TOKENS[ECHO]) as echo_client,
            bot_process(BOT, sandbox, database.url, optimize=args.optimize) as bot,
            bot_process(ECHO, sandbox, database.url, args.echo_transport, args.optimize) as echo,
        ):
            sides = {
                BOT: Side(BOT, bot, bot_client, sandbox),
                ECHO: Side(ECHO, echo, echo_client, sandbox),
            }
            for side in sides.values():
                # Every officer's card first: the presses are made on it.
                await ensure_cards(side, load_users)
                if args.warmup:
                    for kind in args.kinds:
                        await drive(side, kind, Load.spread(args.warmup, load_users))
            warm_memory = await bot.memory()
            progress(f"  warmed up; the bot process holds {_memory_text(warm_memory)}")
            for run in range(1, args.runs + 1):
                # Alternate which bot goes first, so that a drift of the machine hits both.
                order = SIDES if run % 2 else SIDES[::-1]
                for kind in args.kinds:
                    for name in order:
                        profile_to = (
                            args.profile / f"bot-{kind}-run{run}.prof"
                            if args.profile is not None and name == BOT
                            else None
                        )
                        phase = await drive(sides[name], kind, load, profile_to)
                        phases[kind, name].append(phase)
                        progress(
                            f"  run {run}  {kind:<6} {name:<4} {phase.seconds:6.2f} s "
                            f"{phase.ups:7.1f} updates/s {phase.cpu_ms:6.2f} ms CPU/update "
                            f"({phase.busy(phase.bot_cpu_seconds):.2f} core; sandbox+officers "
                            f"{phase.busy(phase.harness_cpu_seconds):.2f} core)"
                        )
            runs_memory = await bot.memory()
            bursts: dict[str, Burst] = {}
            if args.burst:
                for name in SIDES:
                    bursts[name] = await burst(sides[name], users[: args.burst])
            # After all of the load, the burst included.
            memory, echo_memory = await bot.memory(), await echo.memory()
    kinds = [KindResult(kind, phases[kind, BOT], phases[kind, ECHO]) for kind in args.kinds]
    results = Results(
        kinds,
        warm_memory,
        runs_memory,
        memory,
        echo_memory,
        bursts,
        echo_transport=args.echo_transport,
        optimize=args.optimize,
    )
    if args.profile is not None:
        for kind in args.kinds:
            paths = sorted(args.profile.glob(f"bot-{kind}-run*.prof"))
            results.profiles[kind] = profile_lines(paths, len(paths) * load.total)
    return results


# --- reporting ----------------------------------------------------------------------------


def _origin(filename: str, name: str) -> tuple[str, str]:
    """Where a profiled function lives: (OURS, LIBRARY, STDLIB or C, its package or module)."""
    if "site-packages/" in filename:
        package = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        return LIBRARY, package.removesuffix(".py")
    with contextlib.suppress(ValueError):
        parts = Path(filename).relative_to(REPO).parts
        if parts and parts[0] in OUR_PACKAGES:
            return OURS, parts[0]
    if filename == "~":
        # Written in C: "<method 'execute' of 'sqlite3.Cursor' objects>", "<method 'get' of
        # 'dict' objects>", "<built-in method time.monotonic>", "<built-in method __new__ ...>".
        found = re.search(r"of '([\w.]+)' objects|built-in method ([\w.]+)", name)
        qualified = next((group for group in found.groups() if group), "") if found else ""
        return C, qualified.rpartition(".")[0] or "builtins"
    if "/python3" in filename:
        tail = filename.rsplit("/python3", 1)[1].split("/")
        return STDLIB, tail[1].removesuffix(".py") if len(tail) > 1 else filename
    return STDLIB, Path(filename).stem


def profile_lines(paths: Sequence[Path], updates: int, top: int = PROFILE_TOP) -> list[str]:
    """The bot's CPU per update by package, then the top functions by cumulative CPU time of
    bot/, handlers/ and storage/, and of the libraries."""
    if not paths:
        return []
    stats = pstats.Stats(*(str(path) for path in paths))
    table: Mapping[tuple[str, int, str], tuple[int, int, float, float, object]]
    table = stats.stats  # type: ignore[attr-defined]
    own_by_area: dict[str, float] = {}
    ranked: dict[str, list[tuple[float, float, int, str]]] = {OURS: [], LIBRARY: []}
    for (filename, line, name), (_, calls, own, cumulative, _) in table.items():
        group, area = _origin(filename, name)
        key = f"{group} {area}"
        own_by_area[key] = own_by_area.get(key, 0.0) + own
        if group in ranked:
            where = filename if group == LIBRARY else str(Path(filename).relative_to(REPO))
            where = where.split("site-packages/", 1)[-1]
            ranked[group].append((cumulative, own, calls, f"{where}:{line}({name})"))
    # The event loop waiting for something to do is no work of the bot.
    idle = own_by_area.pop(f"{C} {IDLE}", 0.0)
    total = sum(own_by_area.values())

    def per_update(seconds: float) -> float:
        return 1000 * seconds / updates

    lines = [
        f"  busy {per_update(total):.2f} ms/update under the profiler (idle in epoll "
        f"{per_update(idle):.2f} left out); own time by package: "
        + ", ".join(
            f"{area} {per_update(own):.2f}"
            for area, own in sorted(own_by_area.items(), key=lambda item: -item[1])[:top]
            if own >= total / 100
        )
    ]
    for group, label in ((OURS, "bot/, handlers/, storage/"), (LIBRARY, "the libraries")):
        lines.append(f"  top {top} of {label} by cumulative time")
        lines.append(f"  {'cum ms/upd':>10} {'own ms/upd':>10} {'calls/upd':>9}  function")
        for cumulative, own, calls, where in sorted(ranked[group], reverse=True)[:top]:
            lines.append(
                f"  {per_update(cumulative):10.3f} {per_update(own):10.3f} "
                f"{calls / updates:9.2f}  {where}"
            )
    return lines


def met_or_not(met: bool) -> str:
    return "met" if met else "NOT met"


def summary(results: Results) -> JSON:
    """The JSON line: the worst kind's medians, each kind's, memory and the burst."""
    medians = {result.kind: result.medians() for result in results.kinds}
    slowest = min(medians.values(), key=lambda figures: figures["ratio"])
    costliest = min(medians.values(), key=lambda figures: figures["cpu_ratio"])
    burst = results.bursts.get(BOT)
    current = results.memory.current_mb
    return {
        "bot_ups": slowest["bot_ups"],
        "echo_ups": slowest["echo_ups"],
        "ratio": slowest["ratio"],
        "bot_cpu_ms": costliest["bot_cpu_ms"],
        "echo_cpu_ms": costliest["echo_cpu_ms"],
        "cpu_ratio": costliest["cpu_ratio"],
        "kinds": medians,
        "rss_mb": round(current, 1) if current is not None else None,
        "max_rss_mb": round(results.memory.peak_mb, 1),
        "burst_p95_s": round(percentile(burst.from_press, 0.95), 3) if burst else None,
        "echo_transport": results.echo_transport,
        "optimize": results.optimize,
    }


def header(args: argparse.Namespace, backend: str) -> None:
    """Print what is about to be measured."""
    load = Load.spread(args.updates, [FIRST_USER_ID + i for i in range(args.officers)])
    print(
        f"NuanJing update throughput and CPU on {backend}, {os.cpu_count()} CPUs, load average "
        f"{load_average()}"
    )
    print(
        f"  each run: {load.total} updates of each kind from {len(load.per_user)} officers "
        f"({load.share()} each), {CLIENT_CONNECTIONS} client connections; {args.runs} runs, "
        f"bot and echo alternating; warm-up: a /me per officer, then {args.warmup} per kind"
    )
    print(
        f"  echo: PTB, concurrent_updates={CONCURRENT_UPDATES}, "
        f"connection_pool_size={CONCURRENT_UPDATES}, HTTP client {args.echo_transport} "
        f"(the bot's: {BOT_TRANSPORT}); /events lists {len(SEEDED_EVENTS)} cards "
        f"(the echo sends {len(SEEDED_EVENTS)} copies); a press is answered and its message "
        "edited (refused: not modified)",
        flush=True,
    )
    print(f"  both processes: PYTHONOPTIMIZE={args.optimize}", flush=True)


def report(args: argparse.Namespace, results: Results, started: float) -> None:
    """Print the readable summary, then the one JSON line."""
    print(f"  median [min-max] over {args.runs} runs")
    print(
        f"  {'kind':<6} {'bot updates/s':>22} {'echo updates/s':>22} {'ratio':>20}"
        f" {'bot ms CPU/upd':>20} {'echo ms CPU/upd':>20} {'cpu ratio':>20}"
    )
    for result in results.kinds:
        print(
            f"  {result.kind:<6} "
            f"{Spread.of([p.ups for p in result.bot]).text():>22} "
            f"{Spread.of([p.ups for p in result.echo]).text():>22} "
            f"{Spread.of(result.ratios).text(3):>20} "
            f"{Spread.of([p.cpu_ms for p in result.bot]).text(2):>20} "
            f"{Spread.of([p.cpu_ms for p in result.echo]).text(2):>20} "
            f"{Spread.of(result.cpu_ratios).text(3):>20}"
        )
    for result in results.kinds:
        # Core shares tell whether a bot or this process (sandbox and officers) was the limit.
        shares = "; ".join(
            f"{name} process {statistics.median(p.busy(p.bot_cpu_seconds) for p in phases):.2f}"
            f" core, sandbox+officers "
            f"{statistics.median(p.busy(p.harness_cpu_seconds) for p in phases):.2f} core"
            for name, phases in ((BOT, result.bot), (ECHO, result.echo))
        )
        print(f"  {result.kind:<6} median load: {shares}")
    figures = summary(results)
    ratio_met = all(kind["ratio"] >= TARGET_RATIO for kind in figures["kinds"].values())
    cpu_met = all(kind["cpu_ratio"] >= TARGET_CPU_RATIO for kind in figures["kinds"].values())
    print(
        f"  ratio      lowest median {figures['ratio']:.3f}, target >= {TARGET_RATIO} on every "
        f"kind ({met_or_not(ratio_met)})"
    )
    print(
        f"  cpu ratio  lowest median {figures['cpu_ratio']:.3f}, target >= {TARGET_CPU_RATIO} "
        f"on every kind ({met_or_not(cpu_met)})"
    )
    memory = results.memory
    verdict = (
        "" if memory.current_mb is None else f" ({met_or_not(memory.current_mb < TARGET_RSS_MB)})"
    )
    print(
        f"  memory     the bot after the load {_memory_text(memory)}, target < "
        f"{TARGET_RSS_MB:.0f} MB{verdict}; after its warm-up {_memory_text(results.warm_memory)}, "
        f"after the runs {_memory_text(results.runs_memory)}; the echo after the load "
        f"{_memory_text(results.echo_memory)}"
    )
    for name, burst in results.bursts.items():
        print(
            f"  burst  {name:<4} {burst.presses} presses at one instant (posted in "
            f"{burst.posting_seconds:.2f} s): time to the answer from the press "
            f"{_quantiles(burst.from_press)}; from the instant {_quantiles(burst.from_release)}"
        )
    if figures["burst_p95_s"] is not None:
        print(
            f"  burst p95  {figures['burst_p95_s']:.3f} s, target < {TARGET_BURST_P95:.0f} s "
            f"({met_or_not(figures['burst_p95_s'] < TARGET_BURST_P95)})"
        )
    for kind, lines in results.profiles.items():
        print(f"  profile of the bot process under {kind} (cProfile, its event loop's thread)")
        for line in lines:
            print(line)
    print(f"  took {time.monotonic() - started:.0f} s; load average now {load_average()}")
    print(json.dumps(figures), flush=True)


def _memory_text(memory: Memory) -> str:
    """``123.4 MB resident (peak 125.0)``."""
    now = "unknown" if memory.current_mb is None else f"{memory.current_mb:.1f} MB"
    return f"{now} resident (peak {memory.peak_mb:.1f})"


def _quantiles(seconds: Sequence[float]) -> str:
    """p50, p95 and max of these times."""
    return (
        f"p50 {percentile(seconds, 0.5):.3f} s, p95 {percentile(seconds, 0.95):.3f} s, "
        f"max {max(seconds):.3f} s"
    )


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    return "unknown"


def postgres_url(url: str) -> str:
    """The URL as the bot would use it, or ValueError if it is not a PostgreSQL one."""
    try:
        # The bot's own validation and normalisation (postgresql:// means psycopg 3).
        normalised = Settings(
            _env_file=None,  # type: ignore[call-arg]
            NUANJING_DATABASE_URL=url,
        ).database_url
    except ValidationError as exc:
        raise ValueError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    if not normalised.startswith("postgresql"):
        # Seeding would write into that file; SQLite already gets a temporary one by default.
        raise ValueError("only PostgreSQL is taken here; SQLite is the default")
    return normalised


def precompile(optimize: int, progress: Callable[[str], None]) -> None:
    """Write the bytecode the bot processes load, as a deployment does (README, Production).

    A module without bytecode for the interpreter's optimisation level is compiled in the
    process that imports it, and the compiler's garbage stays in its memory. A deployment
    compiles everything once (`python -OO -m compileall`); so does this, before the processes
    start (the first time it takes a while; after that, up-to-date files are skipped).
    """
    import compileall
    import sysconfig

    started = time.monotonic()
    paths = sysconfig.get_paths()
    folders = {paths["purelib"], paths["platlib"]} | {
        str(REPO / package) for package in ("bot", "handlers", "storage", "bench")
    }
    for folder in sorted(folders):
        # quiet=2: a library's files that do not compile (tests, templates) are not ours.
        compileall.compile_dir(folder, quiet=2, optimize=optimize, workers=0)
    progress(
        f"  bytecode for PYTHONOPTIMIZE={optimize} up to date ({time.monotonic() - started:.1f} s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the run measured nothing trustworthy."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.serve:
        return asyncio.run(
            serve(args.serve, args.api_base_url, args.database_url, args.echo_transport)
        )
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    started = time.monotonic()
    header(args, backend)

    def progress(line: str) -> None:
        print(line, flush=True)

    precompile(args.optimize, progress)
    try:
        results = asyncio.run(benchmark(args, database_url, progress))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report(args, results, started)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
