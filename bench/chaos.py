"""Chaos: officers keep using the bot while it is SIGKILLed and restarted and the Bot API fails.

N bound officers and one organizer are seeded in a fresh database; the bot runs as
``python -m bot run`` in a child process against the local Bot API sandbox, which fails sends
at random (5xx, and answers held past the bot's read timeout) and refuses those of the officers
who blocked the bot. Every other officer is an asyncio task acting like a person: a care report
(/report → 住院 → 为本人 → hospital → ward → date → 跳过 → ✅ 提交), each step only once the
bot's answer to the last one arrived; the O-negative among them also answer an urgent blood
appeal with 我能去. The organizer sends an announcement to everyone and the appeal. Meanwhile
the bot is SIGKILLed at random (seeded) moments and started again. Once the last process has
drained everything, what every officer saw and what the database holds are compared with what
they did. The last line of stdout is JSON: officers, kills, lost, misfiled, duplicates_max,
unanswered, spinning_presses.

The sandbox and the officers share this process; the bot has one of its own, as in production.
Run from the repository root: ``python bench/chaos.py`` or ``python -m bench.chaos``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.broadcast import bot_environment
from bench.harness import (
    DEADLINE_SECONDS,
    EYES_TICK,
    JSON,
    ORGANIZER_BACKGROUND,
    PROGRESS_EVERY,
    SETTLE_POLL,
    SHOWN,
    ZONE,
    BenchmarkError,
    BotProcess,
    CutOff,
    DatabaseView,
    OfficerActor,
    OrganizerActor,
    Plan,
    Roster,
    Stage,
    announcement_lost,
    arrivals,
    arrived_since,
    cards_of,
    case_findings,
    clock,
    copies_meant,
    is_error,
    is_notice,
    last_lines,
    lead,
    listed,
    message,
    plan_officers,
    read_database,
    register_users,
    seed_database,
    short,
    shown,
    spawn_bot,
    text_of,
    wrong_answer,
)
from bench.updates import bench_database, met_or_not, positive, postgres_url
from bot import texts
from bot.sandbox import Sandbox, SandboxClient
from bot.sandbox.server import IN_PROGRESS
from storage import leases
from storage.crypto import FieldCipher
from storage.db import Database
from storage.types import utcnow

TOKEN = "730001:bench-chaos-bot"
ROSTER = Roster(
    token=TOKEN,
    first_user_id=840_000_001,
    first_police_id=500_001,
    unit="天元分局",
    organizer_user_id=840_000_000,
    organizer_police_id="400001",
    organizer_name="赵干事",
)

# Faults, set on the sandbox once everything is seeded (see --help).
ERROR_RATE = 0.10
TIMEOUT_RATE = 0.03
# Past the 5 s read timeout of the bot's replies (PTB's default; bot/inbox.py sets none). The
# broadcast sender waits 20 s (bot/broadcast.py), so to it such a send is a slow 504.
HANG_SECONDS = 8.0
BLOCKED_SHARE = 0.05
DONOR_SHARE = 0.10
MAX_DONORS = 100  # /appeal asks for 1–100 donors

# Pacing: officers start within --spread seconds and think between steps like people do.
SPREAD_SECONDS = 60.0
ANNOUNCE_AT = (0.15, 0.35)  # shares of --spread
APPEAL_AT = (0.45, 0.65)
# Kills: most after the process has polled for a random while, some during its start-up
# (while it waits for the lease, migrates, or makes the replies the last one left behind).
UPTIME_SECONDS = (1.0, 8.0)
STARTUP_KILL_SHARE = 0.25
STARTUP_KILL_SECONDS = (0.3, 2.5)

HOSPITAL, ADDRESS, CONTACT = "市中心医院", "长沙路1号", "张医生 13800000000"

POLL_CHECK = 0.1
START_SECONDS = 60.0  # a start must poll within this, lease wait included
# Starts in a row that end before polling (not refusals): the tree cannot run, give up.
MAX_FAILED_STARTS = 30
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

TARGETS = {"lost": 0, "misfiled": 0, "duplicates_max": 2, "unanswered": 0}


# --- the plan -------------------------------------------------------------------------------


def make_plans(officers: int, spread: float, seed: int) -> list[Plan]:
    """The officers of a run: a few blocked, some O-negative donors, start times spread out.

    Officers who blocked the bot do nothing (writing to it would unblock them).
    """
    rng = random.Random(seed)
    indices = list(range(officers))
    blocked = set(rng.sample(indices, round(officers * BLOCKED_SHARE)))
    active = [i for i in indices if i not in blocked]
    wanted = min(MAX_DONORS, max(1, round(officers * DONOR_SHARE)), len(active))
    donors = set(rng.sample(active, wanted))
    return plan_officers(ROSTER, officers, spread, rng, active, blocked, donors)


# --- the bot processes ----------------------------------------------------------------------


class BotRun(BotProcess):
    """One ``python -m bot run``, its output appended to the shared log."""

    def __init__(self, process: asyncio.subprocess.Process, number: int) -> None:
        super().__init__(process)
        self.number = number
        self.polling_at: float | None = None
        self.polling = asyncio.Event()
        self.first_call = 0  # the sandbox's call log from here on is this process's
        self.calls_seen = 0  # the sandbox's call log up to here was looked at

    @classmethod
    async def launch(cls, number: int, env: dict[str, str], folder: Path, log: Path) -> BotRun:
        """Start it in ``folder`` (so no stray .env is read)."""
        banner = f"bench/chaos: bot process #{number} starting"
        return cls(await spawn_bot(env, folder, log, banner), number)


@dataclass
class Kill:
    """One SIGKILL and the restart after it."""

    number: int
    at: float
    phase: str  # "start-up" or "polling"
    polled_for: float
    awaiting: int  # officers' inputs sent and not yet answered at that moment
    polling_again_at: float | None = None
    refusals: int = 0


# --- the people -----------------------------------------------------------------------------


class ChaosOfficer(OfficerActor):
    """An officer: a care report for themselves; an O-negative one also answers the appeal."""

    def __init__(self, world: Stage, plan: Plan) -> None:
        super().__init__(world, plan)
        self.appeal_seen = False

    async def answer_appeal(self) -> None:
        """Wait for the appeal, press 我能去, and expect the address."""
        appeal = message(lead(texts.APPEAL_TEXT), HOSPITAL, buttons=[texts.APPEAL_COMING_BUTTON])
        _index, event = await self.world.eyes.wait(
            self.user_id, 0, lambda events, index: appeal(events[index])
        )
        self.appeal_seen = True
        await self.think()
        go = texts.APPEAL_GO.format(hospital=HOSPITAL, address=ADDRESS, contact=CONTACT)
        await self.press(
            "appeal",
            int(event["message_id"]),
            texts.APPEAL_COMING_BUTTON,
            message(go.split("\n", 1)[0]),
        )


class Organizer(OrganizerActor):
    """The union's organizer: an announcement to everyone, then an urgent appeal."""

    def __init__(
        self, world: Stage, seed: int, announce_at: float, appeal_at: float, donors: int
    ) -> None:
        super().__init__(world, seed)
        self.announce_at = announce_at
        self.appeal_at = appeal_at
        self.donors = donors
        self.appeal_preview = ""

    async def act(self) -> None:
        """/announce to everyone at one moment, /appeal at a later one."""
        world = self.world
        await world.after_start(self.announce_at)
        await self.announce()
        await world.after_start(self.appeal_at)
        tomorrow = (datetime.now(ZONE).date() + timedelta(days=1)).isoformat()
        command = f"/appeal O- 血小板 {self.donors} {tomorrow} 08:00 {HOSPITAL}|{ADDRESS}|{CONTACT}"
        event = await self.say(
            "appeal",
            command,
            message(lead(texts.APPEAL_PREVIEW), buttons=[texts.APPEAL_CONFIRM_BUTTON]),
        )
        self.appeal_preview = text_of(event)
        await self.think()
        preview = int(event["message_id"])
        await self.press(
            "appeal-confirm",
            preview,
            texts.APPEAL_CONFIRM_BUTTON,
            shown(preview, texts.APPEAL_CONFIRMED),
        )


