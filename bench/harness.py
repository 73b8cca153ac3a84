"""What bench/chaos.py and bench/instances.py share: officers filing care reports, an organizer.

Both seed bound officers and one organizer, run the real bot (``python -m bot run``) as child
processes against the local Bot API sandbox, and let asyncio tasks act like people: an officer
files a care report (/report → 住院 → 为本人 → hospital → ward → date → 跳过 → ✅ 提交), each
step once the bot's answer to the last one arrived; the organizer sends an announcement to
everyone. At the end, what everyone saw and what the database holds are compared with what
they did. This module holds the seeding, the people, how an answer is recognised, the child
processes, the reading of the database and the checks both verdicts make; each benchmark keeps
its own run, figures and summary.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from bot import texts
from bot.sandbox import Sandbox, SandboxClient
from storage import officers as officer_storage
from storage import roles as role_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    AppealReply,
    BindingMethod,
    BloodAppeal,
    Broadcast,
    BroadcastKind,
    CareCase,
    Delivery,
    DeliveryState,
    InboxUpdate,
    Officer,
    PendingReply,
    Role,
)

ZONE = ZoneInfo("Asia/Shanghai")
THINK_SECONDS = (0.3, 1.5)
EYES_TICK = 0.1  # how often the people look at their chats
PROGRESS_EVERY = 5.0
SETTLE_POLL = 0.5
STOP_SECONDS = 20.0
CLIENT_CONNECTIONS = 8
DEADLINE_SECONDS = 1800.0
SHOWN = 12  # problems listed by kind

NOTICE = "【工会通知】本周六上午九点在分局礼堂召开会员大会，请准时参加。"
CARD_RE = re.compile(r"🔔 慰问申报 #(\d+)")
# Answers to a press that mean it landed somewhere else than meant.
WRONG_ANSWERS = (texts.STALE_BUTTON, texts.NOT_ALLOWED, texts.APPEAL_NOT_ASKED)

JSON = dict[str, Any]
Wanted = Callable[[JSON], bool]
Seen = Callable[[list[JSON], int], bool]  # a chat's events and the index of the one looked at


class BenchmarkError(Exception):
    """The run could not be carried out (the bot never started, the harness failed)."""


class StopActing(Exception):
    """A person cannot go on (the answer was wrong, or the button is not there)."""


def clock() -> float:
    """Seconds on the sandbox's clock (it logs calls and events with time.monotonic)."""
    return time.monotonic()


def listed(problems: Sequence[str]) -> None:
    """Print the first SHOWN problems, indented, and how many more there were."""
    for problem in problems[:SHOWN]:
        print(f"    {problem}")
    if len(problems) > SHOWN:
        print(f"    … and {len(problems) - SHOWN} more")


def short(text: str, limit: int = 60) -> str:
    """The text on one line, cut to ``limit`` characters."""
    text = text.replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what the bot shows ---------------------------------------------------------------------


def text_of(event: JSON) -> str:
    """The text of the message as the event left it."""
    message = event.get("message") or {}
    return str(message.get("text") or message.get("caption") or "")


def buttons_of(event: JSON) -> list[str]:
    """The inline buttons of the message as the event left it."""
    markup = (event.get("message") or {}).get("reply_markup") or {}
    return [str(b.get("text", "")) for row in markup.get("inline_keyboard", []) for b in row]


def lead(template: str) -> str:
    """The fixed start of a text template, up to its first placeholder."""
    return template.split("{", 1)[0]


def message(*fragments: str, buttons: Sequence[str] = ()) -> Wanted:
    """A new message holding every fragment and button."""

    def wanted(event: JSON) -> bool:
        if event.get("kind") != "message":
            return False
        text, shown = text_of(event), buttons_of(event)
        return all(f in text for f in fragments) and all(b in shown for b in buttons)

    return wanted


def shown(message_id: int, *fragments: str, buttons: Sequence[str] = ()) -> Wanted:
    """The pressed message edited to hold the fragments (or, if it could not be, a new one)."""
    sent = message(*fragments, buttons=buttons)

    def wanted(event: JSON) -> bool:
        if event.get("kind") == "edit" and int(event.get("message_id", 0)) == message_id:
            text, present = text_of(event), buttons_of(event)
            return all(f in text for f in fragments) and all(b in present for b in buttons)
        return sent(event)

    return wanted


