"""Several instances in webhook mode on PostgreSQL behind a round-robin proxy; the leader killed.

``--instances`` copies of ``python -m bot run`` share one PostgreSQL database and one webhook
URL: a tiny round-robin reverse proxy in this process, in front of their HTTP listeners, as a
load balancer would be. The local Bot API sandbox (also in this process) POSTs every update to
the proxy, each chat's in order, the next only once the previous was answered 2xx; the proxy
sends each POST to the next instance, and on to the one after if that one refuses the
connection or answers 5xx (502 if none answers: the sandbox then retries, as Telegram does).

``--audience`` bound officers and one organizer are seeded. ``--officers`` of them each file a
care report (/report → 住院 → 为本人 → hospital → ward → date → 跳过 → ✅ 提交), each step once
the bot's answer to the last one arrived, so consecutive steps of one officer land on different
instances; the organizer sends an announcement to everyone, which the leader's broadcast sender
delivers. Half-way (half the announcement sent and half the officers' steps answered) the
leader, found through the instances' /healthz, is SIGKILLed; takeover_s is the time until
another instance's /healthz says it leads (all on this host, a dead leader's lease is taken over
at once; with ``--hosts`` each instance has a host name of its own and the lease runs out first,
as between machines). Once everything has settled, what everyone saw and what the database
holds are compared with what they did. The last line of stdout is JSON: instances, updates,
lost, duplicates, broken_flows, takeover_s (and more keys after them).

Run from the repository root: ``python bench/instances.py`` or ``python -m bench.instances``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlmodel import col, select

from bench.broadcast import bot_environment
from bench.harness import (
    CARD_RE,
    DEADLINE_SECONDS,
    JSON,
    PROGRESS_EVERY,
    SETTLE_POLL,
    SHOWN,
    BenchmarkError,
    BotProcess,
    CutOff,
    DatabaseView,
    Input,
    Key,
    OfficerActor,
    OrganizerActor,
    Outstanding,
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
    listed,
    plan_officers,
    read_database,
    register_users,
    seed_database,
    short,
    spawn_bot,
    text_of,
    wrong_answer,
)
from bench.updates import bench_database, met_or_not, positive, postgres_url
from bot.app import SENDER_IN_FLIGHT
from bot.sandbox import Sandbox, SandboxClient
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import InboxUpdate

TOKEN = "740001:bench-instances-bot"
ROSTER = Roster(
    token=TOKEN,
    first_user_id=850_000_001,
    first_police_id=600_001,
    unit="荷塘分局",
    organizer_user_id=850_000_000,
    organizer_police_id="410001",
    organizer_name="钱干事",
)
HOOK_PATH = "/tg/hook"
SECRET = "bench-instances-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEST_DATABASE_ENV = "NUANJING_TEST_DATABASE_URL"
# sh -c SCRIPT HOSTNAME COMMAND...: set the (namespace's) host name, then become the command.
HOSTNAME_SCRIPT = 'hostname "$0" && exec "$@"'

# The announcement goes out at this rate (NUANJING_BROADCAST_RATE); the officers start their
# reports within as many seconds as it takes, and the organizer's four steps before the
# confirmation take about half a report: so half the announcement is out at about the moment
# half the officers' steps are answered, which is when the leader is killed.
BROADCAST_RATE = 25
MIN_SPREAD_SECONDS = 3.0
STEPS = ("report", "event", "who", "hospital", "ward", "date", "note", "submit")
HALF = 0.5

KILL_POLL = 0.25
HEALTH_SECONDS = 2.0  # a /healthz answer, at most
HEALTH_POLL = 0.1  # between looks at the survivors' /healthz after the kill
START_SECONDS = 90.0  # an instance must accept webhook updates within this
LEADER_SECONDS = 30.0  # the leader must be known within this, before the kill
TAKEOVER_LIMIT = 120.0  # give up waiting for another leader after this
FORWARD_SECONDS = 25.0  # one proxied POST (the sandbox gives a POST 30 s)
CONNECT_SECONDS = 2.0
QUIET_SECONDS = 1.0  # nothing on its way for this long: settled
STALL_SECONDS = 90.0  # nothing changed for this long, something still on its way: stalled
LOG_TAIL = 3
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


SQLITE_REFUSED = (
    "bench: webhook multi-instance is PostgreSQL only; give a PostgreSQL --database-url."
)
NO_DATABASE = (
    f"bench: no PostgreSQL to run on: give --database-url or set {TEST_DATABASE_ENV} "
    "(webhook multi-instance is PostgreSQL only)."
)


# --- the plan -------------------------------------------------------------------------------


def make_plans(audience: int, officers: int, spread: float, seed: int) -> list[Plan]:
    """The audience; ``officers`` of them, picked by the seed, file a report."""
    rng = random.Random(seed)
    flowing = set(rng.sample(range(audience), officers))
    return plan_officers(ROSTER, audience, spread, rng, flowing)


# --- the instances --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on loopback now (the instance binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Instance:
    """One ``python -m bot run`` on its own port; started again on the same port if asked."""

    def __init__(
        self,
        number: int,
        port: int,
        env: dict[str, str],
        folder: Path,
        log: Path,
        hostname: str | None = None,
    ) -> None:
        self.number = number
        self.hostname = hostname
        self.port = port
        self.env = env
        self.folder = folder
        self.log = log
        self.runs: list[BotProcess] = []  # one per start
        self.ready_at: float | None = None  # first /healthz accepting updates, this start

    @property
    def name(self) -> str:
        """#N, as the output names instances."""
        return f"#{self.number}"

    @property
    def health_url(self) -> str:
        """Its /healthz."""
        return f"http://127.0.0.1:{self.port}/healthz"

    @property
    def hook_url(self) -> str:
        """Its webhook, where the proxy forwards."""
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    @property
    def current(self) -> BotProcess | None:
        """The process of its last start (None before the first)."""
        return self.runs[-1] if self.runs else None

    @property
    def alive(self) -> bool:
        """Started and not ended."""
        return self.current is not None and self.current.returncode is None

    @property
    def started_at(self) -> float:
        """When it was last started."""
        return self.current.started if self.current else 0.0

    @property
    def killed_at(self) -> float | None:
        """When its last start was SIGKILLed (None if it was not)."""
        return self.current.killed_at if self.current else None

    @property
    def pids(self) -> list[int]:
        """Its process ids, one per start."""
        return [run.pid for run in self.runs]

    @property
    def exits(self) -> list[int]:
        """The exit codes of its starts that ended."""
        return [run.returncode for run in self.runs if run.returncode is not None]

    async def start(self, standby: bool = False) -> None:
        """Start it in the shared folder (so no stray .env is read), output to its own log."""
        self.ready_at = None
        prefix: list[str] = []
        if self.hostname is not None:
            # A UTS namespace of its own: the same PID, under a host name of its own.
            prefix = ["unshare", "--uts", "--", "sh", "-c", HOSTNAME_SCRIPT, self.hostname]
        banner = f"bench/instances: instance {self.name} start {len(self.runs) + 1}"
        options = ["--standby"] if standby else []
        process = await spawn_bot(self.env, self.folder, self.log, banner, options, prefix)
        self.runs.append(BotProcess(process))

    async def kill(self) -> None:
        """SIGKILL: nothing is cleaned up, as when the host dies."""
        if self.current is not None:
            await self.current.kill()

    async def stop(self) -> int | None:
        """SIGTERM (a clean stop within 10 s), SIGKILL after a while; the exit code."""
        return None if self.current is None else await self.current.stop()

    def tail(self, count: int = LOG_TAIL) -> list[str]:
        """Its log's last lines."""
        return last_lines(self.log, count)