# --- the run --------------------------------------------------------------------------------


def lease_seconds_left(database: Database) -> float:
    """Seconds until the poller lease runs out (0 if free or expired)."""
    with database.session() as session:
        lease = leases.current(session, "poller")
    if lease is None:
        return 0.0
    expires = lease.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=utcnow().tzinfo)
    return max(0.0, (expires - utcnow()).total_seconds())


class World(Stage):
    """The sandbox, the database, the bot processes and everyone acting."""

    officers: list[ChaosOfficer]
    organizer: Organizer

    def __init__(
        self,
        args: argparse.Namespace,
        database: Database,
        sandbox: Sandbox,
        client: SandboxClient,
        env: dict[str, str],
        folder: Path,
        log: Path,
        plans: Sequence[Plan],
    ) -> None:
        super().__init__(ROSTER, database, sandbox, client, clock())
        self.wall_started = time.time()  # the same moment, as the bot's log writes times
        self.args = args
        self.env = env
        self.folder = folder
        self.log = log
        self.plans = list(plans)
        rng = random.Random(args.seed * 7919 + 17)
        self.officers = [ChaosOfficer(self, plan) for plan in plans if plan.acts]
        self.donors = [officer for officer in self.officers if officer.plan.donor]
        spread = args.spread
        self.organizer = Organizer(
            self,
            rng.randrange(1 << 30),
            rng.uniform(*ANNOUNCE_AT) * spread,
            rng.uniform(*APPEAL_AT) * spread,
            len(self.donors),
        )
        self.bot: BotRun | None = None
        self.runs: list[BotRun] = []
        self.kills: list[Kill] = []
        self.refusals = 0
        self.crashes = 0
        self.exits: list[tuple[float, str]] = []  # processes that ended on their own
        self.failed_starts = 0  # in a row, reset by a process that polls
        self.killer_done = False
        self._calls_seen = 0  # sandbox call log: every call before this one is answered

    # --- the bot ------------------------------------------------------------------------

    async def launch(self) -> BotRun:
        """Start a process; the watcher notes when it polls."""
        run = await BotRun.launch(len(self.runs) + 1, self.env, self.folder, self.log)
        run.first_call = run.calls_seen = len(self.sandbox.calls(TOKEN))
        self.runs.append(run)
        self.bot = run
        return run

    async def start_bot(self) -> BotRun:
        """Start a process and return once it polls; start again if it is refused or dies."""
        while True:
            run = await self.launch()
            if await self.until_polling(run):
                return run
            await self._on_exit(run)

    async def watch_polling(self) -> None:
        """Note the moment the current process first asks for updates (until cancelled)."""
        while True:
            await asyncio.sleep(POLL_CHECK)
            run = self.bot
            if run is None or run.polling.is_set() or run.returncode is not None:
                continue
            calls = self.sandbox.calls(TOKEN)
            if any(call.method == "getUpdates" for call in calls[run.calls_seen :]):
                run.polling_at = clock()
                run.polling.set()
                self._on_polling(run)
            run.calls_seen = len(calls)

    async def until_polling(self, run: BotRun) -> bool:
        """True once the process polls; False if it exited first."""
        polling = asyncio.ensure_future(run.polling.wait())
        exited = asyncio.ensure_future(run.wait())
        try:
            done, _pending = await asyncio.wait(
                {polling, exited}, timeout=START_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            polling.cancel()
            exited.cancel()
        if polling in done or run.polling.is_set():
            return True
        if exited in done:
            return False
        await run.kill()
        raise BenchmarkError(f"bot process #{run.number} did not poll within {START_SECONDS:.0f} s")

    async def lives_until(self, run: BotRun, moment: float) -> bool:
        """Wait until ``moment``; False if the process exited before."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(run.wait()), max(0.0, moment - clock()))
        return run.returncode is None

    def _on_polling(self, run: BotRun) -> None:
        assert run.polling_at is not None
        self.failed_starts = 0
        since_start = run.polling_at - run.started
        if self.activity_started is None:
            self.begin(run.polling_at)
            self.say(f"bot #{run.number} polling after {since_start:.1f} s; officers go")
            return
        kill = self.kills[-1] if self.kills else None
        if kill is not None and kill.polling_again_at is None:
            kill.polling_again_at = run.polling_at
            self.say(
                f"bot #{run.number} polling, {run.polling_at - kill.at:.1f} s after SIGKILL "
                f"#{kill.number} ({since_start:.1f} s after its start)"
            )
        else:
            self.say(f"bot #{run.number} polling after {since_start:.1f} s")

    async def _on_exit(self, run: BotRun) -> None:
        """A process ended on its own: refused by the lease (exit 2), or crashed."""
        code = run.returncode
        tail = last_lines(self.log, 3)
        if code == 2:
            self.refusals += 1
            if self.kills:
                self.kills[-1].refusals += 1
            wait = await asyncio.to_thread(lease_seconds_left, self.database)
            self.say(
                f"bot #{run.number} refused to start (exit 2): {tail[-1] if tail else ''}; "
                f"starting again in {wait + 0.1:.1f} s, when the lease runs out"
            )
            await asyncio.sleep(wait + 0.1)
        else:
            self.crashes += 1
            self.exits.append((clock(), f"bot #{run.number} exited {code}"))
            self.say(f"bot #{run.number} exited on its own with code {code}: {' | '.join(tail)}")
            if run.polling_at is None:
                self.failed_starts += 1
                if self.failed_starts >= MAX_FAILED_STARTS:
                    raise BenchmarkError(
                        f"{self.failed_starts} starts in a row ended before polling; last: "
                        + " | ".join(tail)
                    )
            await asyncio.sleep(0.5)

    async def kill_bot(self) -> None:
        """SIGKILL the current process and note the moment."""
        run = self.bot
        assert run is not None
        polling = run.polling_at is not None
        polled_for = clock() - run.polling_at if run.polling_at is not None else 0.0
        awaiting = sum(1 for made in self.inputs() if made.answered_at is None)
        await run.kill()
        number = len(self.kills) + 1
        where = f"polling for {polled_for:.1f} s" if polling else "during start-up"
        self.kills.append(
            Kill(number, clock(), "polling" if polling else "start-up", polled_for, awaiting)
        )
        self.say(
            f"SIGKILL #{number} of bot #{run.number} ({where}); "
            f"{awaiting} inputs awaiting an answer"
        )

    async def killer(self) -> None:
        """Kill at seeded random moments and start again at once, --kills times; then keep
        the last process running (restarting it should it end) until cancelled."""
        rng = random.Random(self.args.seed * 104729 + 3)
        await self.began()
        while len(self.kills) < self.args.kills:
            run = self.bot
            assert run is not None
            if not run.polling.is_set() and rng.random() < STARTUP_KILL_SHARE:
                moment = run.started + rng.uniform(*STARTUP_KILL_SECONDS)
            else:
                if not await self.until_polling(run):
                    await self._on_exit(run)
                    await self.launch()
                    continue
                moment = clock() + rng.uniform(*UPTIME_SECONDS)
            if not await self.lives_until(run, moment):
                await self._on_exit(run)
                await self.launch()
                continue
            await self.kill_bot()
            await self.launch()
        self.killer_done = True
        while True:
            run = self.bot
            assert run is not None
            if await self.until_polling(run):
                await run.wait()
                if run.killed:
                    continue
            await self._on_exit(run)
            await self.launch()

    # --- the officers ------------------------------------------------------------------

    def spawn(self) -> None:
        """Start every person's tasks: the reports, the organizer, the donors' answers."""
        super().spawn()
        for donor in self.donors:
            self.tasks.append(asyncio.create_task(self.guard(donor, donor.answer_appeal())))

    # --- settling -----------------------------------------------------------------------

    def sends_in_flight(self) -> int:
        """The current process's calls the sandbox has not answered yet.

        Calls of killed processes are left out: a request cut off while the sandbox read it
        stays "in progress" in its log for ever, and nothing a dead process asked can still
        reach an officer (a held send is answered 504 without being delivered).
        """
        calls = self.sandbox.calls(TOKEN)
        in_flight = 0
        first_open: int | None = None
        start = max(self._calls_seen, self.bot.first_call if self.bot is not None else 0)
        for index in range(start, len(calls)):
            call = calls[index]
            if call.status == IN_PROGRESS:
                if first_open is None:
                    first_open = index
                if call.method != "getUpdates":
                    in_flight += 1
        self._calls_seen = len(calls) if first_open is None else first_open
        return in_flight

    async def settle(self, deadline: float, killer: asyncio.Task[None]) -> bool:
        """Wait until the last process has drained everything and nobody can go on.

        True once nothing is on its way and every person still acting waits for an answer
        that, by then, can no longer come (or everyone is done); False at the deadline.
        """
        quiet_since: float | None = None
        while clock() < deadline:
            await asyncio.sleep(SETTLE_POLL)
            if killer.done():
                killer.result()  # its error, if it failed
                raise BenchmarkError("the killer stopped")
            run = self.bot
            if not self.killer_done or run is None or run.polling_at is None:
                quiet_since = None
                continue
            if run.returncode is not None:
                quiet_since = None
                continue
            if not self.everyone_waits():
                quiet_since = None
                continue
            if not (await self.outstanding()).none:
                quiet_since = None
                continue
            if quiet_since is None:
                quiet_since = clock()
                continue
            # Twice quiet, nobody sent anything in between, and the eyes have looked since.
            if self.last_input_at < quiet_since and clock() - quiet_since >= 2 * EYES_TICK:
                self.eyes.look()
                return True
        return False

    async def progress(self) -> None:
        """A progress line every few seconds."""
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            run = self.bot
            state = "down"
            if run is not None and run.returncode is None:
                state = "polling" if run.polling_at is not None else "starting"
            inputs = self.inputs()
            answered = sum(made.answered_at is not None for made in inputs)
            sent, total = await self.announcement_progress()
            announced = f"announcement {sent}/{total} sent" if total else "no announcement yet"
            number = run.number if run is not None else 0
            self.say(
                f"bot #{number} {state} | kills {len(self.kills)}/{self.args.kills} | "
                f"{self.officers_line()} | inputs {len(inputs)} sent, {answered} answered"
                f" | {announced}"
            )


# --- the verdict ----------------------------------------------------------------------------


@dataclass
class Verdict:
    """The figures, and the problems behind them."""

    lost: list[str] = field(default_factory=list)
    misfiled: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    spinning: list[str] = field(default_factory=list)  # presses whose button was never answered
    # copies, who, what, and when each copy arrived (seconds into the run)
    duplicates: list[tuple[int, str, str, list[float]]] = field(default_factory=list)
    duplicates_max: int = 0
    notes: list[str] = field(default_factory=list)


OFFICER_MESSAGES = (
    texts.CARE_ASK_EVENT,
    texts.CARE_ASK_HOSPITAL,
    texts.CARE_ASK_WARD,
    texts.CARE_ASK_DATE["hospitalization"],
    texts.CARE_ASK_NOTE,
    lead(texts.CARE_SUMMARY),
    lead(texts.CARE_SUBMITTED),
    lead(texts.CARE_ASK_WHO),
    lead(texts.APPEAL_TEXT),
    lead(texts.APPEAL_GO),
    lead(texts.APPEAL_STAND_DOWN),
    lead(texts.APPEAL_STILL_EXPECTED),
    lead(texts.APPEAL_CLOSED_NOTICE),
)
OFFICER_EDITS = (lead(texts.CARE_ASK_WHO), lead(texts.CARE_SUBMITTED))
ORGANIZER_MESSAGES = (
    texts.ANNOUNCE_ASK_AUDIENCE,
    lead(texts.ANNOUNCE_PREVIEW),
    lead(texts.ANNOUNCE_ASK_TEXT),
    lead(texts.ANNOUNCE_CONFIRMED),
    lead(texts.APPEAL_PREVIEW),
    lead(texts.APPEAL_TALLY),
    texts.APPEAL_CONFIRMED,
    *ORGANIZER_BACKGROUND,
)


async def judge(world: World, view: DatabaseView) -> Verdict:
    """Compare what everyone saw and what the database holds with what they did."""
    verdict = Verdict()
    eyes = world.eyes
    histories = {person.user_id: eyes.events(person.user_id) for person in world.people()}

    # Every press answered (the button stops spinning), and not as a stray.
    for person in world.people():
        for made in person.inputs:
            if made.query_id is None:
                continue
            answer = await world.client.callback_answer(made.query_id, timeout=0)
            if answer is None:
                # A bare button answer is not kept for after a crash (ARCHITECTURE.md): what
                # the press did, and the answer it awaited, are judged apart (lost, unanswered).
                verdict.spinning.append(
                    f"{person.name}: press {made.what} ({made.step}) at "
                    f"{made.sent_at - world.started:.1f} s"
                )
            elif wrong_answer(answer):
                verdict.misfiled.append(
                    f"{person.name}: press {made.what} ({made.step}) answered "
                    f"{answer.get('text')!r}"
                )

    # Inputs whose answer never came, with what the sandbox saw of the sends to that chat.
    calls = world.sandbox.calls(TOKEN)
    for person in world.people():
        for made in person.inputs:
            if made.answered_at is None:
                sends = [
                    f"{call.method} {call.status or 'cut off'} at {call.time - world.started:.1f} s"
                    for call in calls
                    if call.chat_id == person.user_id
                    and call.time >= made.sent_at
                    and call.method.startswith("send")
                ]
                verdict.unanswered.append(
                    f"{person.name}: {made.step} {short(made.what, 30)!r} sent at "
                    f"{made.sent_at - world.started:.1f} s, no answer; sends to the chat since: "
                    + (", ".join(sends) or "none")
                    + "; arrived since: "
                    + arrived_since(histories[person.user_id], made.sent_at)
                )
        verdict.notes.extend(f"{person.name}: {note}" for note in person.notes)

    # Care cases against what each officer typed.
    for finding in case_findings(view, world.officers):
        name = f"{finding.officer.name}: " if finding.officer else ""
        if finding.kind == "lost":
            verdict.lost.append(f"{name}{finding.what}, no case in the database")
        else:
            verdict.misfiled.append(name + finding.what)

    # The organizer hears of every case, once.
    organizer = world.organizer
    officers_by_id = {
        view.officer_ids[officer.plan.police_id]: officer for officer in world.officers
    }
    cards = cards_of(histories[organizer.user_id])
    for case in view.cases:
        if cards.get(str(case.id), 0) == 0:
            reporter = officers_by_id.get(case.officer_id)
            submit = reporter.input("submit") if reporter is not None else None
            when = f"{submit.sent_at - world.started:.1f} s" if submit else "?"
            verdict.lost.append(
                f"{organizer.name}: never told of case #{case.id} "
                f"({reporter.name if reporter else '?'} pressed ✅ 提交 at {when})"
            )

    # The announcement reaches everyone who has not blocked the bot.
    members = [(person.name, person.police_id, person.user_id) for person in world.people()]
    verdict.lost.extend(announcement_lost(view, organizer, histories, members))
    # The appeal reaches every donor, and 我能去 is recorded.
    appealed = organizer.input("appeal-confirm") is not None
    if appealed and view.appeals == 0:
        verdict.lost.append(f"{organizer.name}: confirmed the appeal, no appeal was recorded")
    if view.appeals:
        for donor in world.donors:
            if not donor.appeal_seen:
                verdict.lost.append(f"{donor.name}: never received the appeal")
    for donor in world.donors:
        pressed = donor.input("appeal") is not None
        recorded = view.appeal_replies.get(view.officer_ids[donor.plan.police_id])
        if pressed and recorded not in ("coming", "arrived"):
            verdict.lost.append(f"{donor.name}: pressed 我能去, recorded answer {recorded!r}")
    donor_ids = {view.officer_ids[donor.plan.police_id] for donor in world.donors}
    for officer_id, given in view.appeal_replies.items():
        if officer_id not in donor_ids:
            verdict.misfiled.append(f"officer #{officer_id}: appeal answer {given!r} unasked")

    # Every message must be one the dialogs call for; count identical copies.
    for person in world.people():
        history = histories[person.user_id]
        is_organizer = person is organizer
        allowed = ORGANIZER_MESSAGES if is_organizer else OFFICER_MESSAGES
        for event in history:
            text = text_of(event)
            kind = event.get("kind")
            if is_notice(text):
                continue
            if kind == "message" and not any(text.startswith(a) for a in allowed):
                verdict.misfiled.append(f"{person.name}: unexpected message {short(text)!r}")
            elif (
                kind == "edit"
                and not is_organizer
                and not any(text.startswith(a) for a in OFFICER_EDITS)
            ):
                verdict.misfiled.append(f"{person.name}: unexpected edit {short(text)!r}")
        for text, arrived in arrivals(history).items():
            # Copies beyond those meant, plus one: 1 is a message that came as often as meant.
            copies = len(arrived) - copies_meant(is_organizer, text) + 1
            verdict.duplicates_max = max(verdict.duplicates_max, copies)
            if copies > 1:
                moments = [moment - world.started for moment in arrived]
                verdict.duplicates.append((copies, person.name, text, moments))
    verdict.duplicates.sort(key=lambda item: -item[0])
    return verdict


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class Outcome:
    """A finished run."""

    backend: str
    world: World
    verdict: Verdict
    view: DatabaseView
    seconds: float
    settled: bool
    final_exit: int
    cut_off: int
    log: LogFacts
    faults: JSON


RECOVERY_RE = re.compile(r"making (\d+) replies left by the last run")
REHANDLE_RE = re.compile(r"handling (\d+) updates left by the last run")
# What the bot says when it gives something up (bot/inbox.py, bot/broadcast.py).
GIVE_UPS = {
    "replies given up after two timeouts": "timed out twice; it may have arrived",
    "replies given up after repeated errors": " given up: ",
    "broadcast deliveries left uncertain": "may have arrived; not sent again",
}


@dataclass
class LogFacts:
    """What the bot's log tells: errors, recovery work, things given up."""

    errors: list[str] = field(default_factory=list)
    recovered_replies: int = 0
    recovered_updates: int = 0
    given_up: Counter[str] = field(default_factory=Counter)
    given_up_lines: list[str] = field(default_factory=list)


def _run_time(line: str, wall_started: float) -> str:
    """The log line's moment as seconds into the run ("" if it has none)."""
    try:
        stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    except ValueError:
        return ""
    return f"at {stamp.timestamp() - wall_started:.1f} s: "


def read_log(log: Path, wall_started: float) -> LogFacts:
    """ERROR lines, the replies and updates the restarts took over, what was given up."""
    facts = LogFacts()
    if not log.exists():
        return facts
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if is_error(line):
            facts.errors.append(line.strip())
        if match := RECOVERY_RE.search(line):
            facts.recovered_replies += int(match.group(1))
        if match := REHANDLE_RE.search(line):
            facts.recovered_updates += int(match.group(1))
        for name, marker in GIVE_UPS.items():
            if marker in line:
                facts.given_up[name] += 1
                facts.given_up_lines.append(_run_time(line, wall_started) + line[24:].strip())
    return facts


async def chaos(args: argparse.Namespace, database: Database, backend: str) -> Outcome:
    """Seed, run the officers and the killer against the bot, settle, judge."""
    plans = make_plans(args.officers, args.spread, args.seed)
    seed_database(database, ROSTER, plans)
    cut_off = CutOff()
    logging.getLogger("aiohttp.server").addFilter(cut_off)
    key = FieldCipher.generate_key()
    with tempfile.TemporaryDirectory(prefix="nuanjing-chaos-") as folder_name:
        folder = Path(folder_name)
        log = args.bot_log or folder / "bot.log"
        async with (
            Sandbox(seed=args.seed) as sandbox,
            SandboxClient(sandbox.base_url, TOKEN) as client,
        ):
            await register_users(client, ROSTER, plans)
            faults = sandbox.configure(
                error_rate=args.error_rate,
                timeout_rate=args.timeout_rate,
                hang_seconds=args.hang_seconds,
                blocked_users=[plan.user_id for plan in plans if plan.blocked],
                seed=args.seed,
            )
            env = bot_environment(sandbox, database.url, folder, token=TOKEN, key=key)
            world = World(args, database, sandbox, client, env, folder, log, plans)
            blocked = sum(plan.blocked for plan in plans)
            world.say(
                f"{backend}: {len(plans)} officers ({blocked} blocked the bot, "
                f"{len(world.donors)} O-negative donors) and 1 organizer; faults: "
                f"{args.error_rate:.0%} 5xx, {args.timeout_rate:.0%} held {args.hang_seconds:g} s "
                f"then 504; {args.kills} kills; bot log {log}"
            )
            helpers = [
                asyncio.create_task(world.eyes.run()),
                asyncio.create_task(world.watch_polling()),
                asyncio.create_task(world.progress()),
            ]
            killer: asyncio.Task[None] | None = None
            settled = False
            final_exit = 0
            try:
                world.spawn()
                await world.start_bot()
                killer = asyncio.create_task(world.killer())
                settled = await world.settle(world.started + args.deadline, killer)
                state = "settled" if settled else "did NOT settle before the deadline"
                world.say(
                    f"{state}: {sum(not t.done() for t in world.tasks)} person tasks still "
                    "waiting; stopping the bot"
                )
            finally:
                for task in [*world.tasks, *helpers, *([killer] if killer else [])]:
                    task.cancel()
                await asyncio.gather(
                    *world.tasks, *helpers, *([killer] if killer else []), return_exceptions=True
                )
                if world.bot is not None:
                    final_exit = await world.bot.stop()
                for run in world.runs:
                    if run.returncode is None:
                        await run.kill()
            seconds = world.elapsed()
            view = await asyncio.to_thread(read_database, database, FieldCipher(key))
            verdict = await judge(world, view)
            facts = read_log(log, world.wall_started)
            problems = verdict.lost or verdict.misfiled or verdict.unanswered
            if args.bot_log is None and (facts.errors or problems or not settled):
                kept = Path(tempfile.gettempdir()) / f"nuanjing-chaos-{os.getpid()}.log"
                kept.write_bytes(log.read_bytes())
                verdict.notes.append(f"the bot's log is kept at {kept}")
    return Outcome(
        backend,
        world,
        verdict,
        view,
        seconds,
        settled,
        final_exit,
        cut_off.count,
        facts,
        faults,
    )


def figures(outcome: Outcome) -> JSON:
    """The JSON line's figures."""
    verdict = outcome.verdict
    return {
        "officers": len(outcome.world.plans),
        "kills": len(outcome.world.kills),
        "lost": len(verdict.lost),
        "misfiled": len(verdict.misfiled),
        "duplicates_max": verdict.duplicates_max,
        "unanswered": len(verdict.unanswered),
        "spinning_presses": len(verdict.spinning),
    }


def report(outcome: Outcome) -> None:
    """The readable summary, each target's verdict, then the one JSON line."""
    world, verdict, view = outcome.world, outcome.verdict, outcome.view
    numbers = figures(outcome)
    inputs = [made for person in world.people() for made in person.inputs]
    waits = sorted(
        made.answered_at - made.sent_at for made in inputs if made.answered_at is not None
    )
    print(f"NuanJing chaos on {outcome.backend}, {os.cpu_count()} CPUs, seed {world.args.seed}")
    print(
        f"  people      {len(world.plans)} officers ({sum(p.blocked for p in world.plans)} "
        f"blocked the bot), {len(world.donors)} donors, 1 organizer; "
        f"{len(inputs)} inputs made"
    )
    stats = world.sandbox.stats(TOKEN)
    print(
        f"  sandbox     {stats['calls']} Bot API calls, {stats['sends']} sends delivered, "
        f"{stats['faults']} answered 5xx (held ones included), {stats['forbidden']} refused 403; "
        f"{outcome.cut_off} requests cut off by a SIGKILL while the sandbox read them"
    )
    downtimes = [k.polling_again_at - k.at for k in world.kills if k.polling_again_at]
    phases = Counter(kill.phase for kill in world.kills)
    print(
        f"  kills       {len(world.kills)} SIGKILLs ({phases.get('polling', 0)} while polling, "
        f"{phases.get('start-up', 0)} during start-up), {len(world.runs)} processes started, "
        f"{world.refusals} refused by the lease, {world.crashes} exited on their own"
    )
    if downtimes:
        print(
            f"  restarts    polling again {min(downtimes):.1f}–{max(downtimes):.1f} s after a "
            f"kill (mean {sum(downtimes) / len(downtimes):.1f} s); the restarts made "
            f"{outcome.log.recovered_replies} replies and handled "
            f"{outcome.log.recovered_updates} updates left behind"
        )
    busy = [kill.awaiting for kill in world.kills]
    if busy:
        print(f"  at the kill officer inputs awaiting an answer: {busy}")
    if waits:
        p95 = waits[min(len(waits) - 1, int(0.95 * len(waits)))]
        print(
            f"  answers     median {waits[len(waits) // 2]:.2f} s, p95 {p95:.1f} s, "
            f"max {waits[-1]:.1f} s from an input to the answer awaited"
        )
    for broadcast_id, states in sorted(view.deliveries.items()):
        kind = f"{view.broadcast_kinds.get(broadcast_id, '?')} #{broadcast_id}"
        shown_states = ", ".join(f"{count} {state}" for state, count in states.most_common())
        print(f"  {kind:<11} deliveries: {shown_states}")
    print(f"  preview     {short(world.organizer.announce_preview, 70)!r}")
    print(f"  appeal      {short(world.organizer.appeal_preview.split(chr(10))[-1], 70)!r}")
    print(
        f"  database    {len(view.cases)} cases, {len(view.appeal_replies)} appeal answers; "
        f"left: {view.unhandled} unhandled updates, {view.pending_replies} pending replies"
    )
    print(
        f"  run         {outcome.seconds:.0f} s; "
        f"{'settled' if outcome.settled else 'did NOT settle'}; last process exited "
        f"{outcome.final_exit} on SIGTERM; {len(outcome.log.errors)} ERROR lines in the bot's log"
    )
    for line in outcome.log.errors[:5]:
        print(f"    log: {short(line, 150)}")
    given_up = ", ".join(f"{count} {name}" for name, count in outcome.log.given_up.items())
    print(f"  given up    (the bot's log) {given_up or 'nothing'}")
    for line in outcome.log.given_up_lines[:SHOWN]:
        print(f"    log: {short(line, 150)}")
    for name, problems in (
        ("lost", verdict.lost),
        ("misfiled", verdict.misfiled),
        ("unanswered", verdict.unanswered),
    ):
        target = TARGETS[name]
        print(
            f"  {name:<11} {len(problems)}; target {target} ({met_or_not(len(problems) <= target)})"
        )
        listed(problems)
    print(
        f"  spinning    {len(verdict.spinning)} presses never answered (the button kept "
        "spinning; not counted as lost)"
    )
    listed(verdict.spinning)
    histogram = Counter(copies for copies, _who, _text, _moments in verdict.duplicates)
    print(
        f"  duplicates_max {verdict.duplicates_max}; target <= {TARGETS['duplicates_max']} "
        f"({met_or_not(verdict.duplicates_max <= TARGETS['duplicates_max'])}); "
        f"{len(verdict.duplicates)} messages came more than once "
        f"({', '.join(f'{n}× {c}' for c, n in sorted(histogram.items())) or 'none'})"
    )
    ends = [(kill.at, f"SIGKILL #{kill.number}") for kill in world.kills] + world.exits
    for copies, who, text, moments in verdict.duplicates[:SHOWN]:
        kills = [
            f"{what} at {at - world.started:.1f} s"
            for at, what in sorted(ends)
            if moments[0] - 1.0 <= at - world.started <= moments[-1]
        ]
        print(
            f"    {who}: {copies} copies of {short(text, 40)!r} at "
            f"{', '.join(f'{m:.1f}' for m in moments)} s"
            + (f" ({', '.join(kills)})" if kills else "")
        )
    for note in verdict.notes[:SHOWN]:
        print(f"  note        {note}")
    for error in world.harness_errors[:SHOWN]:
        print(f"  harness     {error}")
    met = all(numbers[name] <= target for name, target in TARGETS.items())
    print(
        f"chaos on {outcome.backend}: {numbers['officers']} officers, {numbers['kills']} kills in "
        f"{outcome.seconds:.0f} s: lost {numbers['lost']}, misfiled {numbers['misfiled']}, "
        f"duplicates_max {numbers['duplicates_max']}, unanswered {numbers['unanswered']} "
        f"(targets {'met' if met else 'NOT met'})"
    )
    print(json.dumps(numbers), flush=True)


# --- arguments ------------------------------------------------------------------------------


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {number}")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {value}")
    return number