def is_notice(text: str) -> bool:
    """The announcement as delivered or previewed: the bot puts its header (📣 工会通知) above
    the organizer's text, so the text is found inside the message, not equal to it."""
    return NOTICE in text


# Messages the organizer gets besides the answers to its steps: the sender's reports, a card
# for every case filed, the monthly digest.
ORGANIZER_BACKGROUND = (
    lead(texts.BROADCAST_STARTING),
    lead(texts.BROADCAST_PROGRESS),
    lead(texts.BROADCAST_PROGRESS_UNCERTAIN),
    lead(texts.BROADCAST_SUMMARY),
    lead(texts.BROADCAST_SUMMARY_UNCERTAIN),
    lead(texts.BROADCAST_CANCELLED_SUMMARY),
    texts.UNREACHED_HEADER,
    texts.BROADCAST_UNCERTAIN_HEADER,
    lead(texts.CASE_CARD),
    lead(texts.DIGEST_TEXT),
)


# --- who is seeded --------------------------------------------------------------------------


@dataclass(frozen=True)
class Roster:
    """A benchmark's bot token, where its officers' ids begin, and its organizer."""

    token: str
    first_user_id: int
    first_police_id: int
    unit: str
    organizer_user_id: int
    organizer_police_id: str
    organizer_name: str


@dataclass(frozen=True)
class Plan:
    """One seeded officer: who they are and, if they act, what they will report."""

    index: int
    user_id: int
    police_id: str
    name: str
    acts: bool  # files a care report
    blocked: bool  # blocked the bot: the sandbox refuses sends to them
    donor: bool  # O-negative
    starts_after: float
    hospital: str
    ward: str
    admitted: date
    seed: int


def plan_officers(
    roster: Roster,
    count: int,
    spread: float,
    rng: random.Random,
    acting: Collection[int],
    blocked: Collection[int] = (),
    donors: Collection[int] = (),
) -> list[Plan]:
    """``count`` officers by index, each with a start within ``spread`` s and a report."""
    today = datetime.now(ZONE).date()
    plans = []
    for index in range(count):
        number = index + 1
        police_id = str(roster.first_police_id + index)
        plans.append(
            Plan(
                index=index,
                user_id=roster.first_user_id + index,
                police_id=police_id,
                name=f"警员{police_id}",
                acts=index in acting,
                blocked=index in blocked,
                donor=index in donors,
                starts_after=rng.uniform(0.0, spread),
                hospital=f"第{number}人民医院",
                ward=f"心内科{number}病区{number % 40 + 1}床",
                admitted=today - timedelta(days=1 + index % 300),
                seed=rng.randrange(1 << 30),
            )
        )
    return plans


def seed_database(database: Database, roster: Roster, plans: Sequence[Plan]) -> None:
    """Every officer bound to their simulated account, and one organizer."""
    people = [
        (
            plan.user_id,
            Officer(
                police_id=plan.police_id,
                name=plan.name,
                unit=roster.unit,
                phone=f"+86139{int(plan.police_id):08d}",
                birthday=date(1975 + plan.index % 25, 1 + plan.index % 12, 1 + plan.index % 28),
                blood_group="O" if plan.donor else "AB"[plan.index % 2],
                rh_negative=plan.donor,
                # No birthday or festival greeting may land in the middle of a dialog.
                greetings_opt_out=True,
            ),
        )
        for plan in plans
    ]
    organizer = Officer(
        police_id=roster.organizer_police_id,
        name=roster.organizer_name,
        unit="市局机关",
        phone=f"+86139{int(roster.organizer_police_id):08d}",
        birthday=date(1980, 6, 1),
        blood_group="AB",
        greetings_opt_out=True,
    )
    people.append((roster.organizer_user_id, organizer))
    with database.session() as session:
        for user_id, officer in people:
            officer_storage.bind(
                session,
                officer_storage.create(session, officer),
                telegram_user_id=user_id,
                chat_id=user_id,
                method=BindingMethod.IMPORT,
            )
        assert organizer.id is not None
        role_storage.grant(session, organizer.id, Role.ORGANIZER, granted_by="bench")
    # The bot processes open their own connections.
    database.dispose()


