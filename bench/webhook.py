"""A webhook flood: Telegram pushes a backlog of updates faster than the handlers go.

The real bot runs in webhook mode (``nuanjing run``'s way: its HTTP listener, setWebhook with
Telegram's default of 40 connections) in a child process, against the local Bot API sandbox in
this process. While no webhook is set (as while the bot was down), ``--officers`` seeded,
bound officers each send ``--messages`` /me, which wait at the sandbox; then the bot starts and
sets its webhook, and the sandbox POSTs the backlog to it, each chat's in order (the next once
the last was answered 200; the bot answers once the update is stored), up to 40 at once, as
Telegram does after an outage or in a rush. Every /me must be answered with exactly one card.

Each run floods two fresh bot processes, alternating which goes first: the bot as shipped,
which keeps at most ``MEMORY_WINDOW`` updates in memory and leaves the rest in the database,
and the same bot with no such bound (every update received held in memory, parsed, with a
task each: what the bot did before). Each side reports the time from the bot being ready (its
webhook set) to the last card, the bot process's peak resident memory (VmHWM), the cards lost
or repeated and the answers that are not the officer's own card (``check_card`` of
bench/updates.py).

The last line of stdout is JSON: officers, updates, lost, duplicates, peak_rss_mb,
all_answered_s, unbounded_peak_rss_mb, unbounded_all_answered_s (medians over the runs; lost,
duplicates and wrong summed over both sides and all runs), wrong, runs, database.

Run from the repository root: ``python bench/webhook.py`` or ``python -m bench.webhook``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr

from bench.updates import (
    FIRST_USER_ID,
    READY,
    REPO,
    BenchmarkError,
    BotProcess,
    ErrorCounter,
    Spread,
    _Commands,
    bench_database,
    check_card,
    load_average,
    positive,
    postgres_url,
    precompile,
    seed_officers,
)
from bot import inbox as inbox_module
from bot.app import build_application
from bot.http import bind
from bot.policy import load_policy
from bot.runner import taking_updates
from bot.settings import Settings
from storage.crypto import FieldCipher
from storage.db import Database

if TYPE_CHECKING:
    # Imported where used: the bot process must not carry the sandbox.
    from bot.sandbox import Sandbox

TOKEN = "740001:bench-webhook-bot"
SECRET = "bench-webhook-secret"
HOOK_PATH = "/telegram/bench"
SHIPPED, UNBOUNDED = "shipped", "unbounded"
# Requests the simulated officers have in flight at once (bench/updates.py says why 4).
CLIENT_CONNECTIONS = 4
# A bot that sends nothing for this long while cards are missing has stalled.
STALL_SECONDS = 20.0
QUIET_SECONDS = 0.5
START_SECONDS = 60.0
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# As deployed (deploy/nuanjing.service), from bytecode brought up to date first.
OPTIMIZE = 2


@dataclass(frozen=True)
class Flood:
    """One bot process's side of one run."""

    side: str
    seconds: float  # from the first message sent to the last card
    peak_rss_mb: float
    lost: int
    duplicates: int
    wrong: int  # answers that are not the officer's own card


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook",
        description=(
            "A webhook flood: N bound officers each send M /me while no webhook is set; then "
            "the real bot starts in webhook mode (a child process) and the local Bot API "
            "sandbox POSTs the backlog to it, 40 at a time, faster than it handles them. Each "
            "run floods the bot as shipped (at most MEMORY_WINDOW updates in memory, the rest "
            "read back from the database) and the same bot with no bound, alternating which "
            "goes first, and prints for each the time from the bot's start until every card "
            "arrived, the bot process's peak resident memory and the cards lost, repeated or "
            "wrong. The last line is JSON: officers, updates, lost, duplicates, peak_rss_mb, "
            "all_answered_s, unbounded_peak_rss_mb, unbounded_all_answered_s, wrong, runs, "
            "database. Exits non-zero if a card was lost, repeated or wrong."
        ),
    )
    parser.add_argument("--officers", type=positive, default=1000, metavar="N")
    parser.add_argument("--messages", type=positive, default=10, metavar="M", help="each sends")
    parser.add_argument("--runs", type=positive, default=3, metavar="N")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL (a scratch schema of its own); default: a temporary SQLite file",
    )
    parser.add_argument("--serve", choices=(SHIPPED, UNBOUNDED), help=argparse.SUPPRESS)
    parser.add_argument("--api-base-url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the bot process ----------------------------------------------------------------------


async def serve(side: str, api_base_url: str, database_url: str) -> int:
    """Take webhooks as the bot until stdin closes; non-zero if errors were logged."""
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    if side == UNBOUNDED:
        inbox_module.MEMORY_WINDOW = sys.maxsize
    sock = bind("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=SecretStr(TOKEN),
        NUANJING_API_BASE_URL=api_base_url,
        NUANJING_DATABASE_URL=database_url,
        NUANJING_SECRET_KEY=SecretStr(FieldCipher.generate_key()),
        NUANJING_HTTP_LISTEN=f"127.0.0.1:{port}",
        NUANJING_WEBHOOK_URL=f"http://127.0.0.1:{port}{HOOK_PATH}",
        NUANJING_WEBHOOK_SECRET=SecretStr(SECRET),
    )
    database = Database(settings.database_url)
    try:
        application = build_application(settings, database, load_policy(None))
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader()
        pipe, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), sys.stdin
        )
        answers = _Commands()
        try:
            async with taking_updates(application, settings, sock, token=TOKEN):
                print(READY, flush=True)
                while line := await commands.readline():
                    print(answers.answer(line.decode()), flush=True)
        finally:
            pipe.close()
    finally:
        database.dispose()
    if errors.count:
        print(f"bench: the bot logged {errors.count} error(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


@asynccontextmanager
async def bot_process(side: str, sandbox: Sandbox, database_url: str) -> AsyncIterator[BotProcess]:
    """The bot in webhook mode in a child process, its webhook set; stopped after."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.webhook",
        "--serve",
        side,
        "--api-base-url",
        sandbox.api_base_url,
        "--database-url",
        database_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONOPTIMIZE": str(OPTIMIZE)},
        cwd=REPO,
    )
    handle = BotProcess(side, process)
    try:
        await handle.wait_ready()
        yield handle
    finally:
        code = await handle.stop()
    if code != EXIT_OK:
        raise BenchmarkError(f"the {side} bot exited with code {code}")


# --- the flood ------------------------------------------------------------------------------


async def flood(
    side: str, sandbox: Sandbox, database_url: str, users: list[int], messages: int
) -> Flood:
    """Every officer sends `messages` /me; wait for every card; the bot's peak memory."""
    from bot.sandbox import BotEvent, SandboxClient

    total = len(users) * messages
    seen = {user_id: len(sandbox.events(TOKEN, user_id)) for user_id in users}
    sent_before = sandbox.stats(TOKEN)["sends"]
    calls_before = len(sandbox.calls(TOKEN))
    async with SandboxClient(sandbox.base_url, TOKEN) as client:
        # No webhook while the officers send: their updates wait at the sandbox.
        await _bot_api(sandbox, "deleteWebhook")
        gate = asyncio.Semaphore(CLIENT_CONNECTIONS)

        async def send(user_id: int) -> None:
            async with gate:
                await client.send_command(user_id, "/me")

        # Round by round: each officer's next /me after everyone's last, as a rush comes.
        for _ in range(messages):
            await asyncio.gather(*(send(user_id) for user_id in users))
    async with (
        bot_process(side, sandbox, database_url) as bot,
        SandboxClient(sandbox.base_url, TOKEN) as client,
    ):
        started = time.monotonic()
        last_count, last_change = 0, time.monotonic()
        while (count := sandbox.stats(TOKEN)["sends"] - sent_before) < total:
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            elif time.monotonic() - last_change > STALL_SECONDS:
                break
            await asyncio.sleep(0.05)
        seconds = time.monotonic() - started
        await client.wait_idle(settle=QUIET_SECONDS, timeout=STALL_SECONDS)
        memory = await bot.memory()
        sends = Counter(
            call.chat_id
            for call in sandbox.calls(TOKEN)[calls_before:]
            if call.method == "sendMessage"
        )
    lost = duplicates = wrong = 0
    for user_id in users:
        events = [BotEvent.from_json(e) for e in sandbox.events(TOKEN, user_id)[seen[user_id] :]]
        cards = sum(check_card(user_id, event) is None for event in events)
        wrong += len(events) - cards
        lost += max(0, messages - cards)
        duplicates += max(0, cards - messages)
    if sum(sends.values()) != sum(len(sandbox.events(TOKEN, u)) - seen[u] for u in users):
        raise BenchmarkError("the sandbox's call log and its chats disagree")
    return Flood(side, seconds, memory.peak_mb, lost, duplicates, wrong)


async def _bot_api(sandbox: Sandbox, method: str) -> None:
    """Call a Bot API method of the benchmark's bot on the sandbox, as the bot would."""
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.api_base_url}{TOKEN}/{method}") as response,
    ):
        if response.status != 200:
            raise BenchmarkError(f"{method} answered {response.status}")