DESCRIPTION = """\
Chaos benchmark: N officers and one organizer use the real NuanJing bot (python -m bot run, in
a child process) through the local Bot API sandbox while the sandbox fails sends and the bot is
SIGKILLed and restarted at random moments. Then what every officer saw and what the database
holds are compared with what they did. The last line of output is JSON with officers, kills,
lost, misfiled, duplicates_max, unanswered and spinning_presses.

What happens: N officers are seeded bound (5 % of them blocked the bot: the sandbox answers
their sends 403; they never write), 10 % of them O-negative (at most 100), plus an organizer.
Once the first process polls, each officer who has not blocked the bot starts, at a random
moment within --spread seconds, a care report: /report → 住院 → 为本人 → hospital → ward →
date → 跳过 → ✅ 提交, each step a little after the bot's answer to the last arrived (they wait
as long as it takes, the bot being down or not), with a hospital, ward and date of their own.
The organizer sends an announcement to everyone (/announce → 全体会员 → text → ✅ 确认发送) and
later an urgent appeal (/appeal O- 血小板 …, as many donors needed as there are O-negative
officers); each donor who receives it presses 🙋 我能去 and expects the address. Faults on the
sandbox's sends (sendMessage and the like; edits, button answers and getUpdates are not
faulted): --error-rate answered 500/502, --timeout-rate held --hang-seconds and then answered
504 without delivering (past the bot's 5 s read timeout for replies; the broadcast sender waits
20 s, so to it this is a slow 504). A killer SIGKILLs the bot --kills times at seeded random
moments (a quarter of them during a start-up, the rest after 1-8 s of polling) and starts it
again at once; a start the poller lease refuses (exit 2) is tried again when the lease runs
out. After the last kill the process runs until nothing is on its way: the sandbox holds no
update and no unanswered send, the database no unhandled update, pending reply or unsettled
delivery, and everyone still acting waits for an answer.
"""

