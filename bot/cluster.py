"""Several `nuanjing run` instances on one PostgreSQL database, in webhook mode.

Any instance may receive any update (a load balancer in front of them). Each instance:

- holds a lease of its own, "instance:<holder>" (storage/leases.py), renewed every few seconds:
  it is how the others know it lives. Updates it receives are stored with its name (`owner`),
  and so are the updates it handles: it makes their replies;
- handles every update it receives, one officer's updates in order across instances and never
  two of them at once (bot/inbox.py: an advisory lock per officer, and their older updates
  not yet handled first, whichever instance received them). Conversations read their step from
  the database on every update (handlers/flow.py), never from an instance's memory;
- stands by for the lead. The leader (lease "poller", the same one a single `nuanjing run`
  holds) alone runs the broadcast sender and the scheduled jobs, and adopts the work of
  instances that are gone (their lease ran out, or their process is gone on this machine):
  their updates not yet handled and their replies not yet made. A SIGKILLed leader's lease
  runs out within TTL (10 s) and a standby takes over (at once when it ran on this machine).

An instance that loses its own lease or the lead while holding it (the database unreachable
for about 8 s) stops and exits non-zero (its work is adopted): the service manager restarts
it. SQLite keeps one instance per database (the lease, bot/leader.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Job

from bot.app import SHARED_KEY, BotApplication, inbox_of, sender_of, start_leading, stop_leading
from bot.leader import (
    INSTANCE_PREFIX,
    LeadershipLost,
    holder_gone,
    leadership,
    new_holder,
    terminate_self,
)
from storage import broadcasts, leases
from storage import inbox as inbox_storage
from storage.db import Database
from storage.types import utcnow

log = logging.getLogger(__name__)

# How often the leader looks for the work of instances that are gone.
ADOPT_EVERY = 1.0
# How often every instance rereads who blocked the bot (the leader's sender marks them).
UNREACHABLE_EVERY = 5.0
# How soon an instance drops the rows of the replies it made: another instance answering the
# same officer next waits for them (bot/inbox.py, replies in order).
STRIKE_SOONER = 0.05
# How often the leader drops handled updates older than a week.
PURGE_EVERY = 3600.0


def shared(database: Database, webhook: bool) -> bool:
    """Several instances may share this database: PostgreSQL, in webhook mode."""
    return webhook and database.dialect == "postgresql"


class Cluster:
    """This instance's membership and its part in the lead."""

    def __init__(self, application: BotApplication, database: Database) -> None:
        self.application = application
        self.database = database
        self.holder = new_holder()
        # Set when this instance must stop: it lost the lead (or could not keep it).
        self.failed = asyncio.Event()
        self.reason: str | None = None
        self.leading = False
        application.bot_data[SHARED_KEY] = True
        inbox = inbox_of(application)
        inbox.owner = self.holder
        inbox.strike_delay = STRIKE_SOONER

    @asynccontextmanager
    async def member(self) -> AsyncIterator[None]:
        """This instance's own lease for the body (enter before taking updates).

        Should it be lost, the task that entered is cancelled and LeadershipLost comes out.
        """
        async with leadership(
            self.database,
            name=INSTANCE_PREFIX + self.holder,
            holder=self.holder,
            on_lost=self._instance_lost,
        ):
            log.info("instance %s: one of several on this database", self.holder)
            async with _alongside(self._watch_unreachable(), "unreachable"):
                yield

    def _instance_lost(self, reason: str) -> None:
        """This instance's own lease is gone: the leader may adopt its work any moment now.
        Take nothing more (a webhook POST is answered 503, so Telegram retries it elsewhere)
        and exit within HARD_EXIT_AFTER seconds whatever is under way."""
        inbox_of(self.application).close()
        terminate_self(reason)

    def standing_by(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Stand by for the lead during the body; on leaving, stop leading and let it go."""
        return _alongside(self._lead(), "lead")

    async def _lead(self) -> None:
        try:
            async with leadership(self.database, standby=True, holder=self.holder):
                jobs: list[Job[Any]] = []
                try:
                    self.leading = True
                    log.info(
                        "instance %s leads: the sender and the scheduled jobs run here", self.holder
                    )
                    jobs = await start_leading(self.application)
                    await self._adopting()
                finally:
                    self.leading = False
                    # The sender stops (its sends in flight end) before the lease goes, so the
                    # next leader never takes up a send still under way here.
                    await stop_leading(self.application, jobs)
        except LeadershipLost as exc:
            self.reason = str(exc)
            self.failed.set()
        except Exception as exc:  # the lead cannot be kept: stop, a restart goes on
            log.exception("the lead failed")
            self.reason = f"the lead failed: {type(exc).__name__}"
            self.failed.set()

    async def _adopting(self) -> None:
        """The leader's loop: take over the work of instances that are gone."""
        inbox = inbox_of(self.application)
        purged_at = 0.0
        while True:
            if time.monotonic() - purged_at > PURGE_EVERY:
                try:
                    purged = await asyncio.to_thread(inbox.purge)
                    purged_at = time.monotonic()
                    if purged:
                        log.info("purged %d handled updates older than a week", purged)
                except SQLAlchemyError as exc:
                    log.warning("could not purge handled updates (%s)", type(exc).__name__)
            try:
                gone = await asyncio.to_thread(self.gone)
                if gone:
                    await inbox.adopt(gone)
            except SQLAlchemyError as exc:
                log.warning("could not look for stopped instances (%s)", type(exc).__name__)
            await asyncio.sleep(ADOPT_EVERY)

    def gone(self) -> set[str | None]:
        """Instances that hold work but no longer run (None: rows of a single-instance run)."""
        with self.database.session() as session:
            owners = inbox_storage.owners_with_work(session)
            if not owners - {self.holder}:
                return set()
            live = leases.live_holders(session, INSTANCE_PREFIX, utcnow())
        return {
            owner
            for owner in owners
            if owner != self.holder and (owner is None or owner not in live or holder_gone(owner))
        }

    async def _watch_unreachable(self) -> None:
        """Keep this instance's list of officers who blocked the bot fresh: the leader's sender
        marks them, and whichever instance they write to next clears the mark."""
        sender = sender_of(self.application)
        while True:
            if not self.leading:  # the leader's sender keeps its own list
                try:
                    sender.unreachable = await asyncio.to_thread(self._unreachable)
                except SQLAlchemyError as exc:
                    log.warning("could not read unreachable officers (%s)", type(exc).__name__)
            await asyncio.sleep(UNREACHABLE_EVERY)

    def _unreachable(self) -> set[int]:
        with self.database.session() as session:
            return broadcasts.unreachable_users(session)


@asynccontextmanager
async def _alongside(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run `work` as a task during the body; cancel it (and let it finish) on leaving."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["INSTANCE_PREFIX", "Cluster", "shared"]
