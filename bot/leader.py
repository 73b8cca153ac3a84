"""Leadership: one `nuanjing run` per database polls Telegram and runs the broadcast sender.

Telegram lets one process per token poll (a second one gets "Conflict" every second), and two
senders draining one outbox duplicate deliveries and double the rate. So `nuanjing run` holds the
lease "poller" (storage/leases.py) for as long as it polls:

- It takes the lease before the bot starts. If another live process holds it (seen renewing
  it, so within RENEW_EVERY seconds), `run` stops with one sentence (LeadershipRefused); as a
  standby it logs once that it waits and tries again every RETRY_EVERY seconds (and at the
  moment the holder's lease runs out). A lease left by a killed run is taken over once it
  runs out, by a standby or a plain run alike: a restart after a crash is not refused. When
  the holder was a process of this machine that no longer runs (`holder_gone`: same host and
  PID namespace, its PID gone), the lease is taken over at once instead.
- While it holds the lease it renews it every RENEW_EVERY seconds for TTL. A process killed
  with SIGKILL cannot release: its lease runs out within TTL and a standby takes over (in
  10–11 s with the defaults).
- If a renewal finds the lease taken by another, or the database cannot be reached until
  SAFETY before the lease would run out, the holder stops polling and LeadershipLost comes
  out (never two pollers); the caller exits non-zero.
- A clean exit releases the lease, so a restart does not wait.

Two ways in, the same lease:

    with held(database, standby=standby):        # blocking: `nuanjing run` (bot/cli.py)
        asyncio.run(runner.run(...))             # renewed by a thread; a loss sends SIGTERM

    async with leadership(database, standby=standby):   # inside an event loop
        async with polling(application):                # renewed by a task; a loss cancels
            await stop.wait()                           # the task that entered

Holders are "hostname:pid:random". Times are UTC (storage.types.utcnow); every process's clock
must be within a second or so of the others' (NTP), well inside the TTL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from storage import leases
from storage.db import Database
from storage.models import Lease
from storage.types import utcnow

log = logging.getLogger(__name__)

POLLER = "poller"
# Each of several instances on one database holds a lease of its own (bot/cluster.py).
INSTANCE_PREFIX = "instance:"
TTL = timedelta(seconds=10)
RENEW_EVERY = 3.0  # seconds between renewals (three chances within one TTL)
RETRY_EVERY = 2.0  # seconds between a standby's attempts
WATCH_EVERY = 0.5  # seconds between a plain run's looks at a lease it may refuse
SAFETY = 2.0  # seconds before its lease runs out at which a holder that cannot renew stops
# After losing the lease, how long the blocking helper's process may take to stop cleanly
# before it is ended outright.
HARD_EXIT_AFTER = 10.0
EXIT_LOST = 1

_LOST_TO_ANOTHER = "another nuanjing run took over the lease {name!r}; stopping"
_LOST_DATABASE = "the database could not be reached to renew the lease {name!r} in time; stopping"


class LeadershipRefused(Exception):
    """Another live process holds the lease; the message is one sentence for the operator."""


class LeadershipLost(Exception):
    """The lease was lost while held; the process must stop polling and exit non-zero."""


def _pid_namespace() -> str:
    """This process's PID namespace (Linux), so that a PID is only judged where it means this
    process; "" where it cannot be read."""
    try:
        link = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return "".join(ch for ch in link if ch.isdigit())


def new_holder() -> str:
    """A holder name unique to this process and this acquisition: hostname:pid:random.pidns."""
    host = (socket.gethostname() or "localhost")[:96]
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}.{_pid_namespace()}"


def holder_gone(holder: str) -> bool:
    """True if the holder was a process of this machine (same host and PID namespace) that no
    longer runs: its lease can be taken over at once instead of when it runs out.

    Anything else (another machine, an older holder name, a process alive, or one that may be
    alive) is False: the lease then runs out as before.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, tag = rest.partition(":")
    namespace = tag.partition(".")[2]
    here = (socket.gethostname() or "localhost")[:96]
    if host != here or not namespace or namespace != _pid_namespace():
        return False
    if not pid_text.isdigit() or int(pid_text) in (0, os.getpid()):
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive under another user, or unknown
    return False


