"""A survey at scale: N bound officers answer a 5-question survey through the sandbox.

The real bot (``build_application`` with the shipped policy, polling the local Bot API sandbox
from a child process of its own, as in production) serves N seeded, bound officers and one
organizer. Each officer sends ``/surveys`` once (untimed: the message they will press on). In
each of ``--runs`` runs a new anonymous survey of five questions (one choice, several choices,
one choice, a number 0–100, a short text) is written to the database for everyone; then every
officer at once presses 📝 开始填写 (``SurveyAction("fill", id)``), reads the flow's token
from the first question the bot shows, and answers as a person would tap and type: an option,
two options and 下一题, an option, a number, a text, then 提交 twice (a double press). From the
release to the last answer stored is ``answering_s``; the database then says how many answers
were stored (submissions), lost (officers with none) and duplicated (a submission beyond one per
officer, or answer rows beyond five per submission), and whether the counts per option equal
what the officers chose. Then the organizer presses 📊 结果 and the time to the bot's results
message is ``results_s``.

The floor, in the same run: a bare python-telegram-bot echo bot (bench/updates.py's, with the
bot's concurrency, connection pool and HTTP client, in a child process of its own under another
token of the same sandbox; ``--echo-transport httpx`` gives it PTB's own client instead) gets
the same updates from the same officers: each sends it ``/surveys`` once (answered with a copy),
then in each run all press the same 📝 开始填写 on that message at once,
wait for the echo's answer to it (as they wait for the first question) and send the same nine
updates after it (presses with data of the same shape, the two texts). The echo answers a press
with answerCallbackQuery and an edit of the message to the data, a text with one message; the
bot's calls for the same updates are eight answers, seven edits and two messages (its second
提交 is only answered; the echo's edit for it is refused as not modified, one call more). From
the release to the echo's last Bot API call of the run is ``echo_answering_s``. Bot and echo
alternate which goes first; ``--no-echo`` leaves the echo out.

The sandbox and the simulated officers share this process; the last line of stdout is one JSON
object: officers, answers, lost, duplicates, results_s (the median over the runs), then
answering_s, echo_answering_s (median; null with --no-echo), echo_answering_min_s,
echo_answering_max_s, updates_per_officer, runs, results_min_s, results_max_s, cpu_ms_per_update
and echo_cpu_ms_per_update (each process's CPU over the answering per update, median over the
runs), counts_exact, echo_transport and database.

Run from the repository root: ``python bench/survey.py`` or ``python -m bench.survey``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import col, select

from bench.updates import (
    CPU,
    ECHO,
    FIRST_USER_ID,
    GET_UPDATES,
    READY,
    TOKENS,
    BotProcess,
    ErrorCounter,
    Spread,
    add_floor_transport,
    bench_database,
    load_average,
    met_or_not,
    positive,
    postgres_url,
    seed_officers,
)
from bench.updates import BenchmarkError as ProcessError
from bench.updates import bot_process as echo_process
from bot.app import build_application, polling
from bot.policy import load_policy
from bot.rules.surveys import Question, QuestionKind
from bot.settings import Settings
from handlers.callbacks import SurveyAction, SurveyFill
from storage import officers
from storage import roles as role_storage
from storage import surveys as survey_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    BindingMethod,
    Officer,
    Role,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
)
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.sandbox import ApiCall, SandboxClient

TOKEN = "750001:bench-survey-bot"
ORGANIZER_ID = FIRST_USER_ID - 1
ORGANIZER_POLICE_ID = "900002"
TARGET_RESULTS_S = 2.0
TARGET_ANSWERING_S = 60.0
CLIENT_CONNECTIONS = 4
QUESTIONS = (
    Question(QuestionKind.SINGLE, "您意向的片区是？", ("天元区", "芦淞区", "荷塘区", "石峰区")),
    Question(QuestionKind.MULTIPLE, "希望增加哪些活动？", ("读书", "球类", "徒步", "书法")),
    Question(QuestionKind.SINGLE, "是否首套住房？", ("是", "否")),
    Question(QuestionKind.NUMBER, "预算（万元）？", (), 0, 100),
    Question(QuestionKind.TEXT, "其他建议"),
)
# A bot that stores nothing new for this long while answers are missing has stalled.
STALL_SECONDS = 60.0
SLOWEST_PER_SECOND = 5.0
# An echo that makes no Bot API call for this long while calls are missing has stalled.
ECHO_STALL_SECONDS = 10.0
PRESS, TEXT = "press", "text"
ANSWER, EDIT, SEND = "answerCallbackQuery", "editMessageText", "sendMessage"
POLL_SECONDS = 1.0
ANSWER_WAIT = 30.0
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

JSON = dict[str, Any]


class BenchmarkError(Exception):
    """The run did not measure what it claims to."""


@dataclass(frozen=True)
class Answering:
    """The echo's side of one run: how long all of its answers took, and its CPU."""

    updates: int
    seconds: float  # from the release to its last Bot API call of the run
    cpu_seconds: float
    harness_cpu_seconds: float  # this process's (the sandbox and the officers) meanwhile
    calls: Counter[str]  # by method (no getUpdates)

    @property
    def cpu_ms(self) -> float:
        """The echo process's CPU milliseconds per update."""
        return 1000 * self.cpu_seconds / self.updates