def instance_environment(base: dict[str, str], proxy_url: str, port: int) -> dict[str, str]:
    """The settings of one instance: the shared database, webhook and secret, its own port."""
    return {
        **base,
        "NUANJING_WEBHOOK_URL": proxy_url,
        "NUANJING_WEBHOOK_SECRET": SECRET,
        "NUANJING_HTTP_LISTEN": f"127.0.0.1:{port}",
    }


async def health(session: aiohttp.ClientSession, instance: Instance) -> JSON | None:
    """Its /healthz JSON, or None if it does not answer 200."""
    if not instance.alive:
        return None
    try:
        timeout = aiohttp.ClientTimeout(total=HEALTH_SECONDS)
        async with session.get(instance.health_url, timeout=timeout) as response:
            if response.status != 200:
                return None
            data: JSON = await response.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    return data


def leads(data: JSON | None) -> bool:
    """The /healthz says this instance leads."""
    return bool(((data or {}).get("leader") or {}).get("this_instance"))


def accepting(data: JSON | None) -> bool:
    """The /healthz says this instance takes webhook updates."""
    return bool((data or {}).get("accepting_updates"))


# --- the proxy ------------------------------------------------------------------------------


@dataclass
class Route:
    """One update as the proxy passed it on: where it came from, each attempt."""

    update_id: int
    key: Key | None
    user_id: int | None
    attempts: list[tuple[int, str, float]] = field(default_factory=list)  # instance, outcome, at

    @property
    def taken_by(self) -> int | None:
        """The instance that answered it 2xx last (None if none did)."""
        for number, outcome, _at in reversed(self.attempts):
            if outcome.startswith("2"):
                return number
        return None


def origin(update: JSON) -> tuple[Key | None, int | None]:
    """The update's origin key (as the person's Input holds it) and its sender."""
    if isinstance(update.get("message"), dict):
        sent = update["message"]
        chat = int((sent.get("chat") or {}).get("id", 0))
        sender = (sent.get("from") or {}).get("id")
        return ("m", chat, int(sent.get("message_id", 0))), None if sender is None else int(sender)
    if isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        sender = (query.get("from") or {}).get("id")
        return ("q", int(query.get("id", 0)), 0), None if sender is None else int(sender)
    return None, None


class Proxy:
    """A round-robin reverse proxy for the webhook, as a load balancer in front of instances."""

    def __init__(self, instances: Sequence[Instance], started: float) -> None:
        self.instances = list(instances)
        self.started = started
        self.routes: dict[int, Route] = {}
        self.by_key: dict[Key, int] = {}
        self.posts = 0
        self.moved = 0  # attempts beyond the first
        self.refused_all = 0  # POSTs answered 502: no instance took it
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The webhook URL every instance sets."""
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        timeout = aiohttp.ClientTimeout(total=FORWARD_SECONDS, sock_connect=CONNECT_SECONDS)
        self._session = aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
        )
        app = web.Application()
        app.router.add_post(HOOK_PATH, self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _route(self, body: bytes) -> Route | None:
        try:
            update = json.loads(body)
            update_id = int(update["update_id"])
        except (ValueError, KeyError, TypeError):
            return None
        route = self.routes.get(update_id)
        if route is None:
            key, user_id = origin(update)
            route = self.routes[update_id] = Route(update_id, key, user_id)
            if key is not None:
                self.by_key[key] = update_id
        return route

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Pass the POST to the next instance; on to the next on a refusal or a 5xx."""
        assert self._session is not None
        body = await request.read()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        if SECRET_HEADER in request.headers:
            headers[SECRET_HEADER] = request.headers[SECRET_HEADER]
        route = self._route(body)
        self.posts += 1
        first = self._next
        self._next = (self._next + 1) % len(self.instances)
        for offset in range(len(self.instances)):
            instance = self.instances[(first + offset) % len(self.instances)]
            if offset:
                self.moved += 1
            try:
                async with self._session.post(
                    instance.hook_url, data=body, headers=headers
                ) as response:
                    answer = await response.read()
                    outcome = str(response.status)
                    if route is not None:
                        route.attempts.append((instance.number, outcome, clock()))
                    if response.status >= 500:
                        continue
                    return web.Response(
                        status=response.status,
                        body=answer,
                        content_type=response.content_type or "application/json",
                    )
            except aiohttp.ClientConnectorError:
                outcome = "refused"
            except TimeoutError:
                outcome = "timeout"
            except aiohttp.ClientError as exc:
                outcome = type(exc).__name__
            if route is not None:
                route.attempts.append((instance.number, outcome, clock()))
        self.refused_all += 1
        return web.json_response({"error": "no instance answered"}, status=502)

    def taken_by_before(self, key: Key | None, moment: float) -> int | None:
        """The instance that had answered the update with this origin 2xx before ``moment``."""
        update_id = self.by_key.get(key) if key is not None else None
        route = self.routes.get(update_id) if update_id is not None else None
        if route is None:
            return None
        taken = [n for n, outcome, at in route.attempts if outcome.startswith("2") and at < moment]
        return taken[-1] if taken else None

    def describe(self, key: Key | None) -> str:
        """Where the update with this origin went: "→#2 200 at 31.2 s, …"."""
        update_id = self.by_key.get(key) if key is not None else None
        route = self.routes.get(update_id) if update_id is not None else None
        if route is None:
            return "never reached the proxy"
        hops = ", ".join(
            f"#{number} {outcome} at {at - self.started:.1f} s"
            for number, outcome, at in route.attempts
        )
        return f"update {route.update_id} → {hops or 'no attempt'}"


