"""Broadcast throughput: one broadcast to N officers through the real bot, on a strict sandbox.

N bound officers are seeded in a fresh database with ONE broadcast to all of them queued, then
``python -m bot run`` is started in a child process against the local Bot API sandbox, which
enforces Telegram's flood limits (at most R sends in any sliding second, about one a second per
chat) while the bot's broadcast rate is set to R. The sandbox's call log gives the figures:
seconds from the first successful sendMessage to the last, the achieved rate as a share of R,
429 answers, recipients never reached (lost) and sends beyond one per recipient (duplicates).
With ``--kill-at K`` the bot is killed with SIGKILL after K successful sends and started again
to finish the broadcast, as after a crash in production.

The sandbox and this watcher share one process; the bot has one of its own, as in production.
The last line of stdout is JSON: recipients, seconds, rate_ratio, http_429, lost, duplicates.

Run from the repository root: ``python bench/broadcast.py`` or ``python -m bench.broadcast``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bot.sandbox.server as sandbox_server
from bench.updates import FIRST_USER_ID, bench_database, postgres_url, seed_officers
from bot.app import SENDER_IN_FLIGHT
from bot.policy import policy_text_without_quiet_hours
from bot.sandbox import ApiCall, Sandbox, SandboxClient
from storage import broadcasts
from storage.broadcasts import Progress
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import BroadcastKind, Priority

REPO_ROOT = Path(__file__).resolve().parent.parent
TOKEN = "720001:bench-broadcast-bot"
TEXT = "【暖警】工会通知：本周六上午九点在分局礼堂召开会员大会，请准时参加。"
SEND = "sendMessage"
OK, TOO_MANY = 200, 429
TARGET_RATE_RATIO = 0.97
# Telegram's global limit, and the most NUANJING_BROADCAST_RATE accepts.
MAX_LIMIT = 30
# From a bot process's start to its first send: imports, migrations check, getMe, commands.
START_SECONDS = 60.0
# Silence allowed between sends once a process sends: longer than any retry_after the sandbox
# answers (at most a few seconds), shorter than the deadline so a hung bot fails early.
STALL_SECONDS = 15.0
# The deadline only bounds a bot that trickles: slower than this share of R is a failure.
SLOWEST_SHARE = 1 / 3
# How long to keep listening once the broadcast has settled, to catch a late extra send.
QUIET_SECONDS = 1.0
STOP_SECONDS = 20.0
# The kill must land close to K sends (one send every 33 ms at 30/s); otherwise poll gently,
# since this process also serves the sandbox the bot is measured against.
KILL_POLL_SECONDS = 0.002
POLL_SECONDS = 0.05
DATABASE_POLL_SECONDS = 1.0
LOG_TAIL_LINES = 20
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class BenchmarkError(Exception):
    """The run could not complete (timeout, stall, crash) or measured something else."""


@dataclass(frozen=True)
class Kill:
    """When the first bot process was killed and the second one started."""

    after: int
    killed_at: float
    restarted_at: float


@dataclass(frozen=True)
class Outcome:
    """What the sandbox saw of one broadcast, with the database's own account of it."""

    recipients: int
    limit: int
    sent: tuple[ApiCall, ...]
    refused: dict[int, int]
    throttled: tuple[ApiCall, ...]
    lost: int
    duplicates: int
    started_at: float
    kill: Kill | None
    database: Progress

    @property
    def seconds(self) -> float:
        """From the first successful send to the last."""
        return self.sent[-1].time - self.sent[0].time if len(self.sent) > 1 else 0.0

    @property
    def rate_ratio(self) -> float:
        """Successful sends per second, (sends - 1) / seconds, as a share of the limit R."""
        return rate(self.sent) / self.limit

    @property
    def http_429(self) -> int:
        """Sends the sandbox answered with 429 Too Many Requests."""
        return self.refused.get(TOO_MANY, 0)

    def segments(self) -> list[tuple[ApiCall, ...]]:
        """The sends of each bot process: one run, or before the kill and after the restart."""
        if self.kill is None:
            return [self.sent]
        cut = self.kill.killed_at
        return [
            tuple(call for call in self.sent if call.time < cut),
            tuple(call for call in self.sent if call.time >= cut),
        ]

    def gaps(self) -> list[float]:
        """Seconds between consecutive sends of the same process (the restart is not a gap)."""
        return [
            later.time - earlier.time
            for segment in self.segments()
            for earlier, later in pairwise(segment)
        ]

    def busiest_second(self) -> int:
        """Most sends arriving within any one second: what the sandbox's sliding window counts."""
        times = [call.time for call in self.sent]
        most, first = 0, 0
        for last, at in enumerate(times):
            # The sandbox forgets a send once it is 1 s old or older: window (at - 1, at].
            while times[first] <= at - 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most


