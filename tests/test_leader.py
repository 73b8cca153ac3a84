"""One sender, one poller: the lease that keeps a second `nuanjing run` off the same database.

Storage: acquire / renew / release / expiry, and racing acquirers (SQLite and PostgreSQL).
Leader: the async context manager and the sync helper, in process, with short timings.
Process: two `python -m bot run` against the sandbox: the second refuses (exit 2, one sentence)
or, with --standby, waits without touching the Bot API and takes over within 15 s of a SIGKILL.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot import leader
from bot.leader import LeadershipLost, LeadershipRefused, held, leadership
from bot.policy import policy_text_without_quiet_hours
from bot.sandbox import Sandbox, SandboxClient
from storage import leases
from storage.db import Database
from storage.models import Lease
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN
from tests.dialogs import Dialog, Person, says

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)
NAME = "poller"


def _acquire(database: Database, holder: str, now: datetime, *, name: str = NAME) -> bool:
    with database.session() as session:
        return leases.acquire(session, name, holder, TTL, now)


def _renew(database: Database, holder: str, now: datetime) -> bool:
    with database.session() as session:
        return leases.renew(session, NAME, holder, TTL, now)


def _release(database: Database, holder: str) -> bool:
    with database.session() as session:
        return leases.release(session, NAME, holder)


def _current(database: Database, name: str = NAME) -> Lease | None:
    with database.session() as session:
        return leases.current(session, name)


# --- storage/leases.py ---------------------------------------------------------------------


def test_a_free_lease_is_taken_and_then_refused_to_others(database: Database) -> None:
    assert _acquire(database, "a", T0)
    lease = _current(database)
    assert lease is not None
    assert (lease.holder, lease.acquired_at, lease.expires_at) == ("a", T0, T0 + TTL)
    assert lease.expires_at.tzinfo is not None
    assert not _acquire(database, "b", T0 + timedelta(seconds=9))
    current = _current(database)
    assert current is not None and current.holder == "a"
    # Another name is another lease.
    assert _acquire(database, "b", T0, name="scheduler")


def test_the_holder_acquiring_again_keeps_its_lease(database: Database) -> None:
    assert _acquire(database, "a", T0)
    assert _acquire(database, "a", T0 + timedelta(seconds=5))
    lease = _current(database)
    assert lease is not None
    assert (lease.holder, lease.acquired_at) == ("a", T0)
    assert lease.expires_at == T0 + timedelta(seconds=5) + TTL


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew(
    database: Database,
) -> None:
    assert _acquire(database, "a", T0)
    assert not _acquire(database, "b", T0 + TTL)  # expires_at itself still belongs to a
    assert _acquire(database, "b", T0 + TTL + timedelta(milliseconds=1))
    lease = _current(database)
    assert lease is not None and lease.holder == "b"
    assert lease.acquired_at == T0 + TTL + timedelta(milliseconds=1)
    assert not _renew(database, "a", T0 + TTL + timedelta(seconds=1))
    assert not _release(database, "a")
    current = _current(database)
    assert current is not None and current.holder == "b"


def test_renewal_extends_only_the_holders_lease(database: Database) -> None:
    assert not _renew(database, "a", T0), "nothing to renew"
    assert _acquire(database, "a", T0)
    assert _renew(database, "a", T0 + timedelta(seconds=3))
    assert _renew(database, "a", T0 + timedelta(seconds=6))
    lease = _current(database)
    assert lease is not None
    assert (lease.acquired_at, lease.expires_at) == (T0, T0 + timedelta(seconds=16))
    assert not _renew(database, "b", T0 + timedelta(seconds=7))
    # Renewed at 6 s: still held at 15 s, when the first term would have ended.
    assert not _acquire(database, "b", T0 + timedelta(seconds=15))


def test_release_frees_the_lease_at_once_for_the_next(database: Database) -> None:
    assert _acquire(database, "a", T0)
    assert not _release(database, "b"), "only the holder releases"
    assert _current(database) is not None
    assert _release(database, "a")
    assert _current(database) is None
    assert not _release(database, "a")
    assert _acquire(database, "b", T0 + timedelta(seconds=1))


def test_naive_times_are_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="naive"):
        _acquire(database, "a", datetime(2026, 12, 2, 8, 0))
    assert _acquire(database, "a", T0)
    with pytest.raises(ValueError, match="naive"):
        _renew(database, "a", datetime(2026, 12, 2, 8, 0))


def _race(database: Database, contenders: int, now: datetime) -> list[str]:
    """`contenders` threads acquire at once (released together by a barrier); the winners."""
    barrier = threading.Barrier(contenders)

    def attempt(index: int) -> str | None:
        holder = f"racer-{index}"
        with database.session() as session:
            barrier.wait(timeout=30)
            return holder if leases.acquire(session, NAME, holder, TTL, now) else None

    with ThreadPoolExecutor(contenders) as pool:
        results = list(pool.map(attempt, range(contenders)))
    return [holder for holder in results if holder is not None]


@pytest.mark.parametrize("expired_before", [False, True], ids=["free", "expired"])
def test_racing_acquirers_get_one_winner(database: Database, expired_before: bool) -> None:
    start = T0
    for round_ in range(5):
        if expired_before:
            assert _acquire(database, f"old-{round_}", start)
            start += TTL + timedelta(seconds=1)  # the old holder died: its lease has expired
        winners = _race(database, 6, start)
        assert len(winners) == 1, winners
        lease = _current(database)
        assert lease is not None and lease.holder == winners[0]
        assert _release(database, winners[0])
        start += timedelta(minutes=1)


# --- bot/leader.py, in process ---------------------------------------------------------------

FAST: dict[str, Any] = {
    "ttl": timedelta(seconds=1.5),
    "renew_every": 0.2,
    "retry_every": 0.1,
    "safety": 0.5,
}


async def test_leadership_takes_the_lease_and_releases_it(database: Database) -> None:
    async with leadership(database, **FAST) as lease:
        current = _current(database)
        assert current is not None and current.holder == lease.holder
        assert f":{os.getpid()}:" in lease.holder
        first_expiry = current.expires_at
        # It is renewed while held.
        for _ in range(100):
            renewed = _current(database)
            assert renewed is not None
            if renewed.expires_at > first_expiry:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the lease was never renewed")
    assert _current(database) is None, "a clean exit releases the lease"


async def test_a_second_leadership_is_refused_in_one_sentence(database: Database) -> None:
    async with leadership(database, **FAST) as first:
        with pytest.raises(LeadershipRefused) as refused:
            async with leadership(database, **FAST):
                raise AssertionError("two leaders")
        sentence = str(refused.value)
        assert sentence.startswith("another nuanjing run")
        assert first.holder in sentence
        assert "since" in sentence and "UTC" in sentence
        assert sentence.endswith("start this one with --standby.")
        assert "\n" not in sentence
        current = _current(database)
        assert current is not None and current.holder == first.holder


async def test_a_standby_takes_over_when_the_leader_leaves(database: Database) -> None:
    order: list[str] = []
    first_out = asyncio.Event()

    async def standby() -> str:
        async with leadership(database, standby=True, **FAST) as lease:
            order.append("standby leads")
            assert first_out.is_set(), "two leaders at once"
            return lease.holder

    async with leadership(database, **FAST):
        waiting = asyncio.create_task(standby())
        await asyncio.sleep(0.5)  # the standby retries several times meanwhile
        assert not waiting.done()
        first_out.set()
    holder = await asyncio.wait_for(waiting, timeout=5)
    assert order == ["standby leads"]
    assert _current(database) is None
    assert holder


async def test_a_standby_takes_over_an_expired_lease(database: Database) -> None:
    """The holder died without releasing: its lease runs out and the standby takes it."""
    now = datetime.now(UTC)
    assert _acquire(database, "dead:1:x", now - timedelta(seconds=9))  # 1 s left
    async with leadership(database, standby=True, **FAST) as lease:
        current = _current(database)
        assert current is not None and current.holder == lease.holder
        assert datetime.now(UTC) >= now + timedelta(seconds=1)


async def test_a_plain_run_takes_over_a_lease_its_dead_holder_left(database: Database) -> None:
    """Not refused: a lease nobody renews belongs to a run that was killed; it runs out."""
    now = datetime.now(UTC)
    assert _acquire(database, "dead:1:x", now - timedelta(seconds=8.5))  # 1.5 s left
    async with leadership(database, **FAST) as lease:
        current = _current(database)
        assert current is not None and current.holder == lease.holder
        assert datetime.now(UTC) >= now + timedelta(seconds=1.5)


async def test_losing_the_lease_cancels_the_body_and_raises(database: Database) -> None:
    cleaned_up = asyncio.Event()
    with pytest.raises(LeadershipLost, match="another"):
        async with leadership(database, **FAST) as lease:
            # Someone takes the lease (as if ours had run out while this process was frozen).
            with database.session() as session:
                session.delete(session.get(Lease, NAME))
            assert _acquire(database, "thief", datetime.now(UTC))
            try:
                await asyncio.sleep(30)
            finally:
                cleaned_up.set()
            raise AssertionError("the body went on after the lease was lost")
    assert cleaned_up.is_set()
    assert lease.lost is not None
    current = _current(database)
    assert current is not None and current.holder == "thief", "the thief's lease is untouched"


async def test_an_unreachable_database_stops_the_leader_before_its_lease_runs_out(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise OperationalError("UPDATE lease", {}, Exception("connection refused"))

    with pytest.raises(LeadershipLost, match="database"):
        async with leadership(database, **FAST) as lease:
            expires_at = lease.expires_at
            monkeypatch.setattr(leases, "renew", broken)
            await asyncio.sleep(30)
    stopped = datetime.now(UTC)
    assert stopped < expires_at, "stopped polling before another could take the lease"


def test_the_sync_helper_holds_renews_and_releases(database: Database) -> None:
    lost: list[str] = []
    with held(database, on_lost=lost.append, **FAST) as lease:
        current = _current(database)
        assert current is not None and current.holder == lease.holder
        with pytest.raises(LeadershipRefused), held(database, **FAST):
            raise AssertionError("two leaders")
        first_expiry = current.expires_at
        for _ in range(100):
            renewed = _current(database)
            assert renewed is not None
            if renewed.expires_at > first_expiry:
                break
            threading.Event().wait(0.05)
        else:
            raise AssertionError("the lease was never renewed")
    assert _current(database) is None
    assert lost == []


def test_the_sync_helper_calls_on_lost_and_raises_on_exit(database: Database) -> None:
    lost = threading.Event()
    reasons: list[str] = []

    def on_lost(reason: str) -> None:
        reasons.append(reason)
        lost.set()

    with pytest.raises(LeadershipLost), held(database, on_lost=on_lost, **FAST):
        with database.session() as session:
            session.delete(session.get(Lease, NAME))
        assert _acquire(database, "thief", datetime.now(UTC))
        assert lost.wait(timeout=10), "the loss was never noticed"
    assert len(reasons) == 1


def test_the_holder_names_host_and_process() -> None:
    holder = leader.new_holder()
    host, pid, tag = holder.rsplit(":", 2)
    assert host and int(pid) == os.getpid() and tag
    assert len(holder) <= 128
    assert leader.new_holder() != holder


def test_a_holder_is_gone_only_when_its_process_on_this_machine_ended() -> None:
    """A restart after a crash on the same machine need not wait for the lease to run out."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    mine = leader.new_holder()
    host, _, tag = mine.split(":")
    assert leader.holder_gone(f"{host}:{ended.pid}:{tag}")
    assert not leader.holder_gone(mine), "this process lives"
    assert not leader.holder_gone(f"{host}:{os.getppid()}:{tag}"), "its parent lives"
    assert not leader.holder_gone(f"elsewhere:{ended.pid}:{tag}"), "another machine"
    assert not leader.holder_gone(f"{host}:{ended.pid}:ab12cd34"), "an older holder name"
    assert not leader.holder_gone(f"{host}:{ended.pid}:ab12cd34.1"), "another PID namespace"
    assert not leader.holder_gone("dead:1:x")