# --- the run --------------------------------------------------------------------------------


@dataclass
class Kill:
    """The SIGKILL of the leader and what followed."""

    instance: int
    at: float
    pid: int
    sent: int  # announcement deliveries sent at that moment
    total: int
    steps_answered: int
    steps_total: int
    awaiting: list[Input]  # officers' inputs sent and not yet answered at that moment
    new_leader: int | None = None
    takeover_s: float | None = None
    restarted_at: float | None = None
    rejoined_at: float | None = None  # the restarted one accepts updates again


class World(Stage):
    """The sandbox, the proxy, the database, the instances and everyone acting."""

    strict = True  # an answer other than the next step's prompt breaks the flow

    def __init__(
        self,
        args: argparse.Namespace,
        database: Database,
        sandbox: Sandbox,
        client: SandboxClient,
        http: aiohttp.ClientSession,
        proxy: Proxy,
        instances: Sequence[Instance],
        plans: Sequence[Plan],
        started: float,
    ) -> None:
        super().__init__(ROSTER, database, sandbox, client, started)
        self.args = args
        self.http = http
        self.proxy = proxy
        self.instances = list(instances)
        self.plans = list(plans)
        rng = random.Random(args.seed * 7919 + 17)
        self.officers = [OfficerActor(self, plan) for plan in plans if plan.acts]
        self.organizer = OrganizerActor(self, rng.randrange(1 << 30))
        self.kill: Kill | None = None
        self.kill_done = asyncio.Event()
        self.first_leader: Instance | None = None
        self.anomalies: list[str] = []

    # --- the instances ------------------------------------------------------------------

    async def start_instances(self) -> None:
        """Start every instance at once and wait until they take updates and one leads."""
        standby = self.args.standby
        for instance in self.instances:
            await instance.start(standby=standby and instance.number > 1)
        waiting = {instance.number for instance in self.instances}
        if standby:
            # A standby waits for the lease without listening: only the first is waited for.
            waiting = {1}
        deadline = clock() + START_SECONDS
        while waiting:
            for instance in self.instances:
                if not instance.alive:
                    code = instance.current.returncode if instance.current else None
                    raise BenchmarkError(
                        f"instance {instance.name} exited {code} while starting: "
                        + " | ".join(instance.tail())
                    )
            for instance in self.instances:
                if instance.number in waiting and accepting(await health(self.http, instance)):
                    instance.ready_at = clock()
                    waiting.discard(instance.number)
                    self.say(
                        f"instance {instance.name} takes updates on port {instance.port}, "
                        f"{instance.ready_at - instance.started_at:.1f} s after its start"
                    )
            if clock() > deadline:
                raise BenchmarkError(
                    f"instances {', '.join(f'#{n}' for n in sorted(waiting))} did not take "
                    f"updates within {START_SECONDS:.0f} s"
                )
            await asyncio.sleep(0.2)
        self.first_leader = await self.find_leader()
        webhooks = sum(
            1
            for call in self.sandbox.calls(TOKEN)
            if call.method == "setWebhook" and call.status == 200
        )
        if not webhooks:
            raise BenchmarkError("no instance set the webhook")
        self.say(
            f"instance {self.first_leader.name} leads; {webhooks} setWebhook calls made; "
            "the people go"
        )
        self.begin(clock())

    async def find_leader(self) -> Instance:
        """The one instance whose /healthz says it leads (waits up to LEADER_SECONDS)."""
        deadline = clock() + LEADER_SECONDS
        while True:
            live = [instance for instance in self.instances if instance.alive]
            answers = await asyncio.gather(*(health(self.http, i) for i in live))
            leaders = [i for i, answer in zip(live, answers, strict=True) if leads(answer)]
            if len(leaders) == 1:
                return leaders[0]
            if len(leaders) > 1:
                self.note_leaders(leaders)
                return leaders[0]
            if clock() > deadline:
                raise BenchmarkError(f"no instance said it leads within {LEADER_SECONDS:.0f} s")
            await asyncio.sleep(0.2)

    def note_leaders(self, leaders: Sequence[Instance]) -> None:
        """Several instances say they lead at once: the bot's fault, listed at the end."""
        names = ", ".join(i.name for i in leaders)
        self.anomalies.append(
            f"at {self.elapsed():.1f} s several instances said they lead: {names}"
        )

    async def wait_accepting(self, instance: Instance) -> float | None:
        """The moment the instance takes updates (None if it ended or took too long)."""
        deadline = clock() + START_SECONDS
        while clock() < deadline and instance.alive:
            if accepting(await health(self.http, instance)):
                instance.ready_at = clock()
                return instance.ready_at
            await asyncio.sleep(0.2)
        return None

    # --- half-way ------------------------------------------------------------------------

    def steps_total(self) -> int:
        """The officers' steps planned."""
        return len(self.officers) * len(STEPS)

    def steps_answered(self) -> int:
        """The officers' steps answered so far."""
        return sum(1 for officer in self.officers for made in officer.inputs if made.answered_at)

    async def killer(self) -> None:
        """Half-way, SIGKILL the leader; measure the takeover; start it again if asked."""
        await self.began()
        steps_total = self.steps_total()
        while True:
            await asyncio.sleep(KILL_POLL)
            sent, total = await self.announcement_progress()
            answered = self.steps_answered()
            # Flows that ended early (broken) cannot reach half: count them as done.
            ended = sum(
                len(STEPS) - sum(1 for made in officer.inputs if made.answered_at)
                for officer, task in zip(self.officers, self.tasks, strict=False)
                if task.done()
            )
            # Should the organizer's flow end without an announcement, the steps alone decide.
            announced = sent >= HALF * total if total else self.organizer_task_done()
            if announced and answered + ended >= HALF * steps_total:
                break
        leader = await self.find_leader()
        awaiting = [made for made in self.inputs() if made.answered_at is None]
        await leader.kill()
        kill = Kill(
            leader.number,
            leader.killed_at or clock(),
            leader.pids[-1],
            sent,
            total,
            answered,
            steps_total,
            [made for made in awaiting if made.wrong is None],
        )
        self.kill = kill
        self.say(
            f"SIGKILL of the leader {leader.name}: announcement {sent}/{total} sent, officers' "
            f"steps {answered}/{steps_total} answered, {len(kill.awaiting)} inputs awaiting "
            "an answer"
        )
        survivors = [instance for instance in self.instances if instance.alive]
        restart = self.args.restart or not survivors
        if not survivors:
            self.say("no instance left: starting the killed one again at once")
            await leader.start()
            kill.restarted_at = clock()
            survivors = [leader]
        deadline = kill.at + TAKEOVER_LIMIT
        while kill.new_leader is None and clock() < deadline:
            answers = await asyncio.gather(*(health(self.http, i) for i in survivors))
            for instance, answer in zip(survivors, answers, strict=True):
                if leads(answer):
                    kill.new_leader = instance.number
                    kill.takeover_s = round(clock() - kill.at, 3)
                    break
            else:
                await asyncio.sleep(HEALTH_POLL)
        if kill.new_leader is None:
            self.say(f"no instance took the lead within {TAKEOVER_LIMIT:.0f} s of the kill")
        else:
            self.say(f"instance #{kill.new_leader} leads, {kill.takeover_s:.2f} s after the kill")
        if restart and kill.restarted_at is None:
            await leader.start(standby=self.args.standby)
            kill.restarted_at = clock()
            self.say(f"instance {leader.name} started again on port {leader.port}")
        if kill.restarted_at is not None and self.args.standby and survivors != [leader]:
            self.say(f"instance {leader.name} waits as a standby")
        elif kill.restarted_at is not None:
            kill.rejoined_at = await self.wait_accepting(leader)
            if kill.rejoined_at is None:
                self.say(f"instance {leader.name} did not take updates again: {leader.tail()}")
            else:
                self.say(
                    f"instance {leader.name} takes updates again, "
                    f"{kill.rejoined_at - kill.restarted_at:.1f} s after its restart"
                )
        self.kill_done.set()

    def organizer_task_done(self) -> bool:
        """The organizer has stopped acting (done, or broken off)."""
        return bool(self.tasks) and self.tasks[-1].done()

    # --- settling -----------------------------------------------------------------------

    async def settle(self, deadline: float, killer: asyncio.Task[None]) -> tuple[str, Outstanding]:
        """Wait until nothing is on its way and nobody can go on: "settled"; "stalled" if
        nothing changed for STALL_SECONDS while something is still on its way; or "deadline"."""
        quiet_since: float | None = None
        last_state: tuple[Any, ...] | None = None
        changed_at = clock()
        left = Outstanding(0, 0, 0, 0)
        while clock() < deadline:
            await asyncio.sleep(SETTLE_POLL)
            if killer.done():
                killer.result()  # its error, if it failed
            if not self.kill_done.is_set():
                quiet_since, changed_at = None, clock()
                continue
            left = await self.outstanding()
            inputs = self.inputs()
            state = (
                len(inputs),
                sum(made.answered_at is not None for made in inputs),
                left,
                sum(len(self.eyes.events(p.user_id)) for p in self.people()),
            )
            if state != last_state:
                last_state, changed_at = state, clock()
            elif clock() - changed_at >= STALL_SECONDS and not left.none:
                return "stalled", left
            if not self.everyone_waits() or not left.none:
                quiet_since = None
                continue
            if quiet_since is None:
                quiet_since = clock()
                continue
            if self.last_input_at < quiet_since and clock() - quiet_since >= QUIET_SECONDS:
                self.eyes.look()
                return "settled", left
        return "deadline", left

    async def progress(self) -> None:
        """A progress line every few seconds."""
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            live = [instance for instance in self.instances if instance.alive]
            answers = await asyncio.gather(*(health(self.http, i) for i in live))
            leaders = [i for i, answer in zip(live, answers, strict=True) if leads(answer)]
            if len(leaders) > 1:
                self.note_leaders(leaders)
            shown = " ".join(
                f"{i.name}:{'leads' if i in leaders else 'up' if i.alive else 'down'}"
                for i in self.instances
            )
            sent, total = await self.announcement_progress()
            announced = f"announcement {sent}/{total}" if total else "no announcement yet"
            self.say(
                f"{shown} | {self.officers_line()} | steps {self.steps_answered()}/"
                f"{self.steps_total()} answered | {announced} | proxy {self.proxy.posts} POSTs"
            )