async def register_users(client: SandboxClient, roster: Roster, plans: Sequence[Plan]) -> None:
    """Make every officer and the organizer known to the sandbox."""
    people = [(plan.user_id, plan.name) for plan in plans]
    people.append((roster.organizer_user_id, roster.organizer_name))
    for user_id, name in people:
        await client.ensure_user({"id": user_id, "first_name": name, "language_code": "zh-hans"})


# --- the bot processes ----------------------------------------------------------------------

# Every child process still running, killed at exit whatever the way out.
_CHILDREN: set[int] = set()


@atexit.register
def _kill_children() -> None:
    """The last resort: no bot process outlives the benchmark."""
    for pid in list(_CHILDREN):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _CHILDREN.clear()


async def spawn_bot(
    env: dict[str, str],
    folder: Path,
    log: Path,
    banner: str,
    options: Sequence[str] = (),
    prefix: Sequence[str] = (),
) -> asyncio.subprocess.Process:
    """``python -m bot run`` in ``folder`` (so no stray .env is read), its output appended to
    ``log`` after a banner line; ``prefix`` goes before the command."""
    with log.open("ab") as output:
        output.write(f"=== {banner} ===\n".encode())
        output.flush()
        process = await asyncio.create_subprocess_exec(
            *prefix,
            sys.executable,
            "-m",
            "bot",
            "run",
            *options,
            env=env,
            cwd=folder,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    _CHILDREN.add(process.pid)
    return process


class BotProcess:
    """One bot child process (see spawn_bot): a SIGKILL, a clean stop, its exit code."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.started = clock()
        self.killed_at: float | None = None

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.process.returncode

    @property
    def killed(self) -> bool:
        """SIGKILLed by the benchmark."""
        return self.killed_at is not None

    async def wait(self) -> int:
        """Its exit code, once it has ended."""
        code = await self.process.wait()
        _CHILDREN.discard(self.process.pid)
        return code

    async def kill(self) -> int:
        """SIGKILL: nothing is cleaned up, as when the host dies; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            self.killed_at = clock()
        return await self.wait()

    async def stop(self) -> int:
        """SIGTERM (`nuanjing run` stops cleanly within 10 s), SIGKILL after STOP_SECONDS."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(self.process.wait()), STOP_SECONDS)
            except TimeoutError:
                return await self.kill()
        return await self.wait()


def last_lines(log: Path, count: int) -> list[str]:
    """The last lines of a bot's log."""
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines[-count:]]


def is_error(line: str) -> bool:
    """An ERROR or CRITICAL line of a bot's log, or a traceback."""
    return " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")


class CutOff(logging.Filter):
    """Counts, and keeps off stderr, the sandbox's tracebacks for requests a SIGKILL cut off.

    aiohttp logs "Error handling request" with ConnectionResetError when the bot dies while
    the sandbox reads a request's body; anything else still goes through.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """False (dropped, counted) for a connection lost mid-request."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ConnectionError):
            self.count += 1
            return False
        return True


# --- what the people see --------------------------------------------------------------------


@dataclass
class _Waiter:
    chat_id: int
    since: int
    seen: Seen
    future: asyncio.Future[tuple[int, JSON]]


class Eyes:
    """The people's view of their chats: the sandbox's record, looked at every EYES_TICK.

    One look serves every waiting person (the sandbox runs in this process), instead of one
    long poll per person that every reply of any chat would wake.
    """

    def __init__(self, sandbox: Sandbox, token: str) -> None:
        self.sandbox = sandbox
        self.token = token
        self._waiters: list[_Waiter] = []

    def events(self, chat_id: int) -> list[JSON]:
        """Everything the bot did in the chat so far."""
        return self.sandbox.events(self.token, chat_id)

    def count(self, chat_id: int) -> int:
        """How many events the chat has."""
        return len(self.events(chat_id))

    @property
    def waiting(self) -> int:
        """People (tasks) waiting for something to appear."""
        return sum(not waiter.future.done() for waiter in self._waiters)

    async def wait(self, chat_id: int, since: int, seen: Seen) -> tuple[int, JSON]:
        """The first event from index ``since`` on that ``seen`` takes; as long as it takes."""
        future: asyncio.Future[tuple[int, JSON]] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(chat_id, since, seen, future)
        self._waiters.append(waiter)
        try:
            self._look_at(waiter, self.events(chat_id))
            return await future
        finally:
            self._waiters.remove(waiter)

    def look(self) -> None:
        """Resolve every waiter whose event has arrived."""
        histories: dict[int, list[JSON]] = {}
        for waiter in list(self._waiters):
            if waiter.future.done():
                continue
            if waiter.chat_id not in histories:
                histories[waiter.chat_id] = self.events(waiter.chat_id)
            self._look_at(waiter, histories[waiter.chat_id])

    @staticmethod
    def _look_at(waiter: _Waiter, events: list[JSON]) -> None:
        if waiter.future.done():
            return
        for index in range(waiter.since, len(events)):
            if waiter.seen(events, index):
                waiter.future.set_result((index, events[index]))
                return
        waiter.since = len(events)

    async def run(self) -> None:
        """Look until cancelled."""
        while True:
            await asyncio.sleep(EYES_TICK)
            self.look()