def refusal(rival: Lease | None) -> str:
    """The one sentence a refused `nuanjing run` prints."""
    if rival is None:
        who = "another nuanjing run holds this database"
    else:
        since = rival.acquired_at.strftime("%Y-%m-%d %H:%M:%S")
        who = f"another nuanjing run ({rival.holder}) holds this database since {since} UTC"
    return f"{who}; stop it or start this one with --standby."


@dataclass
class Leadership:
    """One process's claim on a named lease, and what it knows of it."""

    database: Database
    name: str
    ttl: timedelta
    safety: timedelta
    holder: str = field(default_factory=new_holder)
    expires_at: datetime = field(default_factory=utcnow)
    lost: str | None = None  # why the lease was lost, once it was
    rival: Lease | None = None  # the lease as another held it at the last failed `take`

    def take(self) -> bool:
        """Try to take the lease: True if this process now holds it; else see `rival`."""
        for _ in range(3):  # the rival may release or expire between the two statements
            now = utcnow()
            with self.database.session() as session:
                if leases.acquire(session, self.name, self.holder, self.ttl, now):
                    self.expires_at = now + self.ttl
                    self.rival = None
                    return True
            with self.database.session() as session:
                self.rival = leases.current(session, self.name)
            if self.rival is not None and self.rival.expires_at >= utcnow():
                break
        return False

    def renew(self) -> bool:
        """Extend the lease; False if another holds it now."""
        now = utcnow()
        with self.database.session() as session:
            kept = leases.renew(session, self.name, self.holder, self.ttl, now)
        if kept:
            self.expires_at = now + self.ttl
        return kept

    def release(self) -> None:
        """Give the lease up (best effort: if this fails, it runs out within the TTL)."""
        try:
            with self.database.session() as session:
                released = leases.release(session, self.name, self.holder)
        except SQLAlchemyError as exc:
            log.warning("could not release the lease %r (%s)", self.name, type(exc).__name__)
            return
        if released:
            self.count("released")

    def drop(self, holder: str) -> None:
        """Delete the lease of a holder known to be gone (`holder_gone`)."""
        with self.database.session() as session:
            leases.release(session, self.name, holder)

    def count(self, change: str) -> None:
        """Count a change of the lead in /metrics (an instance's own lease is not the lead)."""
        if not self.name.startswith(INSTANCE_PREFIX):
            metrics.LEADER_CHANGES.labels(change).inc()

    def seconds_left(self) -> float:
        """Seconds until this holder must have stopped unless it renews."""
        return (self.expires_at - self.safety - utcnow()).total_seconds()

    def lose(self, reason: str) -> None:
        """Note (and log) that the lease is lost: the process must stop polling."""
        if self.lost is None:
            self.lost = reason
            log.error("%s", reason)
            self.count("lost")


