"""An urgent appeal at scale: N bound officers, the matching quarter reached at the limit, answers.

N bound officers are seeded in a fresh database (one in four O Rh-negative, eligible: a birthday
on the roster, no donation on record; the others A Rh-positive), with one bound organizer. The
real bot (``python -m bot run`` in a child process, as in production) polls the local Bot API
sandbox with Telegram's flood limits on (at most R = 30 sends in any sliding second, about one
a second per chat) and its broadcast rate at R. The organizer sends the /appeal one-line form
and presses ✅ 确认发送 on the preview; from that press the benchmark measures the seconds to
the first appeal message the sandbox accepts (first_message_s) and to the last recipient's
(all_reached_s). Then A of the recipients press 🙋 我能去 at one instant; the appeal needs
min(A, 100) donors (/appeal takes at most 100), so exactly that many must be recorded as coming,
the rest told it is fulfilled, and the organizer's tally message and the database must both say
so (tally_exact).

The sandbox and the simulated officers share this process. The last line of stdout is one JSON
object: recipients, first_message_s, all_reached_s, answers, tally_exact, then units, coming,
answers_s (from the release to the last answer) and database. Exit 1 if the tally is not exact
or the run failed.

Run from the repository root: ``python bench/appeal.py`` or ``python -m bench.appeal``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func
from sqlmodel import col, select

from bench.broadcast import (
    MAX_LIMIT,
    BotProcess,
    bot_environment,
    log_tail,
    logged_errors,
    sandbox_limit,
)
from bench.updates import FIRST_USER_ID, bench_database, met_or_not, police_id_of, postgres_url
from bot import texts
from bot.sandbox import BotEvent, Sandbox, SandboxClient
from handlers.appeals import MAX_UNITS
from storage import officers
from storage import roles as role_storage
from storage.db import Database
from storage.models import (
    AppealAnswer,
    AppealReply,
    AppealStatus,
    BindingMethod,
    BloodAppeal,
    Officer,
    Role,
)

TOKEN = "740001:bench-appeal-bot"
ORGANIZER_ID = FIRST_USER_ID - 1
ORGANIZER_POLICE_ID = "900001"
HOSPITAL = "基准医院"
SEND, OK, TOO_MANY = "sendMessage", 200, 429
TARGET_FIRST_MESSAGE_S = 1.0
# Requests the simulated officers have in flight at once (bench/updates.py says why 4).
CLIENT_CONNECTIONS = 4
# From the bot's start to its answer to /appeal: imports, migrations check, getMe, commands.
START_SECONDS = 90.0
# Every recipient reached within this share of R, or the run fails.
SLOWEST_SHARE = 1 / 3
GRACE_SECONDS = 30.0
ANSWER_SECONDS = 60.0
# The tally is edited at most every TALLY_EVERY (3 s) seconds: wait for its last edit.
TALLY_SECONDS = 20.0
POLL_SECONDS = 0.02
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class BenchmarkError(Exception):
    """The run could not complete or measured something else."""


@dataclass(frozen=True)
class Result:
    """What one appeal did."""

    officers: int
    recipients: int
    first_message_s: float
    all_reached_s: float
    answers: int
    units: int
    coming_answers: int  # presses answered "address sent"
    fulfilled_answers: int  # presses answered "already fulfilled"
    answers_s: float  # from the release of the presses to the last answer
    tally_text: str
    tally_ok: bool
    database_coming: int
    database_status: str
    http_429: int

    @property
    def tally_exact(self) -> bool:
        """The tally message, the database and the answers all say exactly `units` coming."""
        return (
            self.tally_ok
            and self.database_coming == self.units
            and self.database_status == AppealStatus.FULFILLED
            and self.coming_answers == self.units
            and self.fulfilled_answers == self.answers - self.units
        )


# --- arguments ----------------------------------------------------------------------------


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {number}")
        return number

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.appeal",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"targets: first_message_s <= {TARGET_FIRST_MESSAGE_S:.0f} s, tally_exact; "
        "exit 1 if the tally is not exact or the run failed, 2 on bad usage",
    )
    parser.add_argument(
        "--officers",
        type=_at_least(4),
        default=2000,
        metavar="N",
        help="bound officers; one in four has the appeal's blood type (default: 2000)",
    )
    parser.add_argument(
        "--answers",
        type=_at_least(1),
        default=300,
        metavar="A",
        help="recipients who press 我能去 at one instant (default: 300); the appeal needs "
        f"min(A, {MAX_UNITS}) donors",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to "
        "run on a fresh schema there (dropped afterwards); default: a temporary SQLite file",
    )
    parser.add_argument(
        "--bot-log", type=Path, metavar="FILE", help="append the bot's output to FILE"
    )
    args = parser.parse_args(argv)
    if args.answers > args.officers // 4:
        parser.error(f"--answers must be at most a quarter of --officers ({args.officers // 4})")
    return args


# --- set-up -------------------------------------------------------------------------------


def seed(database: Database, count: int) -> list[int]:
    """The organizer and `count` bound officers; the chats of the quarter the appeal matches."""
    matching: list[int] = []
    with database.session() as session:
        organizer = officers.create(
            session,
            Officer(
                police_id=ORGANIZER_POLICE_ID,
                name="基准干事",
                unit="工会",
                phone="+8613700000001",
                blood_group="AB",
                birthday=date(1980, 5, 1),
            ),
        )
        officers.bind(
            session,
            organizer,
            telegram_user_id=ORGANIZER_ID,
            chat_id=ORGANIZER_ID,
            method=BindingMethod.IMPORT,
        )
        assert organizer.id is not None
        role_storage.grant(session, organizer.id, Role.ORGANIZER, granted_by="bench")
        for index in range(count):
            user_id = FIRST_USER_ID + index
            police_id = police_id_of(user_id)
            negative = index % 4 == 0
            officer = officers.create(
                session,
                Officer(
                    police_id=police_id,
                    name=f"警员{police_id}",
                    unit="基准分局",
                    phone=f"+86139{int(police_id):08d}",
                    blood_group="O" if negative else "A",
                    rh_negative=negative,
                    birthday=date(1985, 3, 12),
                ),
            )
            officers.bind(
                session,
                officer,
                telegram_user_id=user_id,
                chat_id=user_id,
                method=BindingMethod.IMPORT,
            )
            if negative:
                matching.append(user_id)
    database.dispose()  # the bot process opens its own connections
    return matching


async def introduce(client: SandboxClient, users: Sequence[int]) -> None:
    """Make the sandbox know every officer's chat, as if each had written to the bot."""
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def one(user_id: int) -> None:
        async with connections:
            await client.ensure_user({"id": user_id, "first_name": f"警员{user_id}"})

    await asyncio.gather(*(one(user_id) for user_id in users))