async def benchmark(args: argparse.Namespace, database_url: str | None) -> list[Flood]:
    """Seed, then flood both sides in each run."""
    from bot.sandbox import Sandbox, SandboxClient

    users = list(range(FIRST_USER_ID, FIRST_USER_ID + args.officers))
    floods: list[Flood] = []
    precompile(OPTIMIZE, lambda line: print(line, flush=True))
    with bench_database(database_url) as database:
        seed_officers(database, users)
        async with Sandbox() as sandbox:
            async with SandboxClient(sandbox.base_url, TOKEN) as client:
                for user_id in users:
                    await client.ensure_user(user_id)
            for run in range(args.runs):
                sides = (SHIPPED, UNBOUNDED) if run % 2 == 0 else (UNBOUNDED, SHIPPED)
                for side in sides:
                    result = await flood(side, sandbox, database.url, users, args.messages)
                    floods.append(result)
                    print(
                        f"  run {run + 1}, {side}: every card after {result.seconds:.2f} s, "
                        f"peak RSS {result.peak_rss_mb:.1f} MB, lost {result.lost}, "
                        f"repeated {result.duplicates}, not a card {result.wrong}",
                        flush=True,
                    )
    return floods


def summary(args: argparse.Namespace, floods: list[Flood], backend: str) -> dict[str, object]:
    """The JSON line."""

    def median(side: str, key: str) -> float:
        return round(statistics.median(getattr(f, key) for f in floods if f.side == side), 2)

    return {
        "officers": args.officers,
        "updates": args.officers * args.messages,
        "lost": sum(f.lost for f in floods),
        "duplicates": sum(f.duplicates for f in floods),
        "peak_rss_mb": median(SHIPPED, "peak_rss_mb"),
        "all_answered_s": median(SHIPPED, "seconds"),
        "unbounded_peak_rss_mb": median(UNBOUNDED, "peak_rss_mb"),
        "unbounded_all_answered_s": median(UNBOUNDED, "seconds"),
        "wrong": sum(f.wrong for f in floods),
        "runs": args.runs,
        "database": backend,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero if a card was lost or repeated."""
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
    print(
        f"NuanJing webhook flood on {backend}, {os.cpu_count()} CPUs, load average "
        f"{load_average()}: {args.officers} bound officers send {args.messages} /me each, "
        f"{args.runs} runs, the bot as shipped (at most {inbox_module.MEMORY_WINDOW} updates "
        "in memory) and unbounded",
        flush=True,
    )
    started = time.monotonic()
    try:
        floods = asyncio.run(benchmark(args, database_url))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    figures = summary(args, floods, backend)
    for side in (SHIPPED, UNBOUNDED):
        mine = [f for f in floods if f.side == side]
        print(
            f"  {side}: every card after {Spread.of([f.seconds for f in mine]).text(2)} s, "
            f"peak RSS {Spread.of([f.peak_rss_mb for f in mine]).text(1)} MB"
        )
    print(f"  took {time.monotonic() - started:.0f} s, load average now {load_average()}")
    print(json.dumps(figures), flush=True)
    if figures["lost"] or figures["duplicates"] or figures["wrong"]:
        print("bench: FAILED: cards lost, repeated or wrong", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
