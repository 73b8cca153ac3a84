"""Waiting until the bot has nothing in flight, rather than for a fixed time.

"Nothing more arrived" is only worth asserting once nothing more can arrive. The bot is settled
when, all at once:

- the sandbox holds no update the bot has not taken and no Bot API call of the bot is in
  progress, its long poll aside (`SandboxClient.wait_idle`);
- its inbox holds no update still to be handled and no reply still to be made (bot/inbox.py);
- its outbox holds no delivery the sender is sending or may still send now (in the quiet hours
  only urgent ones go out; the rest waits for the morning by design);
- and the sandbox then sees no call begin for SETTLE_SECONDS.

Scheduled jobs (reminders, greetings, an appeal's next tally edit, a broadcast's next progress
edit) run on their clocks and are not waited for: tests of those wait for what they expect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlmodel import col, func, select

from bot.app import INBOX_KEY, SENDER_KEY
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import Delivery, DeliveryState, InboxUpdate, PendingReply, Priority

# The sandbox must see nothing of the bot for this long once the database said it has nothing
# left: the gap between a commit and the first call it makes is far shorter (a few turns of the
# event loop the bot, the sandbox and the test share).
SETTLE_SECONDS = 0.05
SETTLE_TIMEOUT = 20.0
# How often the database is asked again while the bot is busy without calling Telegram.
POLL_SECONDS = 0.01
# Without a database to look at, the sandbox alone decides: quiet for this long.
SANDBOX_ONLY_SECONDS = 0.3


async def settle(
    client: SandboxClient,
    database: Database | None = None,
    application: Any = None,
    *,
    timeout: float = SETTLE_TIMEOUT,
) -> None:
    """Return once the bot has taken every update and has nothing in flight.

    `database` adds the inbox and outbox to what is looked at; `application` (the bot's, in this
    process) lets the made replies be struck at once and says whether it is quiet hours.
    Raises AssertionError naming what is still going on after `timeout` seconds.
    """
    if database is None:
        await client.wait_idle(settle=SANDBOX_ONLY_SECONDS, timeout=timeout)
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        # Every update taken (so stored in the inbox) and no call in progress...
        mark = await client.wait_idle(settle=0.0, timeout=_left(loop, deadline))
        busy = await unsettled(database, application)
        if busy is not None:
            pause = POLL_SECONDS  # working without calling Telegram: look again shortly
        else:
            # ... nothing left in the database, and nothing began since, nor does for a while.
            again = await client.idle(
                settle=SETTLE_SECONDS, timeout=_left(loop, deadline) + SETTLE_SECONDS, fresh=True
            )
            if again.idle and again.mark == mark:
                return
            busy, pause = f"it kept calling Telegram ({again.in_flight or 'between calls'})", 0.0
        if loop.time() > deadline:
            raise AssertionError(f"the bot never settled within {timeout}s: {busy}")
        await asyncio.sleep(pause)


def _left(loop: asyncio.AbstractEventLoop, deadline: float) -> float:
    return max(0.0, deadline - loop.time())


async def unsettled(database: Database, application: Any = None) -> str | None:
    """What the bot still has to do, by its database; None if nothing."""
    quiet_hours = False
    if application is not None:
        inbox = application.bot_data.get(INBOX_KEY)
        # Calls already made are struck off their rows a moment later (bot/inbox.py): now.
        strike = getattr(inbox, "strike_now", None)
        if strike is not None:
            await strike()
        sender = application.bot_data.get(SENDER_KEY)
        quiet_hours = sender is not None and bool(sender.quiet_now())
    with database.session() as session:
        waiting = session.exec(
            select(func.count())
            .select_from(InboxUpdate)
            .where(col(InboxUpdate.handled_at).is_(None))
        ).one()
        if waiting:
            return f"{waiting} update(s) not yet handled"
        replies = session.exec(select(func.count()).select_from(PendingReply)).one()
        if replies:
            return f"{replies} reply(ies) not yet made"
        due = (
            col(Delivery.state) == DeliveryState.SENDING
            if quiet_hours
            else col(Delivery.state).in_((DeliveryState.PENDING, DeliveryState.SENDING))
        )
        if quiet_hours:
            urgent = (col(Delivery.state) == DeliveryState.PENDING) & (
                col(Delivery.priority) == int(Priority.URGENT)
            )
            due = due | urgent
        deliveries = session.exec(select(func.count()).select_from(Delivery).where(due)).one()
        if deliveries:
            return f"{deliveries} delivery(ies) still to send"
    return None


async def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Return once check() is true, looking every 50 ms; AssertionError after `timeout` s."""
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")