def command(units: int) -> str:
    """The organizer's /appeal: O Rh-negative whole blood, the deadline the day after tomorrow."""
    day = (date.today() + timedelta(days=2)).isoformat()
    return f"/appeal O- 全血 {units} {day} 08:00 {HOSPITAL}|基准路1号|基准医生 13800000000"


def button(event: BotEvent, text: str) -> str:
    """The callback data of the button with this text."""
    for row in event.buttons:
        for found in row:
            if found.text == text and found.callback_data:
                return found.callback_data
    raise BenchmarkError(f"no button {text!r} on {event}")


# --- the run ------------------------------------------------------------------------------


def appeal_sends(sandbox: Sandbox, chats: frozenset[int]) -> dict[int, float]:
    """Each recipient's first accepted sendMessage (the appeal), by chat."""
    first: dict[int, float] = {}
    for call in sandbox.calls(TOKEN):
        if call.method == SEND and call.status == OK and call.chat_id in chats:
            first.setdefault(call.chat_id, call.time)
    return first


async def reach(
    sandbox: Sandbox, bot: BotProcess, chats: frozenset[int], confirmed: float
) -> dict[int, float]:
    """Wait until every recipient has the appeal; fail if the bot exits or trickles."""
    deadline = confirmed + GRACE_SECONDS + len(chats) / (MAX_LIMIT * SLOWEST_SHARE)
    while True:
        reached = appeal_sends(sandbox, chats)
        if len(reached) == len(chats):
            return reached
        if bot.returncode is not None:
            raise BenchmarkError(f"the bot exited with code {bot.returncode}")
        if time.monotonic() > deadline:
            raise BenchmarkError(f"only {len(reached)} of {len(chats)} reached by the deadline")
        await asyncio.sleep(POLL_SECONDS)