# --- the people -----------------------------------------------------------------------------

Key = tuple[str, int, int]  # ("m", chat, message id) or ("q", query id, 0): an update's origin


@dataclass
class Input:
    """Something a person sent or pressed, and the answer to it."""

    step: str
    what: str
    sent_at: float
    key: Key | None = None
    query_id: str | None = None
    answered_at: float | None = None
    wrong: str | None = None  # a message that came instead of the answer (strict stages only)


class Person:
    """Someone talking to the bot through the sandbox, keeping track of what they did."""

    background: tuple[str, ...] = ()  # leads of messages that may come at any time

    def __init__(self, world: Stage, user_id: int, name: str, police_id: str, seed: int):
        self.world = world
        self.user_id = user_id
        self.name = name
        self.police_id = police_id
        self.rng = random.Random(seed)
        self.inputs: list[Input] = []
        self.notes: list[str] = []

    @property
    def user(self) -> JSON:
        """The Telegram user the sandbox sends as."""
        return {"id": self.user_id, "first_name": self.name, "language_code": "zh-hans"}

    def input(self, step: str) -> Input | None:
        """The input of this step, if it was made."""
        return next((made for made in self.inputs if made.step == step), None)

    async def think(self) -> None:
        """A person reads, then types or presses."""
        await asyncio.sleep(self.rng.uniform(*THINK_SECONDS))

    def benign(self, events: list[JSON], index: int) -> bool:
        """A message that may come while waiting for an answer: the announcement, a
        background message, or a repeat of one already received (a duplicate, counted as such)."""
        text = text_of(events[index])
        if is_notice(text) or any(text.startswith(b) for b in self.background):
            return True
        return any(
            event.get("kind") == "message" and text_of(event) == text for event in events[:index]
        )

    async def say(self, step: str, text: str, wanted: Wanted) -> JSON:
        """Send a text and wait for the bot's answer to it."""
        world = self.world
        since = world.eyes.count(self.user_id)
        async with world.connections:
            sent = await world.client.send_text(self.user, text)
        made = Input(step, text, clock(), key=("m", self.user_id, int(sent["message_id"])))
        self.inputs.append(made)
        world.last_input_at = made.sent_at
        return await self._answer(made, since, wanted)

    async def press(self, step: str, message_id: int, button: str, wanted: Wanted) -> JSON:
        """Press a button on one message and wait for the bot's answer to it."""
        world = self.world
        since = world.eyes.count(self.user_id)
        try:
            async with world.connections:
                query_id = await world.client.press(self.user, button, message_id=message_id)
        except AssertionError as exc:  # the sandbox's 404: no such button on that message
            self.notes.append(f"{step}: cannot press {button!r}: {str(exc)[:160]}")
            raise StopActing from None
        made = Input(step, f"[{button}]", clock(), key=("q", int(query_id), 0), query_id=query_id)
        self.inputs.append(made)
        world.last_input_at = made.sent_at
        return await self._answer(made, since, wanted)

    async def _answer(self, made: Input, since: int, wanted: Wanted) -> JSON:
        """The wanted answer, waited for as long as it takes. On a strict stage, a message
        that is neither it nor benign comes instead: the flow breaks (StopActing)."""
        strict = self.world.strict

        def seen(events: list[JSON], index: int) -> bool:
            event = events[index]
            if wanted(event):
                return True
            return strict and event.get("kind") == "message" and not self.benign(events, index)

        _index, event = await self.world.eyes.wait(self.user_id, since, seen)
        if not wanted(event):
            made.wrong = text_of(event)
            raise StopActing
        made.answered_at = clock()
        return event