# --- the verdict ----------------------------------------------------------------------------


@dataclass
class Verdict:
    """The figures, and the problems behind them."""

    lost: list[str] = field(default_factory=list)
    broken: dict[str, list[str]] = field(default_factory=dict)  # person: why
    duplicates: list[tuple[int, str, str, str, list[float], str]] = field(default_factory=list)
    # (extra copies, kind, who, text, arrival moments, what it answered)
    notes: list[str] = field(default_factory=list)
    spinning: list[str] = field(default_factory=list)  # presses whose button was never answered

    @property
    def duplicate_count(self) -> int:
        """Extra copies of messages, everyone together."""
        return sum(extra for extra, *_rest in self.duplicates)

    def breaks(self, who: str, why: str) -> None:
        """Note a broken flow."""
        self.broken.setdefault(who, []).append(why)


def _kind_of(text: str) -> str:
    if is_notice(text):
        return "announcement"
    if CARD_RE.match(text):
        return "case card"
    return "reply"


def leftovers(database: Database) -> list[str]:
    """Unhandled inbox rows at the end: update, user, owner."""
    with database.session() as session:
        rows = session.exec(
            select(InboxUpdate).where(col(InboxUpdate.handled_at).is_(None)).limit(SHOWN)
        ).all()
        return [
            f"update {row.update_id} of user {row.user_id} owned by {row.owner!r}, received "
            f"{row.received_at:%H:%M:%S}"
            for row in rows
        ]


def handled_by(database: Database) -> Counter[str]:
    """Handled inbox rows by their owner (the instance that handled them)."""
    with database.session() as session:
        owners = session.exec(
            select(InboxUpdate.owner).where(col(InboxUpdate.handled_at).is_not(None))
        ).all()
    return Counter(str(owner) for owner in owners)