async def press_all(
    client: SandboxClient, sandbox: Sandbox, users: Sequence[int]
) -> tuple[Counter[str], float]:
    """Every one of `users` presses 我能去 on their appeal at one instant; their answers."""
    targets: dict[int, tuple[int, str]] = {}
    for user_id in users:
        events = [BotEvent.from_json(event) for event in sandbox.events(TOKEN, user_id)]
        [appeal] = [e for e in events if e.kind == "message" and "紧急用血呼吁" in e.text]
        targets[user_id] = (appeal.message_id, button(appeal, texts.APPEAL_COMING_BUTTON))
    barrier = asyncio.Barrier(len(users) + 1)
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def officer(user_id: int) -> str:
        await barrier.wait()
        async with connections:
            message_id, data = targets[user_id]
            query = await client.press_data(user_id, message_id, data)
        answer = await client.callback_answer(query, timeout=ANSWER_SECONDS)
        if answer is None:
            raise BenchmarkError(f"officer {user_id}'s press was not answered")
        return str(answer.get("text") or "")

    tasks = [asyncio.create_task(officer(user_id)) for user_id in users]
    await barrier.wait()
    released = time.monotonic()
    answers = await asyncio.gather(*tasks)
    return Counter(answers), time.monotonic() - released


async def final_tally(client: SandboxClient, expected: str) -> tuple[str, bool]:
    """The organizer's tally message once it reads `expected` (or as it stands at the end)."""
    history = await client.history(ORGANIZER_ID)
    found = [e for e in history if e.kind == "message" and e.text.startswith("🆘 紧急用血呼吁 #")]
    if len(found) != 1:
        raise BenchmarkError(f"the organizer has {len(found)} tally messages, not one")
    until = time.monotonic() + TALLY_SECONDS
    text = ""
    while time.monotonic() < until:
        text = str((await client.message(ORGANIZER_ID, found[0].message_id)).get("text", ""))
        if expected in text and texts.APPEAL_TALLY_FULFILLED.strip() in text:
            return text, True
        await asyncio.sleep(0.2)
    return text, False


def database_counts(database: Database) -> tuple[int, str]:
    """Officers recorded coming (or arrived), and the appeal's status."""
    with database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
        coming = session.exec(
            select(func.count())
            .select_from(AppealReply)
            .where(col(AppealReply.answer).in_((AppealAnswer.COMING, AppealAnswer.ARRIVED)))
        ).one()
    return int(coming), str(appeal.status)


async def run(
    args: argparse.Namespace, database: Database, progress: Callable[[str], None]
) -> Result:
    """Seed, start the bot, the appeal from /appeal to its answers, and the checks."""
    started = time.monotonic()
    matching = seed(database, args.officers)
    chats = frozenset(matching)
    units = min(args.answers, MAX_UNITS)
    progress(
        f"  seeded {args.officers} bound officers ({len(matching)} O Rh-) and an organizer "
        f"in {time.monotonic() - started:.1f} s"
    )
    async with (
        Sandbox(limits=True) as sandbox,
        SandboxClient(sandbox.base_url, TOKEN) as client,
    ):
        await introduce(
            client, [ORGANIZER_ID, *range(FIRST_USER_ID, FIRST_USER_ID + args.officers)]
        )
        with tempfile.TemporaryDirectory(prefix="nuanjing-bench-") as folder:
            env = bot_environment(sandbox, database.url, Path(folder), token=TOKEN, limit=MAX_LIMIT)
            log = args.bot_log or Path(folder) / "bot.log"
            bot = await BotProcess.start("appeal", env, Path(folder), log)
            try:
                await client.send_text(ORGANIZER_ID, command(units))
                [preview] = await client.replies(ORGANIZER_ID, count=1, timeout=START_SECONDS)
                wanted = f"将以紧急优先级发送给 {len(matching)} 位"
                if wanted not in preview.text:
                    raise BenchmarkError(f"the preview says {preview.text!r}, not {wanted!r}")
                progress(f"  preview: {wanted}; pressing ✅ 确认发送")
                data = button(preview, texts.APPEAL_CONFIRM_BUTTON)
                confirmed = time.monotonic()
                query = await client.press_data(ORGANIZER_ID, preview.message_id, data)
                if await client.callback_answer(query, timeout=GRACE_SECONDS) is None:
                    raise BenchmarkError("the confirm press was not answered")
                reached = await reach(sandbox, bot, chats, confirmed)
                first, last = min(reached.values()), max(reached.values())
                progress(
                    f"  reached {len(reached)}: first {first - confirmed:.3f} s, all "
                    f"{last - confirmed:.2f} s after the confirm press"
                )
                answered, answers_s = await press_all(client, sandbox, matching[: args.answers])
                progress(
                    f"  {args.answers} pressed 我能去 at once: answered within {answers_s:.2f} s "
                    f"({dict(answered)})"
                )
                expected = f"已询问 {len(matching)} 人｜我能去 {units}｜已到达 0｜去不了 0"
                tally, tally_ok = await final_tally(client, expected)
                progress(f"  tally: {tally.splitlines()[-2] if tally_ok else tally!r}")
                coming, status = database_counts(database)
                progress(f"  database: {coming} coming, appeal {status}")
                await bot.stop()
                errors = logged_errors(log)
                if errors:
                    raise BenchmarkError(f"the bot logged {len(errors)} error(s): {errors[0]}")
            except BenchmarkError as exc:
                raise BenchmarkError(f"{exc}\n{log_tail(log)}") from None
            finally:
                if bot.returncode is None:
                    await bot.kill()
        throttled = sum(
            1 for call in sandbox.calls(TOKEN) if call.method == SEND and call.status == TOO_MANY
        )
    return Result(
        officers=args.officers,
        recipients=len(matching),
        first_message_s=first - confirmed,
        all_reached_s=last - confirmed,
        answers=args.answers,
        units=units,
        coming_answers=answered[texts.APPEAL_COMING_ANSWER],
        fulfilled_answers=answered[texts.APPEAL_FULFILLED_ANSWER],
        answers_s=answers_s,
        tally_text=tally,
        tally_ok=tally_ok,
        database_coming=coming,
        database_status=status,
        http_429=throttled,
    )