@dataclass
class _Acquisition:
    """The attempts of one process to take the lease, until it has it or is refused.

    A lease another process holds is not proof that it lives: a run killed with SIGKILL
    leaves its lease behind for up to the TTL. So a plain run refuses only once it has seen
    the rival's lease change (renewed, every RENEW_EVERY seconds, or taken by yet another);
    a lease that stays as it was runs out and is taken over, so that a restart after a crash
    starts within the TTL instead of being refused. A standby waits for any rival.
    """

    lease: Leadership
    standby: bool
    retry_every: float
    told: bool = False
    seen: tuple[str, datetime] | None = None  # the rival's lease as first seen

    def attempt(self) -> float | None:
        """Try once: None once the lease is taken, else the seconds to wait before the next."""
        lease = self.lease
        try:
            taken = lease.take()
        except SQLAlchemyError as exc:
            if not self.standby:
                raise
            log.warning("standby: cannot reach the database (%s); trying again", type(exc).__name__)
            return self.retry_every
        if taken:
            lease.count("took")
            if self.told:
                log.info("standby: took over the lease %r as %s", lease.name, lease.holder)
            elif self.seen is not None:
                log.info(
                    "took over the lease %r from %s, which stopped without releasing it",
                    lease.name,
                    self.seen[0],
                )
            else:
                log.info("holding the lease %r as %s", lease.name, lease.holder)
            return None
        rival = lease.rival
        if rival is None:  # it came and went between the statements: try again soon
            return min(self.retry_every, 0.1)
        if holder_gone(rival.holder):
            # Killed on this machine (a restart after a crash): its lease need not run out.
            log.info("the lease %r was held by %s, which no longer runs", lease.name, rival.holder)
            lease.drop(rival.holder)
            return 0.0
        until_expiry = (rival.expires_at - utcnow()).total_seconds() + 0.05
        if not self.standby:
            mark = (rival.holder, rival.expires_at)
            if self.seen is not None and mark != self.seen:
                raise LeadershipRefused(refusal(rival))
            self.seen = self.seen or mark
            return min(WATCH_EVERY, max(0.05, until_expiry))
        if not self.told:
            log.info("standby: %s; taking over when it stops", refusal(rival).split(";", 1)[0])
            self.told = True
        return min(self.retry_every, max(0.05, until_expiry))


# --- async -------------------------------------------------------------------------------


@asynccontextmanager
async def leadership(
    database: Database,
    *,
    name: str = POLLER,
    standby: bool = False,
    ttl: timedelta = TTL,
    renew_every: float = RENEW_EVERY,
    retry_every: float = RETRY_EVERY,
    safety: float = SAFETY,
    holder: str | None = None,
    on_lost: Callable[[str], None] | None = None,
) -> AsyncIterator[Leadership]:
    """Hold the lease `name` for the body's duration; enter before the bot starts polling.

    Raises LeadershipRefused on entry if another process holds it (unless `standby`, which
    waits for it). Should the lease be lost while held, the task that entered is cancelled (so
    its polling stops, its cleanup running as for Ctrl-C) and LeadershipLost comes out of the
    `async with`. `lease.lost` says why. `holder` names the holder (default: a new name);
    `on_lost(reason)` is called first, when the lease is lost.
    """
    lease = Leadership(database, name, ttl, timedelta(seconds=safety))
    if holder is not None:
        lease.holder = holder
    acquisition = _Acquisition(lease, standby, retry_every)
    while True:
        try:
            wait = await asyncio.to_thread(acquisition.attempt)
        except asyncio.CancelledError:
            lease.release()  # in case the attempt under way took it
            raise
        if wait is None:
            break
        await asyncio.sleep(wait)
    owner = asyncio.current_task()
    assert owner is not None
    cancelled = False

    def keeper_done(task: asyncio.Task[None]) -> None:
        nonlocal cancelled
        if task.cancelled():
            return
        if task.exception() is not None:
            lease.lose(f"the lease {name!r} could not be kept ({type(task.exception()).__name__})")
        if lease.lost is not None and on_lost is not None:
            on_lost(lease.lost)
        if lease.lost is not None and not owner.done():
            cancelled = True
            owner.cancel()

    keeper = asyncio.create_task(_keep(lease, renew_every), name=f"lease:{name}")
    keeper.add_done_callback(keeper_done)
    try:
        yield lease
    except BaseException as exc:
        keeper.cancel()
        if lease.lost is None:
            lease.release()
            raise
        if cancelled:
            owner.uncancel()
        raise LeadershipLost(lease.lost) from (
            None if isinstance(exc, asyncio.CancelledError) else exc
        )
    keeper.cancel()
    if lease.lost is None:
        lease.release()
        return
    if cancelled:
        owner.uncancel()
    raise LeadershipLost(lease.lost)