# --- two `nuanjing run` processes against the sandbox ----------------------------------------

START_TIMEOUT = 30.0
TAKEOVER = 15.0
STRANGER = Person(7_300_000_042, "李警官")


def _environment(sandbox: Sandbox, database_url: str, tmp_path: Path) -> dict[str, str]:
    policy = tmp_path / "policy-without-quiet-hours.toml"
    policy.write_text(policy_text_without_quiet_hours(), encoding="utf-8")
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "NUANJING_API_BASE_URL": sandbox.api_base_url,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": TEST_SECRET_KEY,
        "NUANJING_POLICY_FILE": str(policy),
    }


@contextmanager
def _nuanjing_run(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", *args], env=env, stdout=output, stderr=output
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def _wait_for(
    what: str, check: Callable[[], bool | Awaitable[bool]], timeout: float = START_TIMEOUT
) -> None:
    """Wait until `check()` is true (it may be a coroutine), checking every 0.1 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _polls_since(client: SandboxClient, since: int) -> bool:
    return any(call.method.lower() == "getupdates" for call in (await client.calls())[since:])


def _expiry(database: Database) -> datetime:
    lease = _current(database)
    assert lease is not None
    return lease.expires_at


async def test_a_second_run_refuses_or_stands_by_and_takes_over(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    env = _environment(sandbox, database_url, tmp_path)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        with _nuanjing_run(env, tmp_path / "first.log") as first:
            await _wait_for("the first run to poll", lambda: _polls_since(client, 0))
            lease = _current(database)
            assert lease is not None and f":{first.pid}:" in lease.holder

            # A second plain run refuses at once, in one sentence, without calling the Bot API.
            calls_before = len(await client.calls())
            refused = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "run"],
                env=env,
                capture_output=True,
                timeout=60,
            )
            assert refused.returncode == 2, refused.stderr.decode(errors="replace")
            lines = refused.stderr.decode().strip().splitlines()
            assert len(lines) == 1, lines
            assert lines[0].startswith("nuanjing: another nuanjing run")
            assert "start this one with --standby." in lines[0]
            # Why one at a time: SQLite, or polling on PostgreSQL.
            assert lines[0].endswith(
                (
                    "several need PostgreSQL and webhook mode.)",
                    "several need webhook mode: NUANJING_WEBHOOK_URL.)",
                )
            )
            assert f":{first.pid}:" in lines[0]
            calls = (await client.calls())[calls_before:]
            assert {call.method.lower() for call in calls} <= {"getupdates"}

            # A standby waits: no Bot API call of its own while the first renews its lease.
            standby_log = tmp_path / "standby.log"
            with _nuanjing_run(env, standby_log, "--standby") as standby:
                await _wait_for(
                    "the standby to say it waits",
                    lambda: "standby" in standby_log.read_text(encoding="utf-8", errors="replace"),
                )
                calls_before = len(await client.calls())
                # Two renewals of the first's lease (3 s apart): the standby has retried meanwhile.
                seen = _expiry(database)
                await _wait_for("a renewal", lambda: _expiry(database) > seen)
                seen = _expiry(database)
                await _wait_for("another renewal", lambda: _expiry(database) > seen)
                assert standby.poll() is None
                lease = _current(database)
                assert lease is not None and f":{first.pid}:" in lease.holder
                calls = (await client.calls())[calls_before:]
                assert {call.method.lower() for call in calls} <= {"getupdates"}
                assert all(call.status != 409 for call in await client.calls())
                await Dialog(client).play([(STRANGER, "/start", [says("欢迎使用暖警")])])

                # The first dies without releasing: the standby takes over within 15 s.
                first.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.wait, 10)
                loop = asyncio.get_running_loop()
                killed_at, seen_calls = loop.time(), len(await client.calls())
                await _wait_for(
                    "the standby to poll", lambda: _polls_since(client, seen_calls), TAKEOVER + 5
                )
                took = loop.time() - killed_at
                assert took < TAKEOVER, f"the standby took {took:.1f} s to take over"
                print(f"the standby took over {took:.1f} s after the SIGKILL")
                lease = _current(database)
                assert lease is not None and f":{standby.pid}:" in lease.holder
                await Dialog(client).play([(STRANGER, "/start", [says("欢迎使用暖警")])])
                # (The dead process's last long poll may be answered 409: nobody reads it.)
                calls = (await client.calls())[seen_calls:]
                assert all(call.status != 409 for call in calls), "two pollers"

                # A clean stop releases the lease, so that a restart need not wait.
                standby.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(standby.wait, 30) == 0
                assert _current(database) is None
    text = (tmp_path / "first.log").read_text(encoding="utf-8", errors="replace")
    text += standby_log.read_text(encoding="utf-8", errors="replace")
    assert "Conflict" not in text
    assert TEST_TOKEN not in text


async def test_a_run_that_loses_its_lease_stops_polling_and_exits_non_zero(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    env = _environment(sandbox, database_url, tmp_path)
    log = tmp_path / "run.log"
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        with _nuanjing_run(env, log) as run:
            await _wait_for("the run to poll", lambda: _polls_since(client, 0))
            # Another takes the lease (as if this one's had run out while it was frozen).
            with database.session() as session:
                session.delete(session.get(Lease, NAME))
            assert _acquire(database, "thief:1:x", datetime.now(UTC))
            code = await asyncio.to_thread(run.wait, 30)
    assert code == 1
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "nuanjing: another nuanjing run took over the lease 'poller'; stopping" in text
    assert "stopped" in text, "the bot stopped cleanly before exiting"
    lease = _current(database)
    assert lease is not None and lease.holder == "thief:1:x", "the thief's lease is untouched"


async def test_a_plain_restart_after_a_sigkill_is_not_refused(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    env = _environment(sandbox, database_url, tmp_path)
    log = tmp_path / "run.log"
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        with _nuanjing_run(env, log) as first:
            await _wait_for("the first run to poll", lambda: _polls_since(client, 0))
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
        loop = asyncio.get_running_loop()
        killed_at, seen_calls = loop.time(), len(await client.calls())
        with _nuanjing_run(env, log) as second:
            await _wait_for(
                "the restart to poll", lambda: _polls_since(client, seen_calls), TAKEOVER + 5
            )
            took = loop.time() - killed_at
            assert took < TAKEOVER, f"the restart took {took:.1f} s to poll"
            assert second.poll() is None
    text = log.read_text(encoding="utf-8", errors="replace")
    # Killed on this machine: its lease is taken over at once, not when it runs out.
    assert f"the lease 'poller' was held by {_host()}:{first.pid}:" in text
    assert "which no longer runs" in text


def _host() -> str:
    return leader.new_holder().rsplit(":", 2)[0]