class OfficerActor(Person):
    """An officer who acts: a care report for themselves."""

    def __init__(self, world: Stage, plan: Plan) -> None:
        super().__init__(world, plan.user_id, plan.name, plan.police_id, plan.seed)
        self.plan = plan

    async def report(self) -> None:
        """/report → 住院 → 为本人 → hospital → ward → date → 跳过 → ✅ 提交."""
        plan = self.plan
        await self.world.after_start(plan.starts_after)
        event_name = texts.CARE_EVENTS["hospitalization"]
        event = await self.say(
            "report", "/report", message(texts.CARE_ASK_EVENT, buttons=[event_name])
        )
        menu = int(event["message_id"])
        await self.think()
        asked = texts.CARE_ASK_WHO.format(event=event_name)
        event = await self.press(
            "event", menu, event_name, shown(menu, asked, buttons=[texts.CARE_FOR_SELF])
        )
        await self.think()
        await self.press(
            "who", int(event["message_id"]), texts.CARE_FOR_SELF, message(texts.CARE_ASK_HOSPITAL)
        )
        await self.think()
        await self.say("hospital", plan.hospital, message(texts.CARE_ASK_WARD))
        await self.think()
        await self.say("ward", plan.ward, message(texts.CARE_ASK_DATE["hospitalization"]))
        await self.think()
        event = await self.say(
            "date",
            plan.admitted.isoformat(),
            message(texts.CARE_ASK_NOTE, buttons=[texts.CARE_SKIP]),
        )
        await self.think()
        event = await self.press(
            "note",
            int(event["message_id"]),
            texts.CARE_SKIP,
            message(lead(texts.CARE_SUMMARY), buttons=[texts.CARE_SUBMIT]),
        )
        summary = text_of(event)
        for line in (
            texts.CARE_LINE_HOSPITAL.format(hospital=plan.hospital),
            texts.CARE_LINE_WARD.format(ward=plan.ward),
            plan.admitted.isoformat(),
        ):
            if line not in summary:
                self.notes.append(f"the summary lacks {line!r}: {short(summary, 120)!r}")
        await self.think()
        summary_id = int(event["message_id"])
        await self.press(
            "submit", summary_id, texts.CARE_SUBMIT, shown(summary_id, lead(texts.CARE_SUBMITTED))
        )


class OrganizerActor(Person):
    """The union's organizer: an announcement to everyone (/announce → 全体会员 → text → ✅)."""

    background = ORGANIZER_BACKGROUND

    def __init__(self, world: Stage, seed: int) -> None:
        roster = world.roster
        super().__init__(
            world, roster.organizer_user_id, roster.organizer_name, roster.organizer_police_id, seed
        )
        self.announce_preview = ""

    async def act(self) -> None:
        """The announcement, from the moment the officers begin."""
        await self.world.after_start(0.0)
        await self.announce()

    async def announce(self) -> None:
        """/announce → 全体会员 → the notice → ✅ 确认发送."""
        event = await self.say(
            "announce",
            "/announce",
            message(texts.ANNOUNCE_ASK_AUDIENCE, buttons=[texts.ANNOUNCE_EVERYONE_BUTTON]),
        )
        await self.think()
        menu = int(event["message_id"])
        await self.press(
            "audience",
            menu,
            texts.ANNOUNCE_EVERYONE_BUTTON,
            shown(menu, lead(texts.ANNOUNCE_ASK_TEXT)),
        )
        await self.think()
        event = await self.say(
            "notice",
            NOTICE,
            message(lead(texts.ANNOUNCE_PREVIEW), buttons=[texts.ANNOUNCE_CONFIRM_BUTTON]),
        )
        self.announce_preview = text_of(event)
        await self.think()
        preview = int(event["message_id"])
        await self.press(
            "announce-confirm",
            preview,
            texts.ANNOUNCE_CONFIRM_BUTTON,
            shown(preview, lead(texts.ANNOUNCE_CONFIRMED)),
        )


# --- the stage ------------------------------------------------------------------------------