def rate(sent: Sequence[ApiCall]) -> float:
    """Sends per second over a run: intervals between the first send and the last, per second."""
    if len(sent) < 2 or sent[-1].time <= sent[0].time:
        return 0.0
    return (len(sent) - 1) / (sent[-1].time - sent[0].time)


# --- arguments ----------------------------------------------------------------------------


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _limit(value: str) -> int:
    number = int(value)
    if not 1 <= number <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_LIMIT}, got {number}")
    return number


DESCRIPTION = """\
Throughput of one broadcast to N officers through the real NuanJing bot (python -m bot run, in
a child process) against the local Bot API sandbox with Telegram's flood limits on: at most R
sends in any sliding second and about one a second per chat, answered with 429 and retry_after
beyond that. The bot's NUANJING_BROADCAST_RATE is R. N bound officers are seeded in a fresh
database and the broadcast is queued there before the bot starts. The last line of output is
JSON with recipients, seconds, rate_ratio, http_429, lost and duplicates.
"""

EPILOG = f"""\
figures (from the sandbox's call log; sends = sendMessage calls answered 200):
  seconds     first successful send to the last (arrival times at the sandbox); with
              --kill-at this span includes the restart
  rate_ratio  (sends - 1) / seconds / R: sends per second achieved, as a share of the limit;
              every successful send counts, duplicates too, since each used up the limit
  http_429    sendMessage calls answered 429 Too Many Requests
  lost        recipients with no successful send
  duplicates  successful sends beyond one per recipient
Also printed: gaps between sends, the most sends within any 1 s (at most R if the sandbox's
limit held), and the database's own count of sent, failed and blocked deliveries.

the limit R: the sandbox's 30 a second is a module constant (GLOBAL_SENDS_PER_SECOND in
bot/sandbox/server.py) read on every send; the sandbox runs in this process, which sets that
constant to R for the run. R cannot exceed 30, the most NUANJING_BROADCAST_RATE accepts.

targets, N = 1000: rate_ratio >= {TARGET_RATE_RATIO}, 0 429s, 0 lost, 0 duplicates; with
--kill-at: 0 lost, and at most {SENDER_IN_FLIGHT} duplicates (the sends the killed process may
have had in flight, SENDER_IN_FLIGHT in bot/app.py). Whether each target was met is printed; a
missed target does not change the exit code (this is a measurement).

exit codes: 0 the broadcast completed and was measured; 1 it could not complete (timeout,
stall, bot crash, errors logged by the bot, refusals other than 429, wrong text); 2 bad usage.
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.broadcast",
        # The description and epilog are laid out by hand (the figures as a table).
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--recipients",
        type=_at_least_one,
        default=1000,
        metavar="N",
        help="bound officers the broadcast goes to, each in a private chat the sandbox knows "
        "(default: 1000)",
    )
    parser.add_argument(
        "--limit",
        type=_limit,
        default=MAX_LIMIT,
        metavar="R",
        help=f"sends per second: the sandbox allows at most R in any 1 s window, and the bot's "
        f"broadcast rate is R (1 to {MAX_LIMIT}; default: {MAX_LIMIT}, Telegram's limit)",
    )
    parser.add_argument(
        "--kill-at",
        type=_at_least_one,
        metavar="K",
        help="SIGKILL the bot once the sandbox has answered K sends (K < N), start it again "
        "and let it finish; lost and duplicates then measure the recovery",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to "
        "run on a fresh schema there (dropped afterwards); default: a temporary SQLite file",
    )
    parser.add_argument(
        "--bot-log",
        type=Path,
        metavar="FILE",
        help="append the bot processes' output to FILE (default: a temporary file, whose "
        "last lines are shown if the run fails)",
    )
    args = parser.parse_args(argv)
    if args.kill_at is not None and args.kill_at >= args.recipients:
        parser.error(f"--kill-at must be below --recipients ({args.recipients})")
    return args


# --- set-up -------------------------------------------------------------------------------


@contextmanager
def sandbox_limit(limit: int) -> Iterator[None]:
    """Make the sandbox allow ``limit`` sends in any second instead of Telegram's 30."""
    # The sandbox has no setting for it, but reads this module constant on every send; the
    # sandbox runs in this process, so setting it here is enough. Put back afterwards.
    saved = sandbox_server.GLOBAL_SENDS_PER_SECOND
    sandbox_server.GLOBAL_SENDS_PER_SECOND = limit
    try:
        yield
    finally:
        sandbox_server.GLOBAL_SENDS_PER_SECOND = saved