async def judge(world: World, view: DatabaseView) -> Verdict:
    """Compare what everyone saw and what the database holds with what they did."""
    verdict = Verdict()
    proxy = world.proxy
    people = world.people()
    histories = {person.user_id: world.eyes.events(person.user_id) for person in people}
    histories.update(
        {plan.user_id: world.eyes.events(plan.user_id) for plan in world.plans if not plan.acts}
    )
    kill_at = world.kill.at if world.kill else None

    def when(at: float) -> str:
        relative = f"{world.elapsed(at):.1f} s"
        if kill_at is not None:
            relative += f" ({at - kill_at:+.1f} s from the kill)"
        return relative

    # Every step answered with the next step's prompt; every press answered, and not as stale.
    for person in people:
        for made in person.inputs:
            where = proxy.describe(made.key)
            if made.wrong is not None:
                verdict.breaks(
                    person.name,
                    f"{made.step} {short(made.what, 24)!r} sent at {when(made.sent_at)} was "
                    f"answered {short(made.wrong, 50)!r}; {where}",
                )
            elif made.answered_at is None:
                verdict.lost.append(
                    f"{person.name}: {made.step} {short(made.what, 24)!r} sent at "
                    f"{when(made.sent_at)} never answered; {where}; arrived since: "
                    + arrived_since(histories[person.user_id], made.sent_at)
                )
            if made.query_id is None:
                continue
            answer = await world.client.callback_answer(made.query_id, timeout=0)
            if answer is None:
                # A bare button answer is not kept for after a crash (ARCHITECTURE.md): the
                # step itself may well have been answered, so this is counted apart.
                verdict.spinning.append(
                    f"{person.name}: press {made.what} ({made.step}) at {when(made.sent_at)}; "
                    + where
                )
            elif wrong_answer(answer):
                verdict.breaks(
                    person.name,
                    f"press {made.what} ({made.step}) at {when(made.sent_at)} answered "
                    f"{answer.get('text')!r}; {where}",
                )
        verdict.notes.extend(f"{person.name}: {note}" for note in person.notes)

    # Care cases against what each officer typed.
    for finding in case_findings(view, world.officers):
        officer = finding.officer
        submit = officer.input("submit") if officer is not None else None
        if officer is None:
            verdict.notes.append(finding.what)
        elif finding.kind == "lost" and submit is not None:
            verdict.lost.append(
                f"{officer.name}: {finding.what} at {when(submit.sent_at)}, no case in the "
                f"database; {proxy.describe(submit.key)}"
            )
        else:
            verdict.breaks(officer.name, finding.what)

    # The organizer hears of every case.
    organizer = world.organizer
    cards = cards_of(histories[organizer.user_id])
    for case in view.cases:
        if not cards.get(str(case.id)):
            verdict.lost.append(f"{organizer.name}: never got the card of case #{case.id}")

    # The announcement reaches everyone.
    members = [(plan.name, plan.police_id, plan.user_id) for plan in world.plans]
    members.append((organizer.name, organizer.police_id, organizer.user_id))
    verdict.lost.extend(announcement_lost(view, organizer, histories, members))

    # Extra copies of any message; messages nobody asked for.
    names = {plan.user_id: plan.name for plan in world.plans}
    names[organizer.user_id] = organizer.name
    acting = {person.user_id: person for person in people}

    def answered(user_id: int, moment: float) -> str:
        """The person's last input before ``moment`` and where its update went."""
        person = acting.get(user_id)
        before = [made for made in person.inputs if made.sent_at <= moment] if person else []
        if not before:
            return ""
        made = before[-1]
        return f"answering {made.step} ({proxy.describe(made.key)})"

    for user_id, history in histories.items():
        times = arrivals(history)
        for text, arrived in times.items():
            meant = copies_meant(user_id == organizer.user_id, text)
            if len(arrived) > meant:
                verdict.duplicates.append(
                    (
                        len(arrived) - meant,
                        _kind_of(text),
                        names.get(user_id, str(user_id)),
                        text,
                        [world.elapsed(at) for at in arrived],
                        answered(user_id, arrived[0]) if _kind_of(text) == "reply" else "",
                    )
                )
        plan_in_flow = any(o.user_id == user_id for o in world.officers)
        if user_id != organizer.user_id and not plan_in_flow:
            for text in times:
                if not is_notice(text):
                    verdict.notes.append(
                        f"{names.get(user_id)}: unexpected message {short(text)!r}"
                    )
    verdict.duplicates.sort(key=lambda item: (-item[0], item[2]))
    return verdict


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class Outcome:
    """A finished run."""

    world: World
    verdict: Verdict
    view: DatabaseView
    how: str  # settled, stalled or deadline
    left: Outstanding
    leftovers: list[str]
    handled_by: Counter[str]
    seconds: float
    exits: dict[int, int | None]
    log_errors: list[str]
    logs_kept: Path | None
    cut_off: int


def log_errors(instances: Sequence[Instance]) -> list[str]:
    """ERROR and CRITICAL lines and tracebacks of every instance's log."""
    found = []
    for instance in instances:
        if not instance.log.exists():
            continue
        for line in instance.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if is_error(line):
                found.append(f"{instance.name}: {line.strip()}")
    return found


async def stop_all(instances: Sequence[Instance]) -> dict[int, int | None]:
    """SIGTERM every live instance at once; their exit codes."""
    codes = await asyncio.gather(*(instance.stop() for instance in instances))
    return {instance.number: code for instance, code in zip(instances, codes, strict=True)}


def keep_logs(instances: Sequence[Instance]) -> Path | None:
    """Copy the instances' logs out of the temporary folder; where they went."""
    logs = [instance.log for instance in instances if instance.log.exists()]
    if not logs:
        return None
    kept = Path(tempfile.gettempdir()) / f"nuanjing-instances-{os.getpid()}"
    kept.mkdir(exist_ok=True)
    for log in logs:
        shutil.copy(log, kept / log.name)
    return kept