@dataclass
class Outstanding:
    """What is still on its way somewhere."""

    sandbox_updates: int
    unhandled: int
    pending_replies: int
    waiting_deliveries: int
    sandbox_in_flight: int = 0  # sends the sandbox has not answered yet (chaos counts them)

    @property
    def none(self) -> bool:
        """Nothing at all."""
        return not (
            self.sandbox_updates
            or self.sandbox_in_flight
            or self.unhandled
            or self.pending_replies
            or self.waiting_deliveries
        )

    def text(self) -> str:
        """As the output says it."""
        return (
            f"{self.sandbox_updates} updates in the sandbox, {self.unhandled} unhandled in the "
            f"inbox, {self.pending_replies} pending replies, {self.waiting_deliveries} deliveries "
            "not final"
        )


class Stage:
    """The sandbox, the database and everyone acting; each benchmark adds its bot processes."""

    # True: a message other than the awaited answer (and not benign) breaks a person's flow
    # (bench/instances.py); False: they wait on, every message is judged at the end (chaos).
    strict = False
    officers: Sequence[OfficerActor]
    organizer: OrganizerActor

    def __init__(
        self,
        roster: Roster,
        database: Database,
        sandbox: Sandbox,
        client: SandboxClient,
        started: float,
    ) -> None:
        self.roster = roster
        self.database = database
        self.sandbox = sandbox
        self.client = client
        self.started = started
        self.connections = asyncio.Semaphore(CLIENT_CONNECTIONS)
        self.eyes = Eyes(sandbox, roster.token)
        self.activity_started: float | None = None
        self._activity = asyncio.Event()
        self.last_input_at = 0.0
        self.tasks: list[asyncio.Task[None]] = []
        self.harness_errors: list[str] = []

    def elapsed(self, at: float | None = None) -> float:
        """Seconds since the run began (until ``at``, if given)."""
        return (clock() if at is None else at) - self.started

    def say(self, line: str) -> None:
        """A progress line on stderr."""
        print(f"[{self.elapsed():6.1f} s] {line}", file=sys.stderr, flush=True)

    def begin(self, at: float) -> None:
        """The people may go: the bot takes updates since ``at``."""
        self.activity_started = at
        self._activity.set()

    async def began(self) -> None:
        """Wait until the people may go."""
        await self._activity.wait()

    async def after_start(self, seconds: float) -> None:
        """Wait until ``seconds`` after the people began."""
        await self._activity.wait()
        assert self.activity_started is not None
        delay = self.activity_started + seconds - clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def people(self) -> list[Person]:
        """Everyone who acts."""
        return [*self.officers, self.organizer]

    def inputs(self) -> list[Input]:
        """Everyone's inputs so far."""
        return [made for person in self.people() for made in person.inputs]

    def spawn(self) -> None:
        """Start every person's task (the officers' first, in order, then the organizer's)."""
        for officer in self.officers:
            self.tasks.append(asyncio.create_task(self.guard(officer, officer.report())))
        self.tasks.append(asyncio.create_task(self.guard(self.organizer, self.organizer.act())))

    async def guard(self, person: Person, work: Awaitable[None]) -> None:
        """Run a person's work; a harness error is noted, not raised."""
        try:
            await work
        except StopActing:
            pass
        except Exception as exc:
            self.harness_errors.append(f"{person.name}: {type(exc).__name__}: {exc}")

    def everyone_waits(self) -> bool:
        """Every person still acting waits for something to appear (or all are done)."""
        live = sum(not task.done() for task in self.tasks)
        return not live or live == self.eyes.waiting

    def sends_in_flight(self) -> int:
        """Sends the sandbox has not answered, as far as settling cares (none by default)."""
        return 0

    async def outstanding(self) -> Outstanding:
        """What is still on its way, in the sandbox and in the database."""
        in_flight = self.sends_in_flight()
        updates = int(self.sandbox.stats(self.roster.token)["pending_updates"])
        unhandled, replies, deliveries = await asyncio.to_thread(
            database_outstanding, self.database
        )
        return Outstanding(updates, unhandled, replies, deliveries, in_flight)

    async def announcement_progress(self) -> tuple[int, int]:
        """The announcement's deliveries sent so far and its total (0, 0 before it exists)."""
        found = await asyncio.to_thread(announcement_of, self.database)
        return (0, 0) if found is None else found[1:]

    def officers_line(self) -> str:
        """The officers' progress, as the progress lines say it."""
        started = sum(1 for officer in self.officers if officer.inputs)
        done = sum(1 for officer in self.officers if officer.input("submit"))
        return (
            f"officers {started}/{len(self.officers)} started, {done} submitted, "
            f"{self.eyes.waiting} waiting"
        )