def queue_broadcast(database: Database, count: int) -> tuple[int, list[int]]:
    """Seed ``count`` bound officers and queue one broadcast to all; its id and their chats."""
    seed_officers(database, [FIRST_USER_ID + index for index in range(count)])
    with database.session() as session:
        recipients = broadcasts.audience(session)
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text=TEXT,
            recipients=recipients,
            created_by="bench",
        )
    assert broadcast.id is not None and len(recipients) == count
    return broadcast.id, [recipient.chat_id for recipient in recipients]


async def introduce(sandbox: Sandbox, chats: Sequence[int]) -> None:
    """Make the sandbox know every recipient's chat, as if each had written to the bot."""
    async with SandboxClient(sandbox.base_url, TOKEN) as client:
        for chat_id in chats:
            await client.ensure_user({"id": chat_id, "first_name": f"警员{chat_id}"})


def bot_environment(
    sandbox: Sandbox,
    database_url: str,
    folder: Path,
    *,
    token: str = TOKEN,
    key: str | None = None,
    limit: int | None = None,
) -> dict[str, str]:
    """The environment of ``python -m bot run``: this sandbox, this database, this token.

    With a policy without quiet hours, so that a run measures the same at any hour; the rate R
    when `limit` is given; `key` for a restarted process to read what the first one sealed (a
    throwaway one otherwise: nothing a benchmark stores is worth keeping).
    """
    policy = folder / "policy-without-quiet-hours.toml"
    policy.write_text(policy_text_without_quiet_hours(), encoding="utf-8")
    # Drop the caller's own bot settings (policy file, rate...) so they cannot skew the run.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("NUANJING_", "TELEGRAM_"))
    }
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), inherited.get("PYTHONPATH")]))
    environment = {
        **inherited,
        "PYTHONPATH": path,
        "TELEGRAM_BOT_TOKEN": token,
        "NUANJING_API_BASE_URL": sandbox.api_base_url,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_POLICY_FILE": str(policy),
        "NUANJING_SECRET_KEY": key or FieldCipher.generate_key(),
    }
    if limit is not None:
        environment["NUANJING_BROADCAST_RATE"] = str(limit)
    return environment


# --- the bot process ----------------------------------------------------------------------


