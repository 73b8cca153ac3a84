"""The claim reminder of medical mutual aid: once per reported hospitalization, after the stay,
to the officer concerned only, naming the schemes they are enrolled in and the documents.

The bot does not know the discharge. A care case of event "hospitalization" (reported through
/report, by the officer or a colleague) carries the admission date; the reminder is due from
that date plus the policy's `mutual_aid.claim_reminder_days` (7 by default) for
bot.rules.mutual_aid.REMINDER_WINDOW (30 days), so a case reported late still gets it and an
old one never does. An organizer marking the case visited does not bring it forward: visits
happen during the stay. A case marked duplicate or declined, an officer who left, or one
enrolled in no scheme of the admission's year gets none.

Each reminder is claimed in the send ledger (occasion "mutual-aid-claim:{case}", the admission
date) in the transaction that queues its broadcast, so nobody gets it twice whatever the number
of runs, restarts or processes. It goes to the officer's own private chat through the broadcast
engine, at normal priority (held in the quiet hours), and says nothing of the stay itself
(hospital, ward, illness); nothing of it is logged. `schedule` puts the job on the JobQueue
(bot/scheduler.py's `install`); the job reads the application's clock (bot.scheduler.clock_of),
so tests can move time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, JobQueue

from bot.policy import Policy
from bot.rules import mutual_aid as rules
from handlers.common import Context
from handlers.context import services_of
from handlers.mutual_aid import reminder_text
from storage import ledger
from storage import mutual_aid as storage
from storage.db import Database
from storage.models import BroadcastKind, Priority
from storage.mutual_aid import DueReminder

REMINDER_INTERVAL = 600  # seconds between two looks: a reminder a few minutes late is fine
REMINDER_ACTOR = "system:mutual-aid-reminder"
JOB_NAME = "mutual-aid-reminders"

Bot = Application[Any, Any, Any, Any, Any, Any]


def occasion_of(case_id: int) -> str:
    """The send ledger's occasion of one hospitalization's claim reminder."""
    return f"mutual-aid-claim:{case_id}"


def queue_reminders(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """Queue the claim reminders due now; how many were written."""
    today = now.astimezone(zone).date()
    first, last = rules.admissions_reminded_on(today, policy.mutual_aid.claim_reminder_days)
    with database.session() as session:
        due = storage.hospitalizations_between(session, first, last)
    return sum(1 for item in due if _queue_one(database, policy, item))


def _queue_one(database: Database, policy: Policy, item: DueReminder) -> bool:
    """One officer's reminder for one stay, unless they had it or have no scheme to claim."""
    year = item.admitted_on.year
    occasion = occasion_of(item.case_id)
    with database.session() as session:
        if not ledger.unclaimed(session, occasion, item.admitted_on, [item.officer_id]):
            return False
        enrolled = set(storage.schemes_of(session, item.officer_id, year))
        schemes = [scheme for scheme in policy.mutual_aid.of_year(year) if scheme.key in enrolled]
        recipient = storage.recipient_of(session, item.officer_id)
        if not schemes or recipient is None:
            return False
        broadcast = ledger.queue_once(
            session,
            occasion,
            item.admitted_on,
            [recipient],
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text=reminder_text(schemes),
            created_by=REMINDER_ACTOR,
        )
    return broadcast is not None


async def run_reminders(application: Bot) -> int:
    """One look for claim reminders due, by the application's clock; wakes the sender."""
    from bot.scheduler import clock_of  # the scheduler imports this module

    found = services_of(application)
    queued = await asyncio.to_thread(
        queue_reminders, found.database, found.policy, clock_of(application)(), zone=found.zone
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def reminder_job(context: Context) -> None:
    """The JobQueue's callback: queue the claim reminders that are due."""
    await run_reminders(context.application)


def schedule(queue: JobQueue[Any]) -> None:
    """Put the reminder job on the application's JobQueue (bot/scheduler.py's `install`)."""
    queue.run_repeating(
        reminder_job, interval=REMINDER_INTERVAL, first=REMINDER_INTERVAL, name=JOB_NAME
    )