async def benchmark(
    args: argparse.Namespace, database_url: str | None, progress: Callable[[str], None]
) -> Result:
    """The run on a fresh database, with the sandbox at Telegram's limit."""
    with bench_database(database_url) as database, sandbox_limit(MAX_LIMIT):
        return await run(args, database, progress)


# --- report -------------------------------------------------------------------------------


def summary(result: Result, backend: str) -> dict[str, Any]:
    """The JSON line's figures."""
    return {
        "recipients": result.recipients,
        "first_message_s": round(result.first_message_s, 3),
        "all_reached_s": round(result.all_reached_s, 2),
        "answers": result.answers,
        "tally_exact": result.tally_exact,
        "units": result.units,
        "coming": result.database_coming,
        "answers_s": round(result.answers_s, 2),
        "database": backend,
    }


def report(result: Result, backend: str) -> None:
    """The verdicts, then the one JSON line."""
    print(f"NuanJing urgent appeal on {backend}, {os.cpu_count()} CPUs")
    print(
        f"  appeal      {result.recipients} of {result.officers} officers asked, needing "
        f"{result.units}; sandbox at {MAX_LIMIT} sends/s, {result.http_429} sends answered 429"
    )
    print(
        f"  first       {result.first_message_s:.3f} s from 确认发送 to the first appeal "
        f"message; target <= {TARGET_FIRST_MESSAGE_S:.0f} s "
        f"({met_or_not(result.first_message_s <= TARGET_FIRST_MESSAGE_S)})"
    )
    print(
        f"  all         {result.all_reached_s:.2f} s to the last recipient "
        f"({(result.recipients - 1) / max(result.all_reached_s, 1e-9):.1f}/s)"
    )
    print(
        f"  answers     {result.answers} 我能去 in {result.answers_s:.2f} s: "
        f"{result.coming_answers} recorded, {result.fulfilled_answers} told it is fulfilled"
    )
    print(
        f"  tally       message {'exact' if result.tally_ok else 'WRONG'}, database "
        f"{result.database_coming} coming ({result.database_status}); target exact "
        f"({met_or_not(result.tally_exact)})"
    )
    print(json.dumps(summary(result, backend)), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the tally is not exact or the run failed."""
    args = parse_args(argv)
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    progress(f"bench/appeal.py on {backend}: {args.officers} officers, {args.answers} answers")
    try:
        result = asyncio.run(benchmark(args, database_url, progress))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report(result, backend)
    return EXIT_OK if result.tally_exact else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