class BotProcess:
    """One ``python -m bot run``, started as an operator would, its output going to a log."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, started: float) -> None:
        self.name = name
        self.started = started
        self._process = process

    @classmethod
    async def start(cls, name: str, env: dict[str, str], folder: Path, log: Path) -> BotProcess:
        """Start the bot; ``folder`` is its working directory, so no stray .env is read."""
        with log.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=env,
                cwd=folder,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )
        return cls(name, process, time.monotonic())

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs."""
        return self._process.returncode

    async def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when the host dies or the OOM killer strikes."""
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
        await self._process.wait()

    async def stop(self) -> int:
        """SIGTERM, which run_polling answers by shutting down cleanly; return the exit code."""
        if self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._process.wait(), STOP_SECONDS)
        except TimeoutError:
            await self.kill()
            raise BenchmarkError(
                f"the {self.name} bot did not stop within {STOP_SECONDS:.0f} s of SIGTERM"
            ) from None


# --- watching the sandbox -----------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """The bot's answered sendMessage calls so far, from the sandbox's call log."""

    sent: tuple[ApiCall, ...]
    refused: dict[int, int]
    throttled: tuple[ApiCall, ...]

    @classmethod
    def of(cls, sandbox: Sandbox) -> Tally:
        """Count them now; calls still in flight are left for later."""
        sent: list[ApiCall] = []
        throttled: list[ApiCall] = []
        refused: Counter[int] = Counter()
        for call in sandbox.calls(TOKEN):
            if call.method != SEND or call.status == sandbox_server.IN_PROGRESS:
                continue
            if call.status == OK:
                sent.append(call)
            else:
                refused[call.status] += 1
                if call.status == TOO_MANY:
                    throttled.append(call)
        return cls(tuple(sent), dict(refused), tuple(throttled))


class Watch:
    """Polls the sandbox (and now and then the database) until a condition holds, or fails."""

    def __init__(
        self,
        sandbox: Sandbox,
        database: Database,
        broadcast_id: int,
        chats: Sequence[int],
        limit: int,
    ) -> None:
        self.sandbox = sandbox
        self.database = database
        self.broadcast_id = broadcast_id
        self.chats = frozenset(chats)
        self.deadline = time.monotonic() + 2 * START_SECONDS + len(chats) / (limit * SLOWEST_SHARE)
        self._checked_at = 0.0

    async def until(self, bot: BotProcess, done: Callable[[Tally], bool], interval: float) -> Tally:
        """Return the tally once ``done`` holds; fail if the bot exits, stalls or is too slow."""
        sends, changed = -1, bot.started
        while True:
            tally = Tally.of(self.sandbox)
            if done(tally):
                return tally
            now = time.monotonic()
            if bot.returncode is not None:
                raise BenchmarkError(
                    f"the {bot.name} bot exited with code {bot.returncode} after "
                    f"{len(tally.sent)} sends, before the broadcast was done"
                )
            if now > self.deadline:
                raise BenchmarkError(
                    f"only {len(tally.sent)} of {len(self.chats)} sends before the deadline"
                )
            if len(tally.sent) != sends:
                sends, changed = len(tally.sent), now
            # A process is silent while it starts; once it has sent, silence means a stall.
            sending = bool(tally.sent) and tally.sent[-1].time >= bot.started
            allowed = STALL_SECONDS if sending else START_SECONDS
            if now - changed > allowed:
                state = "sent nothing" if sending else "did not start sending"
                raise BenchmarkError(
                    f"the {bot.name} bot {state} for {allowed:.0f} s, "
                    f"at {len(tally.sent)} of {len(self.chats)} sends"
                )
            await asyncio.sleep(interval)

    def settled(self, tally: Tally) -> bool:
        """True once the database has nothing left to send of the broadcast."""
        # Ask the database (a blocking query in the sandbox's loop) only when every chat has
        # its message, or once a second in case some deliveries fail and never arrive.
        now = time.monotonic()
        reached = {call.chat_id for call in tally.sent}
        if not self.chats <= reached and now - self._checked_at < DATABASE_POLL_SECONDS:
            return False
        self._checked_at = now
        return self.progress().settled

    def progress(self) -> Progress:
        """The database's counts of the broadcast's deliveries."""
        with self.database.session() as session:
            return broadcasts.progress(session, self.broadcast_id)


# --- the run ------------------------------------------------------------------------------


async def broadcast(
    args: argparse.Namespace, database: Database, broadcast_id: int, chats: Sequence[int]
) -> Outcome:
    """Serve the sandbox, run the bot (killing and restarting it if asked) and tally the sends."""
    async with Sandbox(limits=True) as sandbox:
        await introduce(sandbox, chats)
        with tempfile.TemporaryDirectory(prefix="nuanjing-bench-") as folder:
            env = bot_environment(sandbox, database.url, Path(folder), limit=args.limit)
            log = args.bot_log or Path(folder) / "bot.log"
            watch = Watch(sandbox, database, broadcast_id, chats, args.limit)
            running: list[BotProcess] = []
            try:
                running.append(await BotProcess.start("first", env, Path(folder), log))
                started_at = running[0].started
                kill: Kill | None = None
                if args.kill_at is not None:
                    await watch.until(
                        running[0], lambda t: len(t.sent) >= args.kill_at, KILL_POLL_SECONDS
                    )
                    await running[0].kill()
                    killed_at = time.monotonic()
                    running.append(await BotProcess.start("restarted", env, Path(folder), log))
                    kill = Kill(args.kill_at, killed_at, running[-1].started)
                await watch.until(running[-1], watch.settled, POLL_SECONDS)
                await asyncio.sleep(QUIET_SECONDS)
                tally = Tally.of(sandbox)
                code = await running[-1].stop()
                if code != EXIT_OK:
                    raise BenchmarkError(f"the bot exited with code {code} on SIGTERM")
                errors = logged_errors(log)
                if errors:
                    raise BenchmarkError(
                        f"the bot logged {len(errors)} error(s), e.g. {errors[0].strip()}"
                    )
            except BenchmarkError as exc:
                raise BenchmarkError(f"{exc}\n{log_tail(log)}") from None
            finally:
                for process in running:
                    if process.returncode is None:
                        await process.kill()
            check_texts(sandbox, chats)
    return outcome(args, tally, chats, started_at, kill, watch.progress())


def logged_errors(log: Path) -> list[str]:
    """ERROR and CRITICAL lines of the bot's log (its format: time, level, logger, message)."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if " ERROR " in line or " CRITICAL " in line]


