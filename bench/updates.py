"""Update throughput: the full bot versus a bare python-telegram-bot echo bot, on the sandbox.

Many bound officers each send ``/me`` a few times; the same load then goes through an echo bot
(PTB defaults plus one MessageHandler) on the same sandbox under another token. Both are timed
from the first update queued to the last reply received by the client, every reply is checked,
and the last line of stdout is ``{"bot_ups": ..., "echo_ups": ..., "ratio": ...}``.

Each bot runs in a process of its own, as it would in production, while the sandbox and the
simulated officers share this one: both are pure-Python HTTP stacks whose CPU cost per update is
of the same order as the bot's, so on one core they would be measured along with it.

Run from the repository root: ``python bench/updates.py`` or ``python -m bench.updates``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr, ValidationError
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import BotApplication, build_application, polling
from bot.policy import load_policy
from bot.sandbox import BotEvent, Sandbox, SandboxClient
from bot.settings import Settings
from storage import officers
from storage.crypto import FieldCipher
from storage.db import Database, scratch_schema
from storage.models import BindingMethod, Officer

BOT, ECHO = "bot", "echo"
# Separate tokens give each bot its own update queue and chats in the one sandbox.
TOKENS = {BOT: "710001:bench-nuanjing-bot", ECHO: "710002:bench-echo-bot"}
COMMAND = "/me"
FIRST_USER_ID = 810_000_001
FIRST_POLICE_ID = 300_001
TARGET_RATIO = 0.6
# Short long-polls so that stopping a bot does not wait out a pending getUpdates.
POLL_TIMEOUT = 1
# Requests the simulated officers have in flight at once. httpx's pool matches every queued
# request against every connection: 200 officers on 100 connections took 12 s to post 2,000
# messages here, 4 connections under 4 s; 1, 2 and 4 measured alike within the noise.
CLIENT_CONNECTIONS = 4
# A bot that sends nothing for this long while replies are missing has stalled: fail then
# rather than wait out the deadline, which only bounds a bot that trickles (under 20 updates/s).
STALL_SECONDS = 10.0
SLOWEST_UPS = 20.0
GRACE_SECONDS = 30.0
# How long to keep listening after the last reply, to catch a bot that answers twice.
QUIET_SECONDS = 0.3
# How long a bot process may take to start polling, and to stop after being told to.
START_SECONDS = 60.0
STOP_SECONDS = 20.0
# The bot process's side of the pipe protocol: it says READY once polling, answers each CPU
# line with its CPU seconds so far, and shuts down when its stdin closes.
READY, CPU = "ready", "cpu"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Check = Callable[[int, BotEvent], str | None]


class BenchmarkError(Exception):
    """The run did not measure what it claims to (missing, wrong or extra replies, errors)."""


@dataclass(frozen=True)
class Phase:
    """What the timed run of one bot did."""

    updates: int
    seconds: float
    bot_cpu_seconds: float
    harness_cpu_seconds: float

    @property
    def ups(self) -> float:
        """Updates per second."""
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    def busy(self, cpu_seconds: float) -> float:
        """The share of one core that this much CPU time over the run amounts to."""
        return cpu_seconds / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Load:
    """How many commands each simulated officer sends, keyed by Telegram user id."""

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


# --- arguments ----------------------------------------------------------------------------


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.updates",
        description="Updates per second of the full NuanJing bot against the local Bot API "
        "sandbox, compared with a bare python-telegram-bot echo bot under the same load. "
        "Each bot runs in its own process; the sandbox and the simulated officers in this one. "
        "The last line of output is JSON: bot_ups, echo_ups and their ratio "
        f"(target >= {TARGET_RATIO}). Exits non-zero if any update is not answered exactly once.",
    )
    parser.add_argument(
        "--updates",
        type=_positive,
        default=2000,
        metavar="N",
        help="timed updates per bot, each one /me from a bound officer (default: 2000)",
    )
    parser.add_argument(
        "--officers",
        type=_positive,
        default=200,
        metavar="N",
        help="bound officers sending them concurrently, each its share in turn (default: 200)",
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
        help="untimed updates sent to each bot first, to warm connections, caches and the "
        "database (default: 100)",
    )
    # Internal: how this script starts the bot under test in a process of its own.
    parser.add_argument("--serve", choices=(BOT, ECHO), help=argparse.SUPPRESS)
    parser.add_argument("--api-base-url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


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


# --- the bot process ----------------------------------------------------------------------


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text with the same text."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


def build_echo(settings: Settings) -> BotApplication:
    """The baseline: an Application with PTB's defaults and one echo handler."""
    application = (
        ApplicationBuilder()
        .token(TOKENS[ECHO])
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    return application


class _ErrorCounter(logging.Handler):
    """Counts ERROR records, so that a failed update fails the benchmark."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one more."""
        self.count += 1


async def serve(kind: str, api_base_url: str, database_url: str) -> int:
    """Poll as the full bot or the echo bot until stdin closes; non-zero if errors were logged."""
    errors = _ErrorCounter()
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
            application = build_echo(settings)
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader()
        pipe, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), sys.stdin
        )
        try:
            async with polling(application, poll_timeout=POLL_TIMEOUT):
                print(READY, flush=True)
                while line := await commands.readline():
                    if line.strip() == CPU.encode():
                        print(time.process_time(), flush=True)
        finally:
            pipe.close()
    finally:
        database.dispose()
    if errors.count:
        print(f"bench: the {kind} logged {errors.count} error(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


class BotProcess:
    """The parent's handle on a bot process: ask for its CPU time, then stop it."""

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
        assert self._process.stdin is not None
        self._process.stdin.write(f"{CPU}\n".encode())
        await self._process.stdin.drain()
        return float(await self._line(STOP_SECONDS))

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
async def bot_process(kind: str, sandbox: Sandbox, database_url: str) -> AsyncIterator[BotProcess]:
    """Start the bot of this kind in a child process, polling the sandbox, and stop it after."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        kind,
        "--api-base-url",
        sandbox.api_base_url,
        "--database-url",
        database_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    handle = BotProcess(kind, process)
    try:
        await handle.wait_ready()
        yield handle
    finally:
        code = await handle.stop()
    if code != EXIT_OK:
        raise BenchmarkError(f"the {kind} process exited with code {code}")


# --- driving the load ---------------------------------------------------------------------


def check_profile(user_id: int, event: BotEvent) -> str | None:
    """The bot's answer to /me must be this officer's own card, with its buttons."""
    police_id = police_id_of(user_id)
    if event.kind != "message" or police_id not in event.text or not event.buttons:
        return f"wanted {police_id}'s profile card with buttons, got {event}"
    return None


def check_echo(user_id: int, event: BotEvent) -> str | None:
    """The echo bot's answer must be the command itself."""
    if event.kind != "message" or event.text != COMMAND:
        return f"wanted an echo of {COMMAND!r}, got {event}"
    return None


async def drive(client: SandboxClient, load: Load, check: Check) -> float:
    """Send the load, wait for every reply and return the seconds that took; then check them."""
    deadline = GRACE_SECONDS + load.total / SLOWEST_UPS
    received: dict[int, list[BotEvent]] = {}
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def send(user_id: int, count: int) -> None:
        # An officer types their commands one after another; officers type at the same time.
        for _ in range(count):
            async with connections:
                await client.send_text(user_id, COMMAND)

    async def collect(until: float, watchdog: asyncio.Task[None]) -> None:
        # One waiter at a time: the sandbox wakes every long-poll of a bot on each reply of any
        # chat, so one waiter per officer would cost the client more than the bot's replies.
        loop = asyncio.get_running_loop()
        for user_id, count in load.per_user.items():
            received[user_id] = await client.replies(
                user_id, count=count, timeout=max(0.0, until - loop.time())
            )
        watchdog.cancel()

    async def watch() -> None:
        # A cheap poll of the sandbox's send counter, once a second.
        loop = asyncio.get_running_loop()
        sends, changed = -1, loop.time()
        while True:
            await asyncio.sleep(1.0)
            now = (await client.stats())["sends"]
            if now != sends:
                sends, changed = now, loop.time()
            elif loop.time() - changed >= STALL_SECONDS:
                raise AssertionError(f"the bot sent nothing for {STALL_SECONDS:.0f} s")

    # Collect the warm-up's garbage now rather than in the middle of the timed run.
    gc.collect()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for user_id, count in load.per_user.items():
                group.create_task(send(user_id, count))
            watchdog = group.create_task(watch())
            group.create_task(collect(loop.time() + deadline, watchdog))
    except* AssertionError as failed:
        # Stalled, or replies() gave up on a chat: count what every chat got, to say how much
        # is missing.
        histories = await asyncio.gather(*(client.history(user) for user in load.per_user))
        answered = sum(
            min(len(history), count)
            for history, count in zip(histories, load.per_user.values(), strict=True)
        )
        reason = str(failed.exceptions[0]).splitlines()[0]
        raise BenchmarkError(
            f"only {answered} of {load.total} updates were answered ({reason})"
        ) from None
    seconds = time.perf_counter() - started

    # A bot that answers twice would have its extra replies read by collect() or arrive now.
    await asyncio.sleep(QUIET_SECONDS)
    late = await asyncio.gather(*(client.quiet(user, 0) for user in load.per_user))
    problems: list[str] = []
    for (user_id, count), extra in zip(load.per_user.items(), late, strict=True):
        events = received[user_id] + extra
        if len(events) != count:
            problems.append(f"user {user_id} sent {count} and got {len(events)} replies")
        problems.extend(
            f"user {user_id}: {problem}"
            for problem in (check(user_id, event) for event in events)
            if problem is not None
        )
    if problems:
        shown = "\n  ".join(problems[:10])
        raise BenchmarkError(f"{len(problems)} problem(s) with the replies, e.g.:\n  {shown}")
    return seconds


async def measure(
    kind: str, sandbox: Sandbox, database_url: str, warmup: Load | None, load: Load
) -> Phase:
    """Start one bot, warm it up, time the load through it, and stop it."""
    check = check_profile if kind == BOT else check_echo
    async with (
        SandboxClient(sandbox.base_url, TOKENS[kind]) as client,
        bot_process(kind, sandbox, database_url) as bot,
    ):
        if warmup is not None:
            await drive(client, warmup, check)
        bot_cpu, harness_cpu = await bot.cpu_seconds(), time.process_time()
        seconds = await drive(client, load, check)
        # Includes the few checks after the timing; they are cheap next to the load itself.
        harness_cpu = time.process_time() - harness_cpu
        bot_cpu = await bot.cpu_seconds() - bot_cpu
        stats = await client.stats()
    refused = {key: stats[key] for key in ("bad_requests", "forbidden", "faults", "rate_limited")}
    if any(refused.values()):
        raise BenchmarkError(f"the sandbox refused Bot API calls of the {kind}: {refused}")
    return Phase(load.total, seconds, bot_cpu, harness_cpu)


async def benchmark(args: argparse.Namespace, database_url: str | None) -> tuple[Phase, Phase]:
    """Run the load through the full bot, then through the echo bot; return both timings."""
    users = [FIRST_USER_ID + index for index in range(args.officers)]
    load = Load.spread(args.updates, users)
    warmup = Load.spread(args.warmup, users) if args.warmup else None
    with bench_database(database_url) as database:
        seed_officers(database, users)
        # The sandbox's flood limits stay off (its default): this measures the bot, not 429s.
        async with Sandbox() as sandbox:
            bot = await measure(BOT, sandbox, database.url, warmup, load)
            echo = await measure(ECHO, sandbox, database.url, warmup, load)
    return bot, echo


def report(args: argparse.Namespace, bot: Phase, echo: Phase, backend: str) -> None:
    """Print the readable summary, then the one JSON line."""
    ratio = bot.ups / echo.ups if echo.ups > 0 else 0.0
    load = Load.spread(args.updates, [FIRST_USER_ID + i for i in range(args.officers)])
    fewest, most = min(load.per_user.values()), max(load.per_user.values())
    share = str(most) if fewest == most else f"{fewest}-{most}"
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"NuanJing update throughput on {backend}, {os.cpu_count()} CPUs")
    print(
        f"  load   {load.total} x {COMMAND} from {len(load.per_user)} officers ({share} each), "
        f"{CLIENT_CONNECTIONS} client connections; warm-up {args.warmup} per bot"
    )
    for name, phase in (("bot", bot), ("echo", echo)):
        # Core shares tell whether the bot or this process (sandbox and officers) was the limit.
        print(
            f"  {name:<5}  {phase.seconds:7.3f} s  {phase.ups:7.1f} updates/s   "
            f"{name} process {phase.busy(phase.bot_cpu_seconds):.2f} core "
            f"({1000 * phase.bot_cpu_seconds / phase.updates:.2f} ms CPU/update), "
            f"sandbox+officers {phase.busy(phase.harness_cpu_seconds):.2f} core"
        )
    print(f"  ratio  {ratio:7.3f}    target >= {TARGET_RATIO} ({verdict})")
    result = {
        "bot_ups": round(bot.ups, 1),
        "echo_ups": round(echo.ups, 1),
        "ratio": round(ratio, 3),
    }
    print(json.dumps(result), flush=True)


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the run measured nothing trustworthy."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.serve:
        return asyncio.run(serve(args.serve, args.api_base_url, args.database_url))
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    try:
        bot, echo = asyncio.run(benchmark(args, database_url))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report(args, bot, echo, backend)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