@dataclass(frozen=True)
class Run:
    """What one survey did."""

    officers: int
    stored: int  # submissions (has-answered rows)
    responses: int  # distinct submissions among the answer rows
    rows: int  # answer rows
    answering_s: float
    results_s: float
    counts_exact: bool
    double_press_ok: bool
    cpu_seconds: float  # the bot process's over the answering
    harness_cpu_seconds: float  # this process's (the sandbox and the officers) meanwhile
    echo: Answering | None = None

    @property
    def lost(self) -> int:
        """Officers whose answers were not stored."""
        return max(0, self.officers - self.stored)

    @property
    def duplicates(self) -> int:
        """Submissions beyond one per officer, and answer rows beyond five per submission."""
        extra_rows = max(0, self.rows - len(QUESTIONS) * self.responses)
        return max(0, self.responses - self.stored) + extra_rows


def choices_of(user_id: int) -> tuple[int, tuple[int, int], int, int, str]:
    """What this officer answers: an area, two activities, first home or not, a budget, a text."""
    area = user_id % 4
    other = (area + 1 + (user_id // 4) % 3) % 4  # never the same as `area`
    first, second = sorted((area, other))
    return area, (first, second), user_id % 2, user_id % 101, f"建议{user_id % 7}"


def steps(user_id: int, flow: str) -> list[tuple[str, str]]:
    """What this officer sends after the first question, in order: (PRESS, data) or (TEXT,
    text); the two 提交 last."""
    area, activities, first_home, budget, advice = choices_of(user_id)
    submit = SurveyFill(flow, "submit", len(QUESTIONS) + 1).pack()
    return [
        (PRESS, SurveyFill(flow, "pick", 1, area + 1).pack()),
        *((PRESS, SurveyFill(flow, "toggle", 2, activity + 1).pack()) for activity in activities),
        (PRESS, SurveyFill(flow, "next", 2).pack()),
        (PRESS, SurveyFill(flow, "pick", 3, first_home + 1).pack()),
        (TEXT, str(budget)),
        (TEXT, advice),
        (PRESS, submit),
        (PRESS, submit),
    ]


# Updates per officer in a run: 📝 开始填写, then the steps.
UPDATES_PER_OFFICER = 1 + len(steps(FIRST_USER_ID, "0"))


def expected_counts(users: Sequence[int]) -> dict[tuple[int, int], int]:
    """(question, option) → how many chose it."""
    counts: Counter[tuple[int, int]] = Counter()
    for user in users:
        area, activities, first_home, _, _ = choices_of(user)
        counts[(0, area)] += 1
        for activity in activities:
            counts[(1, activity)] += 1
        counts[(2, first_home)] += 1
    return dict(counts)


# --- arguments ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.survey",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"targets: lost 0, duplicates 0, results_s < {TARGET_RESULTS_S:.0f} s; exit 1 "
        "if anything was lost or duplicated, the counts differ, or the run failed",
    )
    parser.add_argument("--officers", type=positive, default=5000, metavar="N")
    parser.add_argument("--runs", type=positive, default=3, metavar="N")
    parser.add_argument(
        "--no-echo",
        dest="echo",
        action="store_false",
        help="leave the echo bot's runs out (its keys are null in the JSON line)",
    )
    add_floor_transport(parser)
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL (a scratch schema of its own, dropped afterwards); default: a "
        "temporary SQLite file",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve and not (args.api_base_url and args.database_url):
        parser.error("--serve needs --api-base-url and --database-url")
    return args


# --- the bot process ----------------------------------------------------------------------


async def serve(api_base_url: str, database_url: str) -> int:
    """Poll as the bot with the shipped policy until stdin closes; non-zero on errors."""
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=SecretStr(TOKEN),
        NUANJING_API_BASE_URL=api_base_url,
        NUANJING_DATABASE_URL=database_url,
        NUANJING_SECRET_KEY=SecretStr(FieldCipher.generate_key()),
    )
    database = Database(settings.database_url)
    try:
        application = build_application(settings, database, load_policy(None))
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader()
        pipe, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), sys.stdin
        )
        try:
            async with polling(application, poll_timeout=1):
                print(READY, flush=True)
                while line := await commands.readline():
                    word = line.decode().strip()
                    print(
                        str(time.process_time()) if word == CPU else f"unknown {word!r}", flush=True
                    )
        finally:
            pipe.close()
    finally:
        database.dispose()
    if errors.count:
        print(f"bench: the bot logged {errors.count} error(s)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


@asynccontextmanager
async def bot_process(api_base_url: str, database_url: str) -> AsyncIterator[BotProcess]:
    """Start the bot in a child process, polling the sandbox, and stop it after."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        "--api-base-url",
        api_base_url,
        "--database-url",
        database_url,
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


def seed_organizer(database: Database) -> None:
    """The organizer who reads the results."""
    with database.session() as session:
        organizer = officers.create(
            session,
            Officer(
                police_id=ORGANIZER_POLICE_ID, name="基准干事", unit="工会", phone="+8613700000002"
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


def new_survey(database: Database, number: int) -> int:
    """A new anonymous survey of the five questions, for everyone, open for a day."""
    with database.session() as session:
        survey = survey_storage.create(
            session,
            Survey(
                title=f"基准问卷 {number}",
                deadline=utcnow() + timedelta(days=1),
                anonymous=True,
                created_by="bench",
            ),
            QUESTIONS,
        )
        assert survey.id is not None
        survey_id = survey.id
    database.dispose()  # the bot process holds the database meanwhile
    return survey_id


def stored(database: Database, survey_id: int) -> tuple[int, int, int, dict[tuple[int, int], int]]:
    """Has-answered rows, distinct submissions, answer rows, and counts per (question, option)."""
    with database.session() as session:
        respondents = session.exec(
            select(func.count())
            .select_from(SurveyRespondent)
            .where(SurveyRespondent.survey_id == survey_id)
        ).one()
        rows = session.exec(
            select(SurveyAnswer.response_id, SurveyAnswer.position, SurveyAnswer.choices).where(
                col(SurveyAnswer.survey_id) == survey_id
            )
        ).all()
    database.dispose()
    counts: Counter[tuple[int, int]] = Counter()
    for _, position, chosen in rows:
        for part in chosen.split(","):
            if part.isdigit():
                counts[(position, int(part))] += 1
    return int(respondents), len({row[0] for row in rows}), len(rows), dict(counts)


def _counter(database: Database, survey_id: int) -> Callable[[], int]:
    return lambda: respondents_now(database, survey_id)


def respondents_now(database: Database, survey_id: int) -> int:
    """Has-answered rows so far."""
    with database.session() as session:
        value = session.exec(
            select(func.count())
            .select_from(SurveyRespondent)
            .where(SurveyRespondent.survey_id == survey_id)
        ).one()
    return int(value)


# --- driving the officers -------------------------------------------------------------------


async def open_chats(client: SandboxClient, users: Sequence[int]) -> dict[int, int]:
    """Each user sends /surveys (untimed); the id of the bot's answer, pressed on later."""
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def one(user_id: int) -> None:
        async with connections:
            await client.send_text(user_id, "/surveys")

    await asyncio.gather(*(one(user_id) for user_id in users))
    messages: dict[int, int] = {}
    for user_id in users:
        events = await client.replies(user_id, count=1, timeout=120)
        messages[user_id] = events[-1].message_id
    return messages


def _first_question_token(events: Sequence[Any]) -> str | None:
    """The flow's token on the newest first question among these events, if any."""
    for event in reversed(events):
        for row in event.buttons:
            for button in row:
                data = SurveyFill.unpack(button.callback_data)
                if data is not None and data.step == 1 and data.action == "pick":
                    return data.flow
    return None


async def first_question(client: SandboxClient, user_id: int, until: float) -> str:
    """Wait for this officer's first question (until `until`, the monotonic clock); its token."""
    while time.monotonic() < until:
        events = await client.replies(user_id, count=1, timeout=until - time.monotonic())
        token = _first_question_token(events)
        if token is not None:
            return token
    raise BenchmarkError(f"officer {user_id} never saw the first question")


def _officers_hands(
    client: SandboxClient, messages: dict[int, int]
) -> tuple[
    Callable[[int, str], Coroutine[Any, Any, str]], Callable[[int, str], Coroutine[Any, Any, None]]
]:
    """How the officers press a button on their survey message and type, CLIENT_CONNECTIONS at
    a time."""
    connections = asyncio.Semaphore(CLIENT_CONNECTIONS)

    async def press(user_id: int, data: str) -> str:
        async with connections:
            return await client.press_data(user_id, messages[user_id], data)

    async def say(user_id: int, text: str) -> None:
        async with connections:
            await client.send_text(user_id, text)

    return press, say


async def answer_all(
    client: SandboxClient,
    messages: dict[int, int],
    survey_id: int,
    watch: Callable[[], int],
    activity: Callable[[], int],
) -> tuple[float, list[tuple[int, str, str]]]:
    """Every officer answers at once; seconds from the release to the last answer stored, and
    each officer's two 提交 presses (user, first, second)."""
    users = list(messages)
    press, say = _officers_hands(client, messages)
    fill = SurveyAction("fill", survey_id).pack()

    # What the last run left in the chats is read first: the first question is looked for after.
    for user_id in users:
        await client.quiet(user_id, 0)
    started = time.monotonic()
    await asyncio.gather(*(press(user_id, fill) for user_id in users))
    submits: list[tuple[int, str, str]] = []

    async def rest(user_id: int, flow: str) -> None:
        queries = await send_steps(press, say, user_id, flow)
        submits.append((user_id, queries[-2], queries[-1]))

    # The deadline only bounds a bot that trickles: slower than SLOWEST_PER_SECOND starts.
    until = time.monotonic() + STALL_SECONDS + len(users) / SLOWEST_PER_SECOND
    tasks = []
    for user_id in users:
        token = await first_question(client, user_id, until)
        tasks.append(asyncio.create_task(rest(user_id, token)))
    await asyncio.gather(*tasks)
    # Each officer's 提交 comes last, behind every other update: the bot is working while it
    # makes Bot API calls, and stalled only when it makes none and stores nothing.
    last, changed = (-1, -1), time.monotonic()
    while True:
        now_stored = await asyncio.to_thread(watch)
        if now_stored >= len(users):
            break
        seen = (now_stored, activity())
        if seen != last:
            last, changed = seen, time.monotonic()
        elif time.monotonic() - changed > STALL_SECONDS:
            break  # what is missing is lost
        await asyncio.sleep(POLL_SECONDS)
    return time.monotonic() - started, submits


async def send_steps(
    press: Callable[[int, str], Awaitable[str]],
    say: Callable[[int, str], Awaitable[None]],
    user_id: int,
    flow: str,
) -> list[str]:
    """Send this officer's steps one after another; the query ids of the presses."""
    queries = []
    for kind, value in steps(user_id, flow):
        if kind == PRESS:
            queries.append(await press(user_id, value))
        else:
            await say(user_id, value)
    return queries


def echo_calls(officers: int) -> Counter[str]:
    """The echo's Bot API calls for a run: per officer an answer and an edit for each press,
    a message for each text."""
    presses = 1 + sum(1 for kind, _ in steps(FIRST_USER_ID, "0") if kind == PRESS)
    texts = UPDATES_PER_OFFICER - presses
    return Counter({ANSWER: officers * presses, EDIT: officers * presses, SEND: officers * texts})


async def echo_answer_all(
    client: SandboxClient,
    messages: dict[int, int],
    survey_id: int,
    calls: Callable[[], list[ApiCall]],
) -> tuple[float, Counter[str]]:
    """The same updates through the echo: every officer presses 📝 开始填写 at once, waits for
    its answer and sends the steps; seconds from the release to the echo's last call, and the
    echo's calls by method. Raises BenchmarkError if the echo stalls or calls otherwise."""
    users = list(messages)
    press, say = _officers_hands(client, messages)
    fill = SurveyAction("fill", survey_id).pack()

    for user_id in users:
        await client.quiet(user_id, 0)
    first_call = len(calls())
    started = time.monotonic()
    await asyncio.gather(*(press(user_id, fill) for user_id in users))
    until = time.monotonic() + STALL_SECONDS + len(users) / SLOWEST_PER_SECOND
    tasks = []
    for user_id in users:
        # The echo's answer to 📝 开始填写 (an edit), as the bot's first question is waited for;
        # a flow token of the bot's shape, which the echo never reads.
        await client.replies(user_id, count=1, timeout=max(0.0, until - time.monotonic()))
        tasks.append(asyncio.create_task(send_steps(press, say, user_id, secrets.token_hex(4))))
    await asyncio.gather(*tasks)
    wanted = echo_calls(len(users))
    made, changed = -1, time.monotonic()
    while True:
        now = sum(1 for call in calls()[first_call:] if call.method != GET_UPDATES)
        if now >= wanted.total():
            break
        if now != made:
            made, changed = now, time.monotonic()
        elif time.monotonic() - changed > ECHO_STALL_SECONDS:
            raise BenchmarkError(
                f"the echo made {now} of {wanted.total()} Bot API calls and then none for "
                f"{ECHO_STALL_SECONDS:.0f} s"
            )
        await asyncio.sleep(0.1)
    # An echo that answers twice would have its extra calls arrive now.
    await asyncio.sleep(0.5)
    made_calls = [call for call in calls()[first_call:] if call.method != GET_UPDATES]
    by_method = Counter(call.method for call in made_calls)
    # Only the second 提交's edit may be refused (not modified), one an officer.
    refused = Counter(f"{call.method} {call.status}" for call in made_calls if call.status != 200)
    if by_method != wanted or refused - Counter({f"{EDIT} 400": len(users)}):
        raise BenchmarkError(
            f"the echo made the calls {dict(by_method)} (refused {dict(refused)}), wanted "
            f"{dict(wanted)}"
        )
    return max(call.time for call in made_calls) - started, by_method


async def double_presses_ok(client: SandboxClient, submits: Sequence[tuple[int, str, str]]) -> bool:
    """Each officer's two 提交: one stored (a plain answer), the other expired."""
    for _, first, second in submits:
        answers = [await client.callback_answer(q, timeout=ANSWER_WAIT) for q in (first, second)]
        if any(a is None for a in answers):
            return False
        words = sorted(str((a or {}).get("text") or "") for a in answers)
        if words != ["", "此按钮已失效"]:
            return False
    return True


async def results_time(client: SandboxClient, message_id: int, survey_id: int) -> float:
    """The organizer presses 📊 结果: seconds to the bot's results message."""
    data = SurveyAction("results", survey_id).pack()
    started = time.monotonic()
    await client.press_data(ORGANIZER_ID, message_id, data)
    [event] = await client.replies(ORGANIZER_ID, count=1, timeout=120)
    took = time.monotonic() - started
    if "填写人数" not in event.text:
        raise BenchmarkError(f"the organizer got {event.text[:80]!r}, not the results")
    return took


@dataclass
class EchoSide:
    """The echo bot under test: its process, its officers' client and messages, its calls."""

    process: BotProcess
    client: SandboxClient
    calls: Callable[[], list[ApiCall]]
    messages: dict[int, int] = field(default_factory=dict)


async def benchmark(
    args: argparse.Namespace, database_url: str | None, progress: Callable[[str], None]
) -> list[Run]:
    """Seed, start the bots, open the chats, then the runs."""
    from bot.sandbox import Sandbox, SandboxClient

    users = [FIRST_USER_ID + index for index in range(args.officers)]
    runs: list[Run] = []
    with bench_database(database_url) as database:
        seed_officers(database, users)
        seed_organizer(database)
        database.dispose()
        async with AsyncExitStack() as stack:
            sandbox = await stack.enter_async_context(Sandbox())
            client = await stack.enter_async_context(SandboxClient(sandbox.base_url, TOKEN))
            bot = await stack.enter_async_context(bot_process(sandbox.api_base_url, database.url))
            echo: EchoSide | None = None
            if args.echo:
                echo = EchoSide(
                    await stack.enter_async_context(
                        echo_process(ECHO, sandbox, database.url, args.echo_transport)
                    ),
                    await stack.enter_async_context(SandboxClient(sandbox.base_url, TOKENS[ECHO])),
                    lambda: sandbox.calls(TOKENS[ECHO]),
                )
            started = time.monotonic()
            await client.ensure_user({"id": ORGANIZER_ID, "first_name": "基准干事"})
            messages = await open_chats(client, users)
            organizer = (await open_chats(client, [ORGANIZER_ID]))[ORGANIZER_ID]
            if echo is not None:
                echo.messages = await open_chats(echo.client, users)
            progress(
                f"  {len(users)} officers sent /surveys in {time.monotonic() - started:.1f} s "
                f"(untimed{', to the echo too' if echo is not None else ''})"
            )
            try:
                await _runs(
                    args,
                    database,
                    client,
                    bot,
                    echo,
                    messages,
                    organizer,
                    users,
                    runs,
                    progress,
                    lambda: len(sandbox.calls(TOKEN)),
                )
            except BaseException as exc:
                # Reported here: stopping a bot still busy may fail and hide it otherwise.
                progress(f"  the run failed: {type(exc).__name__}: {exc}")
                raise
    return runs


async def echo_run(echo: EchoSide, survey_id: int) -> Answering:
    """The run's updates through the echo; its time and CPU."""
    cpu, harness = await echo.process.cpu_seconds(), time.process_time()
    seconds, calls = await echo_answer_all(echo.client, echo.messages, survey_id, echo.calls)
    cpu = await echo.process.cpu_seconds() - cpu
    harness = time.process_time() - harness
    return Answering(len(echo.messages) * UPDATES_PER_OFFICER, seconds, cpu, harness, calls)


async def _runs(
    args: argparse.Namespace,
    database: Database,
    client: SandboxClient,
    bot: BotProcess,
    echo: EchoSide | None,
    messages: dict[int, int],
    organizer: int,
    users: Sequence[int],
    runs: list[Run],
    progress: Callable[[str], None],
    activity: Callable[[], int],
) -> None:
    """The runs, one new survey each; the echo's too, alternating which goes first."""
    updates = len(users) * UPDATES_PER_OFFICER
    for number in range(1, args.runs + 1):
        survey_id = new_survey(database, number)
        echoed: Answering | None = None
        if echo is not None and number % 2 == 0:
            echoed = await echo_run(echo, survey_id)
        cpu, harness = await bot.cpu_seconds(), time.process_time()
        answering_s, submits = await answer_all(
            client, messages, survey_id, _counter(database, survey_id), activity
        )
        cpu = await bot.cpu_seconds() - cpu
        harness = time.process_time() - harness
        double_ok = await double_presses_ok(client, submits)
        respondents, responses, rows, counts = await asyncio.to_thread(stored, database, survey_id)
        results_s = await results_time(client, organizer, survey_id)
        if echo is not None and number % 2 == 1:
            echoed = await echo_run(echo, survey_id)
        run = Run(
            officers=len(users),
            stored=respondents,
            responses=responses,
            rows=rows,
            answering_s=answering_s,
            results_s=results_s,
            counts_exact=counts == expected_counts(users),
            double_press_ok=double_ok,
            cpu_seconds=cpu,
            harness_cpu_seconds=harness,
            echo=echoed,
        )
        runs.append(run)
        progress(
            f"  run {number}: answers stored {run.stored}, lost {run.lost}, duplicated "
            f"{run.duplicates}, counts {'exact' if run.counts_exact else 'WRONG'}, double "
            f"提交 {'stored once' if double_ok else 'WRONG'}; answering "
            f"{answering_s:.1f} s "
            f"({updates} updates, {updates / answering_s:.0f}/s, bot CPU {cpu:.1f} s = "
            f"{1000 * cpu / updates:.1f} ms an update, sandbox+officers {harness:.1f} s); results "
            f"{results_s:.3f} s"
        )
        if echoed is not None:
            calls = ", ".join(f"{method} {count}" for method, count in sorted(echoed.calls.items()))
            progress(
                f"  run {number} echo: answered in {echoed.seconds:.1f} s ({updates} updates, "
                f"{updates / echoed.seconds:.0f}/s, echo CPU {echoed.cpu_seconds:.1f} s = "
                f"{echoed.cpu_ms:.1f} ms an update, sandbox+officers "
                f"{echoed.harness_cpu_seconds:.1f} s; calls {calls})"
            )


# --- reporting ----------------------------------------------------------------------------


def _median(values: Sequence[float], digits: int) -> float | None:
    return round(statistics.median(values), digits) if values else None


def summary(args: argparse.Namespace, runs: Sequence[Run], backend: str) -> JSON:
    """The JSON line: the worst run's counts, the median results time and its range, the
    echo's answering time."""
    results = Spread.of([run.results_s for run in runs])
    answering = Spread.of([run.answering_s for run in runs])
    echoes = [run.echo for run in runs if run.echo is not None]
    echo = Spread.of([answering.seconds for answering in echoes]) if echoes else None
    updates = args.officers * UPDATES_PER_OFFICER
    return {
        "officers": args.officers,
        "answers": min(run.stored for run in runs),
        "lost": max(run.lost for run in runs),
        "duplicates": max(run.duplicates for run in runs),
        "results_s": round(results.median, 3),
        "answering_s": round(answering.median, 1),
        "echo_answering_s": round(echo.median, 1) if echo else None,
        "echo_answering_min_s": round(echo.low, 1) if echo else None,
        "echo_answering_max_s": round(echo.high, 1) if echo else None,
        "updates_per_officer": UPDATES_PER_OFFICER,
        "runs": len(runs),
        "results_min_s": round(results.low, 3),
        "results_max_s": round(results.high, 3),
        "cpu_ms_per_update": _median([1000 * run.cpu_seconds / updates for run in runs], 2),
        "echo_cpu_ms_per_update": _median([answering.cpu_ms for answering in echoes], 2),
        "counts_exact": all(run.counts_exact and run.double_press_ok for run in runs),
        "echo_transport": args.echo_transport if echoes else None,
        "database": backend,
    }


def report(args: argparse.Namespace, runs: Sequence[Run], backend: str, started: float) -> JSON:
    """The readable summary, then the one JSON line."""
    figures = summary(args, runs, backend)
    results = Spread.of([run.results_s for run in runs])
    answering = Spread.of([run.answering_s for run in runs])
    print(
        f"  {args.officers} officers, {len(runs)} runs: lost {figures['lost']} "
        f"({met_or_not(figures['lost'] == 0)}), duplicates {figures['duplicates']} "
        f"({met_or_not(figures['duplicates'] == 0)}); results {results.text(3)} s, target < "
        f"{TARGET_RESULTS_S:.0f} s ({met_or_not(results.median < TARGET_RESULTS_S)}); answering "
        f"{answering.text(1)} s, within a minute "
        f"({met_or_not(answering.median <= TARGET_ANSWERING_S)})"
    )
    echoes = [run.echo for run in runs if run.echo is not None]
    if echoes:
        echo = Spread.of([answering.seconds for answering in echoes])
        print(
            f"  echo (bare PTB, the same {UPDATES_PER_OFFICER} updates an officer): answered in "
            f"{echo.text(1)} s, within a minute ({met_or_not(echo.median <= TARGET_ANSWERING_S)})"
            f", CPU {figures['echo_cpu_ms_per_update']} ms an update against the bot's "
            f"{figures['cpu_ms_per_update']}; the bot took {answering.median / echo.median:.1f} "
            "times as long"
        )
    print(f"  took {time.monotonic() - started:.0f} s, load average now {load_average()}")
    print(json.dumps(figures), flush=True)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero on lost or duplicated answers."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.serve:
        return asyncio.run(serve(args.api_base_url, args.database_url))
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    print(
        f"NuanJing survey on {backend}, {os.cpu_count()} CPUs, load average {load_average()}: "
        f"{args.officers} bound officers answer a {len(QUESTIONS)}-question survey, "
        f"{args.runs} runs"
        f"{f', each also through the echo bot ({args.echo_transport})' if args.echo else ''}",
        flush=True,
    )
    started = time.monotonic()
    try:
        runs = asyncio.run(benchmark(args, database_url, lambda line: print(line, flush=True)))
    except (BenchmarkError, ProcessError) as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    figures = report(args, runs, backend, started)
    if figures["lost"] or figures["duplicates"] or not figures["counts_exact"]:
        print("bench: FAILED: answers lost, duplicated or counted wrong", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