def log_tail(log: Path) -> str:
    """The last lines of the bot's log, to say why a run failed."""
    if not log.exists():
        return "(the bot wrote no log)"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return f"last lines of the bot's log ({log}):\n  " + "\n  ".join(lines)


def check_texts(sandbox: Sandbox, chats: Sequence[int]) -> None:
    """Every message that reached a recipient must be the broadcast's text."""
    for chat_id in chats:
        for event in sandbox.events(TOKEN, chat_id):
            text = event.get("message", {}).get("text")
            if text != TEXT:
                raise BenchmarkError(f"chat {chat_id} got {text!r} instead of the broadcast")


def outcome(
    args: argparse.Namespace,
    tally: Tally,
    chats: Sequence[int],
    started_at: float,
    kill: Kill | None,
    database: Progress,
) -> Outcome:
    """Lost and duplicated deliveries from the tally; fail on anything but 200 and 429."""
    per_chat = Counter(call.chat_id for call in tally.sent)
    strangers = set(per_chat) - set(chats)
    if strangers:
        raise BenchmarkError(f"{len(strangers)} chat(s) outside the broadcast got messages")
    # 429 is what the benchmark measures; 400, 403 or 5xx mean the set-up is wrong.
    other = {status: count for status, count in tally.refused.items() if status != TOO_MANY}
    if other:
        raise BenchmarkError(f"the sandbox refused sends with other statuses: {other}")
    if not tally.sent:
        raise BenchmarkError("the bot sent nothing")
    return Outcome(
        recipients=len(chats),
        limit=args.limit,
        sent=tally.sent,
        refused=tally.refused,
        throttled=tally.throttled,
        lost=len(chats) - len(per_chat),
        duplicates=sum(count - 1 for count in per_chat.values()),
        started_at=started_at,
        kill=kill,
        database=database,
    )


async def benchmark(args: argparse.Namespace, database_url: str | None) -> Outcome:
    """Seed, queue the broadcast, then run it through the bot with the sandbox limited to R."""
    with bench_database(database_url) as database:
        broadcast_id, chats = queue_broadcast(database, args.recipients)
        with sandbox_limit(args.limit):
            return await broadcast(args, database, broadcast_id, chats)