async def run(args: argparse.Namespace, database: Database) -> Outcome:
    """Seed, start the instances and the proxy, run everyone, kill the leader, settle, judge."""
    spread = max(MIN_SPREAD_SECONDS, (args.audience + 1) / BROADCAST_RATE)
    plans = make_plans(args.audience, args.officers, spread, args.seed)
    seed_database(database, ROSTER, plans)
    cut_off = CutOff()
    logging.getLogger("aiohttp.server").addFilter(cut_off)
    key = FieldCipher.generate_key()
    started = clock()
    folder = Path(tempfile.mkdtemp(prefix="nuanjing-instances-"))
    logs: Path = args.logs or folder
    logs.mkdir(parents=True, exist_ok=True)
    instances: list[Instance] = []
    try:
        async with (
            Sandbox(seed=args.seed) as sandbox,
            SandboxClient(sandbox.base_url, TOKEN) as client,
            aiohttp.ClientSession() as http,
        ):
            await register_users(client, ROSTER, plans)
            base = bot_environment(
                sandbox, database.url, folder, token=TOKEN, key=key, limit=BROADCAST_RATE
            )
            proxy = Proxy([], started)
            await proxy.start()
            for number in range(1, args.instances + 1):
                port = free_port()
                env = instance_environment(base, proxy.url, port)
                log = logs / f"instance-{number}.log"
                hostname = f"bench-host-{number}" if args.hosts else None
                instances.append(Instance(number, port, env, folder, log, hostname))
            proxy.instances = instances
            world = World(args, database, sandbox, client, http, proxy, instances, plans, started)
            world.say(
                f"{args.instances} instances behind the proxy on port {proxy.port}, "
                f"{args.audience} audience ({args.officers} in flows) and 1 organizer; the "
                f"officers start within {spread:.1f} s; logs in {logs}"
            )
            helpers = [
                asyncio.create_task(world.eyes.run()),
                asyncio.create_task(world.progress()),
            ]
            killer: asyncio.Task[None] | None = None
            how, left = "deadline", Outstanding(0, 0, 0, 0)
            try:
                world.spawn()
                await world.start_instances()
                killer = asyncio.create_task(world.killer())
                how, left = await world.settle(started + args.deadline, killer)
                world.say(
                    f"{how}: {sum(not t.done() for t in world.tasks)} person tasks still "
                    f"waiting; {left.text()}; stopping the instances"
                )
            finally:
                pending = [*world.tasks, *helpers, *([killer] if killer else [])]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                exits = await stop_all(instances)
                await proxy.close()
            seconds = world.elapsed()
            view = await asyncio.to_thread(read_database, database, FieldCipher(key))
            rows = await asyncio.to_thread(leftovers, database)
            owners = await asyncio.to_thread(handled_by, database)
            verdict = await judge(world, view)
        errors = log_errors(instances)
        kept: Path | None = args.logs
        if kept is None and (errors or verdict.lost or verdict.broken or how != "settled"):
            kept = keep_logs(instances)
        return Outcome(
            world,
            verdict,
            view,
            how,
            left,
            rows,
            owners,
            seconds,
            exits,
            errors,
            kept,
            cut_off.count,
        )
    except BaseException:
        if args.logs is None and (kept_on_failure := keep_logs(instances)):
            print(f"bench: the instances' logs are kept in {kept_on_failure}", file=sys.stderr)
        raise
    finally:
        for instance in instances:
            await instance.kill()  # none is left running, whatever happened
        shutil.rmtree(folder, ignore_errors=True)


# --- the output -----------------------------------------------------------------------------


def figures(outcome: Outcome) -> JSON:
    """The JSON line's figures: the six the issue names first, then more."""
    world, verdict = outcome.world, outcome.verdict
    kill = world.kill
    return {
        "instances": len(world.instances),
        "updates": sum(len(person.inputs) for person in world.people()),
        "lost": len(verdict.lost),
        "duplicates": verdict.duplicate_count,
        "broken_flows": len(verdict.broken),
        "takeover_s": kill.takeover_s if kill else None,
        "sends_in_flight": SENDER_IN_FLIGHT,
        "officers": len(world.officers),
        "audience": len(world.plans),
        "restarted": bool(kill and kill.restarted_at is not None),
        "settled": outcome.how == "settled",
        "several_leaders": len(world.anomalies),
        "spinning_presses": len(verdict.spinning),
    }


def targets_met(numbers: JSON) -> dict[str, bool]:
    """Each target of the issue, met or not."""
    takeover = numbers["takeover_s"]
    return {
        "lost": numbers["lost"] == 0,
        "broken_flows": numbers["broken_flows"] == 0,
        "duplicates": numbers["duplicates"] <= SENDER_IN_FLIGHT,
        "takeover_s": takeover is not None and takeover <= TARGET_TAKEOVER_SECONDS,
    }


TARGET_TAKEOVER_SECONDS = 15.0


def owner_name(instances: Sequence[Instance], holder: str) -> str:
    """An instance's name in the database ("host:pid:random.pidns") as #N (start K)."""
    pid = holder.split(":")[1] if holder.count(":") >= 2 else ""
    for instance in instances:
        for start, known in enumerate(instance.pids, start=1):
            if pid == str(known):
                return instance.name + (f" (start {start})" if len(instance.pids) > 1 else "")
    return holder


