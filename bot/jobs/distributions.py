"""Distribution reminders: once, some days after publishing (the policy's
`distributions.reminder_days`; 0: only when an organizer presses 🔔 提醒未领取).

`queue_reminders` sends each open distribution published that long ago whose one reminder has
not gone (by an organizer's press or an earlier run) a REMINDER broadcast to those who have not
confirmed: per officer, the officers who have not pressed ✅ 已领取; per unit, the contacts of
the units that have not confirmed. The distribution's reminder is taken and each recipient
claimed in the send ledger (occasion "distribution:{id}", the publishing day) in the
transaction that queues it (handlers.distributions.remind), so nobody is reminded twice whatever
the number of runs, restarts or processes. bot/scheduler.py's `install` calls `schedule`; the
job reads the application's clock (bot.scheduler.clock_of), so tests can move time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, JobQueue

from handlers.common import Context
from handlers.context import services_of
from handlers.distributions import REMINDER_ACTOR, Reminded, remind
from storage import distributions as storage
from storage.db import Database

REMINDER_INTERVAL = 300  # seconds between two looks for distributions due their reminder
JOB_NAME = "distribution-reminders"

Bot = Application[Any, Any, Any, Any, Any, Any]


def queue_reminders(database: Database, now: datetime, *, zone: ZoneInfo, days: int) -> int:
    """Queue the reminders due now; how many broadcasts were written."""
    if days <= 0:
        return 0
    with database.session() as session:
        due = storage.due_reminders(session, now - timedelta(days=days))
    queued = 0
    for distribution in due:
        assert distribution.id is not None
        outcome, count = remind(database, distribution.id, now, zone, REMINDER_ACTOR)
        if outcome == Reminded.QUEUED and count:
            queued += 1
    return queued


async def run_reminders(application: Bot) -> int:
    """One look for distributions due their reminder, by the application's clock."""
    from bot.scheduler import clock_of  # the scheduler imports this module

    found = services_of(application)
    queued = await asyncio.to_thread(
        queue_reminders,
        found.database,
        clock_of(application)(),
        zone=found.zone,
        days=found.policy.distributions.reminder_days,
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def reminder_job(context: Context) -> None:
    """The JobQueue's callback: queue the distribution reminders that are due."""
    await run_reminders(context.application)


def schedule(queue: JobQueue[Any]) -> None:
    """Put the reminder job on the application's JobQueue (bot/scheduler.py's `install`)."""
    queue.run_repeating(
        reminder_job, interval=REMINDER_INTERVAL, first=REMINDER_INTERVAL, name=JOB_NAME
    )