# --- report -------------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def report(result: Outcome, backend: str) -> None:
    """Print the readable summary, each target's verdict, then the one JSON line."""
    limit, sent = result.limit, result.sent
    killed = result.kill is not None
    print(f"NuanJing broadcast throughput on {backend}, {os.cpu_count()} CPUs")
    print(
        f"  broadcast   1 to {result.recipients} officers; bot rate {limit}/s; sandbox: at most "
        f"{limit} sends in any 1 s, ~1/s per chat"
    )
    print(
        f"  sends       {len(sent)} answered 200 in {result.seconds:.3f} s, first to last "
        f"({rate(sent):.2f}/s); first {sent[0].time - result.started_at:.2f} s after the bot "
        "started"
    )
    if result.kill is not None:
        before, after = result.segments()
        print(
            f"  kill        SIGKILL once {result.kill.after} sends were answered; "
            f"{len(before)} had arrived by then"
        )
        if before and after:
            print(
                f"  restart     {after[0].time - before[-1].time:.2f} s from the last send of "
                f"the killed bot to the first of the restarted one "
                f"({after[0].time - result.kill.restarted_at:.2f} s after its start)"
            )
        print(
            f"  per process killed: {len(before)} sends at {rate(before):.2f}/s; "
            f"restarted: {len(after)} sends at {rate(after):.2f}/s"
        )
    gaps = sorted(result.gaps())
    if gaps:
        p99 = gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))]
        print(
            f"  pacing      gap between sends: median {_ms(statistics.median(gaps))}, "
            f"p99 {_ms(p99)}, max {_ms(gaps[-1])} (even spacing: {_ms(1 / limit)}); "
            f"busiest 1 s window: {result.busiest_second()} sends"
        )
    db = result.database
    print(
        f"  database    {db.sent} sent, {db.failed} failed, {db.blocked} blocked, "
        f"{db.cancelled} cancelled, {db.waiting} waiting, of {db.total}"
    )
    if killed:
        # The restart's dead time is in the span; pacing is not what a kill run measures.
        print(
            f"  rate_ratio  {result.rate_ratio:.3f} = (sends - 1) / seconds / {limit}, "
            "restart included (no target with --kill-at)"
        )
        print(f"  http_429    {result.http_429} (no target with --kill-at)")
        print(
            f"  lost        {result.lost} recipients never reached; target 0 "
            f"({_verdict(result.lost == 0)})"
        )
        print(
            f"  duplicates  {result.duplicates} sends beyond one per recipient; allowed up to "
            f"{SENDER_IN_FLIGHT}, the sends in flight at the kill "
            f"({_verdict(result.duplicates <= SENDER_IN_FLIGHT)})"
        )
    else:
        print(
            f"  rate_ratio  {result.rate_ratio:.3f} = (sends - 1) / seconds / {limit}; "
            f"target >= {TARGET_RATE_RATIO} ({_verdict(result.rate_ratio >= TARGET_RATE_RATIO)})"
        )
        print(f"  http_429    {result.http_429}; target 0 ({_verdict(result.http_429 == 0)})")
        print(
            f"  lost        {result.lost} recipients never reached; target 0 "
            f"({_verdict(result.lost == 0)})"
        )
        print(
            f"  duplicates  {result.duplicates} sends beyond one per recipient; target 0 "
            f"({_verdict(result.duplicates == 0)})"
        )
    if result.throttled:
        # When they came, from the first send: at the start, after the kill, or all along.
        shown = ", ".join(f"{call.time - sent[0].time:.2f}" for call in result.throttled[:12])
        more = ", ..." if len(result.throttled) > 12 else ""
        print(f"  429s at     {shown}{more} s after the first send")
    figures = {
        "recipients": result.recipients,
        "seconds": round(result.seconds, 3),
        "rate_ratio": round(result.rate_ratio, 3),
        "http_429": result.http_429,
        "lost": result.lost,
        "duplicates": result.duplicates,
    }
    print(json.dumps(figures), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the broadcast could not be measured."""
    args = parse_args(argv)
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    try:
        result = asyncio.run(benchmark(args, database_url))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report(result, backend)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