# --- the database ---------------------------------------------------------------------------


def database_outstanding(database: Database) -> tuple[int, int, int]:
    """Unhandled updates, pending replies and deliveries not yet settled."""
    with database.session() as session:
        unhandled = session.exec(
            select(func.count())
            .select_from(InboxUpdate)
            .where(col(InboxUpdate.handled_at).is_(None))
        ).one()
        replies = session.exec(select(func.count()).select_from(PendingReply)).one()
        deliveries = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(col(Delivery.state).in_([DeliveryState.PENDING, DeliveryState.SENDING]))
        ).one()
    return int(unhandled), int(replies), int(deliveries)


def announcement_of(database: Database) -> tuple[int, int, int] | None:
    """The organizer's announcement: its id, deliveries sent, total (None before it exists).

    Found by its text: the bot's scheduled jobs (the organizers' monthly digest) queue
    broadcasts of the same kind.
    """
    with database.session() as session:
        found = session.exec(
            select(Broadcast.id, Broadcast.total).where(
                Broadcast.kind == BroadcastKind.ANNOUNCEMENT,
                col(Broadcast.text).contains(NOTICE),
            )
        ).first()
        if found is None or found[0] is None:
            return None
        sent = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.broadcast_id == found[0], Delivery.state == DeliveryState.SENT)
        ).one()
    return int(found[0]), int(sent), int(found[1])


@dataclass
class CaseRow:
    """A care case as the database holds it, the ward opened."""

    id: int
    officer_id: int
    reporter_id: int
    event: str
    event_date: date
    hospital: str
    ward: str


@dataclass
class DatabaseView:
    """What the database holds at the end."""

    officer_ids: dict[str, int]
    cases: list[CaseRow]
    appeal_replies: dict[int, str]
    appeals: int
    announcement: int | None
    deliveries: dict[int, Counter[str]]  # broadcast id: states
    broadcast_kinds: dict[int, str]
    delivery_state: dict[tuple[int, int], str]  # (broadcast id, officer id): state
    unhandled: int
    pending_replies: int


def read_database(database: Database, cipher: FieldCipher) -> DatabaseView:
    """Everything the verdicts need, in one session."""
    with database.session() as session:
        officer_ids = {
            str(police_id): int(officer_id)
            for officer_id, police_id in session.exec(select(Officer.id, Officer.police_id)).all()
            if officer_id is not None
        }
        cases = [
            CaseRow(
                int(case.id or 0),
                case.officer_id,
                case.reporter_id,
                case.event,
                case.event_date,
                case.hospital,
                cipher.decrypt(case.ward_cipher),
            )
            for case in session.exec(select(CareCase).order_by(col(CareCase.id))).all()
        ]
        replies = {
            reply.officer_id: reply.answer for reply in session.exec(select(AppealReply)).all()
        }
        appeals = len(session.exec(select(BloodAppeal.id)).all())
        broadcasts = session.exec(select(Broadcast)).all()
        kinds = {int(b.id or 0): str(b.kind) for b in broadcasts}
        announcement = next(
            (
                int(b.id or 0)
                for b in broadcasts
                if b.kind == BroadcastKind.ANNOUNCEMENT and NOTICE in b.text
            ),
            None,
        )
        deliveries: dict[int, Counter[str]] = {}
        states: dict[tuple[int, int], str] = {}
        for row in session.exec(select(Delivery)).all():
            deliveries.setdefault(row.broadcast_id, Counter())[str(row.state)] += 1
            states[(row.broadcast_id, row.officer_id)] = str(row.state)
        unhandled, pending, _waiting = database_outstanding(database)
    return DatabaseView(
        officer_ids,
        cases,
        replies,
        appeals,
        announcement,
        deliveries,
        kinds,
        states,
        unhandled,
        pending,
    )


# --- the checks both verdicts make ----------------------------------------------------------


def wrong_answer(answer: JSON) -> bool:
    """The bot's answer to a press says it landed somewhere else than meant."""
    return any(wrong in str(answer.get("text") or "") for wrong in WRONG_ANSWERS)