EPILOG = f"""\
figures:
  officers        officers seeded (the organizer not counted)
  kills           SIGKILLs delivered to a live bot process
  lost            effects missing at the end: a report that reached ✅ 提交 with no case in
                  the database; a 我能去 with no recorded answer; a filed case never shown
                  to the organizer; a non-blocked officer (or the organizer) without the
                  announcement; a donor without the appeal
  misfiled        cases whose event, hospital, ward (decrypted), date or reporter differ from
                  what the officer typed, extra cases for one report, appeal answers nobody
                  gave; presses answered "此按钮已失效" or similar; any message the dialogs
                  do not call for (e.g. a date error after a ward)
  duplicates_max  the most copies of one identical message one person received (the
                  organizer's announcement counts from its second copy: the preview shows it)
  unanswered      inputs whose awaited answer never came by the end
  (then)          spinning_presses: presses whose button the bot never answered, though what
                  they did was done and their awaited answer came: the bot keeps no bare
                  button answer for after a crash (ARCHITECTURE.md); not counted as lost

targets: lost {TARGETS["lost"]}, misfiled {TARGETS["misfiled"]}, duplicates_max <= \
{TARGETS["duplicates_max"]}, unanswered {TARGETS["unanswered"]}. Whether each was met is
printed; a missed target does not change the exit code (this is a measurement).

exit codes: 0 measured; 1 the run could not be carried out (the bot never polled, it did not
settle before --deadline, a harness error); 2 bad usage.
"""