async def _keep(lease: Leadership, renew_every: float) -> None:
    """Renew the lease until cancelled; return once it is lost (lease.lost says why)."""
    while True:
        await asyncio.sleep(max(0.0, min(renew_every, lease.seconds_left())))
        left = lease.seconds_left()
        if left <= 0:
            return lease.lose(_LOST_DATABASE.format(name=lease.name))
        try:
            kept = await asyncio.wait_for(asyncio.to_thread(lease.renew), timeout=left)
        except TimeoutError:
            return lease.lose(_LOST_DATABASE.format(name=lease.name))
        except Exception as exc:
            log.warning("could not renew the lease %r (%s)", lease.name, type(exc).__name__)
            continue
        if not kept:
            return lease.lose(_LOST_TO_ANOTHER.format(name=lease.name))


# --- blocking ----------------------------------------------------------------------------


def terminate_self(reason: str) -> None:
    """Send this process SIGTERM, and end it outright HARD_EXIT_AFTER seconds later.

    `nuanjing run` (bot/runner.py, like PTB's run_polling) stops cleanly on SIGTERM.
    """
    del reason  # already logged

    def hard_exit() -> None:
        log.error("still running %.0f s after losing the lease; exiting now", HARD_EXIT_AFTER)
        logging.shutdown()
        os._exit(EXIT_LOST)

    timer = threading.Timer(HARD_EXIT_AFTER, hard_exit)
    timer.daemon = True
    timer.start()
    os.kill(os.getpid(), signal.SIGTERM)


@contextmanager
def held(
    database: Database,
    *,
    name: str = POLLER,
    standby: bool = False,
    ttl: timedelta = TTL,
    renew_every: float = RENEW_EVERY,
    retry_every: float = RETRY_EVERY,
    safety: float = SAFETY,
    on_lost: Callable[[str], None] = terminate_self,
) -> Iterator[Leadership]:
    """`leadership` for blocking code (`nuanjing run`): the same lease, renewed by a thread.

    Should the lease be lost, `on_lost(reason)` is called from that thread (by default
    `terminate_self`: a SIGTERM, on which bot/runner.py stops polling), and LeadershipLost is
    raised when the body returns.
    """
    lease = Leadership(database, name, ttl, timedelta(seconds=safety))
    acquisition = _Acquisition(lease, standby, retry_every)
    while True:
        wait = acquisition.attempt()
        if wait is None:
            break
        time.sleep(wait)
    stop = threading.Event()
    keeper = threading.Thread(
        target=_keep_blocking,
        args=(lease, renew_every, stop, on_lost),
        name=f"lease:{name}",
        daemon=True,
    )
    keeper.start()
    try:
        yield lease
    finally:
        stop.set()
        keeper.join(timeout=renew_every + lease.ttl.total_seconds())
        if lease.lost is None:
            lease.release()
    if lease.lost is not None:
        raise LeadershipLost(lease.lost)


def _keep_blocking(
    lease: Leadership, renew_every: float, stop: threading.Event, on_lost: Callable[[str], None]
) -> None:
    with ThreadPoolExecutor(1, thread_name_prefix=f"lease:{lease.name}") as renewals:
        while not stop.wait(max(0.0, min(renew_every, lease.seconds_left()))):
            left = lease.seconds_left()
            reason = _LOST_DATABASE.format(name=lease.name)
            if left > 0:
                try:
                    if renewals.submit(lease.renew).result(timeout=left):
                        continue
                    reason = _LOST_TO_ANOTHER.format(name=lease.name)
                except FutureTimeout:
                    pass
                except Exception as exc:
                    log.warning("could not renew the lease %r (%s)", lease.name, type(exc).__name__)
                    continue
            if stop.is_set():
                return
            lease.lose(reason)
            on_lost(reason)
            return