def arrived_since(history: list[JSON], moment: float) -> str:
    """What came to a chat from ``moment`` on, for a problem's line."""
    came = [
        f"{short(text_of(event), 24)!r} ({event.get('kind')})"
        for event in history
        if float(event.get("time", 0.0)) >= moment
    ]
    return ", ".join(came) or "nothing"


@dataclass(frozen=True)
class CaseFinding:
    """Something wrong with the care cases: ``what`` follows the officer's name, if any."""

    kind: str  # "lost": ✅ 提交 with no case; "wrong": a case not as typed; "stray": nobody's
    officer: OfficerActor | None
    what: str


def case_findings(view: DatabaseView, officers: Sequence[OfficerActor]) -> list[CaseFinding]:
    """The cases in the database against what each officer typed and submitted."""
    findings = []
    by_officer: dict[int, list[CaseRow]] = {}
    for case in view.cases:
        by_officer.setdefault(case.officer_id, []).append(case)
    for officer in officers:
        plan = officer.plan
        officer_id = view.officer_ids[plan.police_id]
        cases = by_officer.get(officer_id, [])
        submitted = officer.input("submit") is not None
        if submitted and not cases:
            findings.append(CaseFinding("lost", officer, "pressed ✅ 提交"))
        if not submitted and cases:
            what = f"never pressed ✅ 提交, yet case #{cases[0].id} was filed"
            findings.append(CaseFinding("wrong", officer, what))
        for extra in cases[1:]:
            findings.append(
                CaseFinding("wrong", officer, f"a second case #{extra.id} for one report")
            )
        for case in cases[:1]:
            wrong = [
                f"{name} {got!r} instead of {meant!r}"
                for name, got, meant in (
                    ("event", case.event, "hospitalization"),
                    ("hospital", case.hospital, plan.hospital),
                    ("ward", case.ward, plan.ward),
                    ("date", case.event_date, plan.admitted),
                    ("reporter", case.reporter_id, officer_id),
                )
                if got != meant
            ]
            if wrong:
                findings.append(
                    CaseFinding("wrong", officer, f"case #{case.id} has " + ", ".join(wrong))
                )
    acting = {view.officer_ids[officer.plan.police_id] for officer in officers}
    for officer_id, cases in by_officer.items():
        if officer_id not in acting:
            what = f"officer #{officer_id}: {len(cases)} case(s) nobody filed"
            findings.append(CaseFinding("stray", None, what))
    return findings


def cards_of(history: list[JSON]) -> Counter[str]:
    """The case cards a chat received, by case number."""
    return Counter(
        match.group(1)
        for event in history
        if event.get("kind") == "message"
        for match in [CARD_RE.match(text_of(event))]
        if match
    )


def announcement_lost(
    view: DatabaseView,
    organizer: OrganizerActor,
    histories: dict[int, list[JSON]],
    members: Iterable[tuple[str, str, int]],
) -> list[str]:
    """The announcement confirmed and never queued, or missing from a member's chat (name,
    police id, user id); the organizer's preview shows it too, so it must come twice there."""
    lost = []
    if organizer.input("announce-confirm") is not None and view.announcement is None:
        lost.append(f"{organizer.name}: confirmed the announcement, nothing was queued")
    if view.announcement is None:
        return lost
    for name, police_id, user_id in members:
        got = sum(
            1
            for event in histories[user_id]
            if event.get("kind") == "message" and is_notice(text_of(event))
        )
        if got < copies_meant(user_id == organizer.user_id, NOTICE):
            state = view.delivery_state.get(
                (view.announcement, view.officer_ids.get(police_id, -1)), "?"
            )
            lost.append(f"{name}: never received the announcement (delivery {state})")
    return lost


def copies_meant(organizer: bool, text: str) -> int:
    """How many copies of a message one person is meant to get (the preview is one)."""
    return 2 if organizer and is_notice(text) else 1


def arrivals(history: list[JSON]) -> dict[str, list[float]]:
    """Each message text a chat received, and when each copy arrived."""
    times: dict[str, list[float]] = {}
    for event in history:
        if event.get("kind") == "message":
            times.setdefault(text_of(event), []).append(float(event.get("time", 0.0)))
    return times