def _percent(shares: tuple[float, float]) -> str:
    """A range of shares as argparse help shows it (a bare % would be a format character)."""
    return f"{100 * shares[0]:.0f}-{100 * shares[1]:.0f} %%"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--officers",
        type=positive,
        default=300,
        metavar="N",
        help="officers seeded, bound (default: 300)",
    )
    parser.add_argument(
        "--kills",
        type=_non_negative,
        default=10,
        metavar="K",
        help="SIGKILLs of the bot, each followed by a restart (default: 10)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help="seed of who is blocked or a donor, start times, think times, the kill moments "
        "and the sandbox's faults (default: 1); timings still vary from run to run",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to "
        "run on a fresh schema there (dropped afterwards); default: a temporary SQLite file",
    )
    parser.add_argument(
        "--spread",
        type=_seconds,
        default=SPREAD_SECONDS,
        metavar="SECONDS",
        help="officers start their reports within this many seconds of the first poll; the "
        f"organizer announces at {_percent(ANNOUNCE_AT)} and appeals at "
        f"{_percent(APPEAL_AT)} of it (default: {SPREAD_SECONDS:g})",
    )
    parser.add_argument(
        "--error-rate",
        type=_share,
        default=ERROR_RATE,
        metavar="P",
        help=f"share of sends answered 500/502 (default: {ERROR_RATE:g})",
    )
    parser.add_argument(
        "--timeout-rate",
        type=_share,
        default=TIMEOUT_RATE,
        metavar="P",
        help=f"share of sends held --hang-seconds, then answered 504 (default: {TIMEOUT_RATE:g})",
    )
    parser.add_argument(
        "--hang-seconds",
        type=_seconds,
        default=HANG_SECONDS,
        metavar="SECONDS",
        help=f"how long such a send is held (default: {HANG_SECONDS:g}; the bot gives a reply "
        "5 s and a broadcast send 20 s)",
    )
    parser.add_argument(
        "--deadline",
        type=_seconds,
        default=DEADLINE_SECONDS,
        metavar="SECONDS",
        help=f"give up if the run has not settled after this long (default: {DEADLINE_SECONDS:g})",
    )
    parser.add_argument(
        "--bot-log",
        type=Path,
        metavar="FILE",
        help="append the bot processes' output to FILE (default: a temporary file, kept and "
        "named at the end if it holds errors)",
    )
    return parser.parse_args(argv)


async def benchmark(args: argparse.Namespace, database_url: str | None) -> Outcome:
    """Run once on a fresh database."""
    backend = "PostgreSQL" if database_url else "SQLite"
    with bench_database(database_url) as database:
        return await chaos(args, database, backend)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the run could not be carried out."""
    args = parse_args(argv)
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        outcome = asyncio.run(benchmark(args, database_url))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    report(outcome)
    if not outcome.settled or outcome.world.harness_errors:
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