def _quantiles(values: Sequence[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "none"
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {ordered[len(ordered) // 2]:.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s"


def report(outcome: Outcome, backend: str) -> None:
    """The readable summary, each target's verdict, then the one JSON line."""
    world, verdict, view = outcome.world, outcome.verdict, outcome.view
    proxy, kill = world.proxy, world.kill
    numbers = figures(outcome)
    met = targets_met(numbers)
    inputs = [made for person in world.people() for made in person.inputs]
    print(
        f"NuanJing instances on {backend}: {numbers['instances']} instances in webhook mode "
        f"behind a round-robin proxy, {os.cpu_count()} CPUs, seed {world.args.seed}"
        + (" (the others started with --standby)" if world.args.standby else "")
        + (
            ", each under a host name of its own"
            if world.args.hosts
            else ", all on this host (a dead leader's lease is taken over at once)"
        )
    )
    print(
        f"  people      {len(world.officers)} officers in care reports of {len(STEPS)} steps, "
        f"{len(world.plans)} in the audience, 1 organizer; {len(inputs)} updates sent"
    )
    taken = Counter(route.taken_by for route in proxy.routes.values())
    per_instance = ", ".join(
        f"#{number} {taken.get(number, 0)}" for number in range(1, len(world.instances) + 1)
    )
    switched = pairs = 0
    for person in world.people():
        hops = [
            proxy.routes[proxy.by_key[made.key]].taken_by
            for made in person.inputs
            if made.key in proxy.by_key
        ]
        for earlier, later in pairwise(hops):
            pairs += 1
            switched += earlier != later
    print(
        f"  proxy       {proxy.posts} POSTs of {len(proxy.routes)} updates; {proxy.moved} moved "
        f"on to the next instance (refused or 5xx), {proxy.refused_all} answered 502 (no "
        f"instance took it); taken: {per_instance}; consecutive steps of one person on "
        f"different instances: {switched}/{pairs}"
    )
    if world.first_leader is not None:
        print(f"  leader      {world.first_leader.name} led from the start")
    if kill is not None:
        print(
            f"  kill        SIGKILL of the leader #{kill.instance} at {world.elapsed(kill.at):.1f} "
            f"s: announcement {kill.sent}/{kill.total} sent, officers' steps "
            f"{kill.steps_answered}/{kill.steps_total} answered, {len(kill.awaiting)} inputs "
            "awaiting an answer"
        )
        if kill.new_leader is not None and kill.takeover_s is not None:
            print(f"  takeover    #{kill.new_leader} leads {kill.takeover_s:.2f} s after the kill")
        else:
            print(f"  takeover    no instance took the lead within {TAKEOVER_LIMIT:.0f} s")
        if kill.restarted_at is None:
            print(f"  restart     #{kill.instance} not started again (--no-restart)")
        else:
            rejoined = (
                f"takes updates again {kill.rejoined_at - kill.restarted_at:.1f} s later"
                if kill.rejoined_at is not None
                else "never took updates again"
            )
            print(
                f"  restart     #{kill.instance} started again "
                f"{kill.restarted_at - kill.at:.1f} s after the kill, {rejoined}"
            )
        orphaned = [
            made
            for made in kill.awaiting
            if proxy.taken_by_before(made.key, kill.at) in (kill.instance, None)
        ]
        late = [
            (made.answered_at - kill.at, made) for made in orphaned if made.answered_at is not None
        ]
        owner_of = {id(made): person.name for person in world.people() for made in person.inputs}
        if orphaned:
            slowest = max(late, key=lambda item: item[0], default=None)
            print(
                f"  recovery    {len(orphaned)} of the inputs awaiting at the kill had been "
                f"taken by #{kill.instance} or by none; {len(late)} answered"
                + (
                    f", the last {slowest[0]:.1f} s after the kill ({owner_of[id(slowest[1])]}: "
                    f"{slowest[1].step}, {proxy.describe(slowest[1].key)})"
                    if slowest
                    else ""
                )
            )
        copies = [
            float(event.get("time", 0.0))
            for plan in world.plans
            for event in world.eyes.events(plan.user_id)
            if event.get("kind") == "message" and is_notice(text_of(event))
        ]
        before = [at for at in copies if at < kill.at]
        after = [at for at in copies if at >= kill.at]
        if before and after:
            print(
                f"  broadcast   last copy before the kill {kill.at - max(before):.2f} s before "
                f"it, first after it {min(after) - kill.at:.2f} s after it ({len(before)} "
                f"before, {len(after)} after)"
            )
    waits = [made.answered_at - made.sent_at for made in inputs if made.answered_at is not None]
    print(f"  answers     {_quantiles(waits)} from an input to its answer")
    for broadcast_id, states in sorted(view.deliveries.items()):
        kind = view.broadcast_kinds.get(broadcast_id, "?")
        if broadcast_id == view.announcement:
            kind = "the announcement"
        shown_states = ", ".join(f"{count} {state}" for state, count in states.most_common())
        print(f"  broadcast   #{broadcast_id} ({kind}) deliveries: {shown_states}")
    print(
        f"  database    {len(view.cases)} cases; left: {view.unhandled} unhandled updates, "
        f"{view.pending_replies} pending replies"
    )
    if outcome.handled_by:
        owners = ", ".join(
            f"{owner_name(world.instances, owner)} {count}"
            for owner, count in outcome.handled_by.most_common()
        )
        print(f"  handled by  {owners}")
    for row in outcome.leftovers:
        print(f"    left: {row}")
    exits = ", ".join(
        f"#{i.number} {'/'.join(str(code) for code in i.exits) or '?'}" for i in world.instances
    )
    print(
        f"  run         {outcome.seconds:.0f} s; {outcome.how}"
        + ("" if outcome.how == "settled" else f" ({outcome.left.text()})")
        + f"; exit codes {exits}; {len(outcome.log_errors)} ERROR lines in the logs; "
        f"{outcome.cut_off} requests cut off by the kill"
    )
    for line in outcome.log_errors[:5]:
        print(f"    log {short(line, 160)}")
    if outcome.logs_kept is not None:
        print(f"  logs        {outcome.logs_kept}")
    print(f"  lost        {numbers['lost']}; target 0 ({met_or_not(met['lost'])})")
    listed(verdict.lost)
    print(f"  broken_flows {numbers['broken_flows']}; target 0 ({met_or_not(met['broken_flows'])})")
    listed([f"{who}: {'; '.join(why)}" for who, why in verdict.broken.items()])
    kinds = Counter[str]()
    for extra, kind, *_rest in verdict.duplicates:
        kinds[kind] += extra
    split = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common()) or "none"
    print(
        f"  duplicates  {numbers['duplicates']} ({split}); target <= {SENDER_IN_FLIGHT}, the "
        f"sender's sends in flight ({met_or_not(met['duplicates'])})"
    )
    listed(
        [
            f"{who}: {extra + 1}× {short(text, 40)!r} ({kind}) at "
            + ", ".join(f"{moment:.1f}" for moment in moments)
            + " s"
            + (f", {cause}" if cause else "")
            for extra, kind, who, text, moments, cause in verdict.duplicates
        ]
    )
    print(
        f"  spinning    {len(verdict.spinning)} presses never answered (the button kept "
        "spinning; not counted as lost)"
    )
    listed(verdict.spinning)
    takeover = numbers["takeover_s"]
    print(
        f"  takeover_s  {'none' if takeover is None else f'{takeover:.2f}'}; target <= "
        f"{TARGET_TAKEOVER_SECONDS:g} ({met_or_not(met['takeover_s'])})"
    )
    for note in verdict.notes[:SHOWN]:
        print(f"  note        {note}")
    for anomaly in world.anomalies[:SHOWN]:
        print(f"  anomaly     {anomaly}")
    for error in world.harness_errors[:SHOWN]:
        print(f"  harness     {error}")
    print(
        f"instances on {backend}: {numbers['instances']} instances, {numbers['updates']} "
        f"updates: lost {numbers['lost']}, duplicates {numbers['duplicates']}, broken_flows "
        f"{numbers['broken_flows']}, takeover_s {takeover} (targets "
        f"{'met' if all(met.values()) else 'NOT met'})"
    )
    print(json.dumps(numbers), flush=True)


# --- arguments ------------------------------------------------------------------------------


def _seconds(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {value}")
    return number


DESCRIPTION = """\
Several NuanJing instances (python -m bot run, each a child process) in webhook mode on one
PostgreSQL database, behind a round-robin reverse proxy in this process, against the local Bot
API sandbox; the leader is SIGKILLed half-way. What everyone saw and what the database holds are
then compared with what they did. The last line of output is JSON with instances, updates,
lost, duplicates, broken_flows and takeover_s (then sends_in_flight, officers, audience,
restarted and settled).

What happens: --audience officers are seeded bound, plus an organizer. Every instance gets the
same database, NUANJING_WEBHOOK_URL (the proxy) and NUANJING_WEBHOOK_SECRET, and a
NUANJING_HTTP_LISTEN of its own; they start at once. The sandbox POSTs each update to the proxy
(each chat's in order, the next once the previous was answered 2xx), which passes each POST to
the next instance in turn, and on to the one after it if that one refuses the connection or
answers 5xx; if none takes it, 502, and the sandbox tries again later, as Telegram does. Once
every instance takes updates and one says it leads (/healthz "leader"), --officers of the
audience, within as many seconds as the announcement takes at 25 a second, each start a care
report (/report → 住院 → 为本人 → hospital → ward → date → 跳过 → ✅ 提交), each step a little after
the bot's answer to the last one arrived; the organizer at once sends an announcement to
everyone (/announce → 全体会员 → text → ✅ 确认发送), which the leader's broadcast sender
delivers. When half the announcement is sent and half the officers' steps are answered, the
leader is found through the /healthz of the instances and SIGKILLed; the others' /healthz are
then polled until one says it leads (takeover_s). The killed one is then started again on the
same port (unless --no-restart). The run settles when every flow has ended, nothing waits in the
sandbox, and the database holds no unhandled update, pending reply or delivery not final.
"""

EPILOG = f"""\
figures:
  instances     instances started
  updates       updates the people sent (officers' steps and the organizer's)
  lost          an input whose answer (the next step's prompt) never came; a report that
                reached ✅ 提交 with no case in the database; an
                audience member (or the organizer) without the announcement; a case whose
                card the organizer never got
  duplicates    extra copies of one identical message one person received (the announcement,
                a reply or a case card; the organizer's preview of the announcement counts
                as its first copy)
  broken_flows  flows (people) in which the answer to a step was a message other than the
                next step's prompt (a repeat of an earlier message is a duplicate, not this),
                a press was answered as stale, or the case filed differs from what was typed
  takeover_s    from the SIGKILL of the leader to another instance's /healthz saying it leads
  (then)        sends_in_flight (the target's bound), officers, audience, restarted, settled,
                several_leaders (moments at which more than one /healthz said it leads),
                spinning_presses (presses whose button the bot never answered, though the
                step's answer may have come: the bot keeps no bare button answer for after a
                crash, ARCHITECTURE.md; not counted as lost)
Each problem is listed with the person, the step, and the proxy's record of the update (which
instance took it, when, relative to the kill).

targets: lost 0, broken_flows 0, duplicates <= {SENDER_IN_FLIGHT} (the sends the broadcast sender
has in flight, SENDER_IN_FLIGHT in bot/app.py), takeover_s <= {TARGET_TAKEOVER_SECONDS:g}. Whether
each was met is printed; a missed target does not change the exit code (this is a measurement).

exit codes: 0 measured; 1 the run could not be carried out (an instance did not start, no
leader, the run did not settle, a harness error); 2 bad usage (SQLite, no PostgreSQL).
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.instances",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--instances",
        type=positive,
        default=3,
        metavar="N",
        help="instances behind the proxy (default: 3)",
    )
    parser.add_argument(
        "--officers",
        type=positive,
        default=300,
        metavar="N",
        help="officers of the audience who each file a care report (default: 300)",
    )
    parser.add_argument(
        "--audience",
        type=positive,
        default=1000,
        metavar="N",
        help="bound officers the announcement goes to, those in flows among them (default: 1000)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; the "
        f"run uses a fresh schema there, dropped afterwards (default: ${TEST_DATABASE_ENV})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="S",
        help="seed of who files a report, start and think times (default: 1); timings still "
        "vary from run to run",
    )
    parser.add_argument(
        "--restart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start the killed instance again once another leads (default: yes)",
    )
    parser.add_argument(
        "--standby",
        action="store_true",
        help="start every instance but the first with --standby (one instance at a time, as "
        "before the multi-instance mode): tries the harness on a bot without that mode",
    )
    parser.add_argument(
        "--hosts",
        action="store_true",
        help="run each instance under a host name of its own (unshare --uts: root only), as "
        "on machines of their own: the killed leader's lease is then not known to be dead "
        "and runs out (the lease's TTL) before another takes it; without it the instances "
        "share this host and the lease of a process gone is taken over at once",
    )
    parser.add_argument(
        "--deadline",
        type=_seconds,
        default=DEADLINE_SECONDS,
        metavar="SECONDS",
        help=f"give up if the run has not settled after this long (default: {DEADLINE_SECONDS:g})",
    )
    parser.add_argument(
        "--logs",
        type=Path,
        metavar="DIR",
        help="write each instance's output to DIR/instance-N.log (default: a temporary folder, "
        "kept and named at the end if anything went wrong)",
    )
    args = parser.parse_args(argv)
    if args.officers > args.audience:
        parser.error(f"--officers ({args.officers}) must not exceed --audience ({args.audience})")
    return args


def database_url_of(args: argparse.Namespace) -> str:
    """The PostgreSQL URL to run on; ValueError with the sentence to print otherwise."""
    url = args.database_url or os.environ.get(TEST_DATABASE_ENV, "")
    if not url:
        raise ValueError(NO_DATABASE)
    if url.startswith("sqlite"):
        raise ValueError(SQLITE_REFUSED)
    try:
        return postgres_url(url)
    except ValueError as exc:
        raise ValueError(f"bench: --database-url is invalid: {exc}") from None


async def benchmark(args: argparse.Namespace, database_url: str) -> Outcome:
    """Run once on a fresh schema; a SIGTERM or SIGHUP ends the run as Ctrl-C does."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    handled = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            if current is not None:
                loop.add_signal_handler(signum, current.cancel)
                handled.append(signum)
    try:
        with bench_database(database_url) as database:
            return await run(args, database)
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the run could not be carried out."""
    args = parse_args(argv)
    try:
        database_url = database_url_of(args)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    try:
        outcome = asyncio.run(benchmark(args, database_url))
    except BenchmarkError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except asyncio.CancelledError:
        print("bench: stopped by a signal; every instance was stopped", file=sys.stderr)
        return EXIT_FAILED
    report(outcome, "PostgreSQL")
    if outcome.how != "settled" or outcome.world.harness_errors:
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
