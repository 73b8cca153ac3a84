"""Blood drive reminders: a REMINDER broadcast the day before each drive, to those signed up.

`queue_reminders` writes a REMINDER broadcast per drive whose day before has come (in the
union's zone, NUANJING_TIMEZONE: the caller passes it, there is no default), to the officers
signed up then (not the waitlist), claiming each of them in the send ledger (occasion
"drive:{id}", the drive's local date) in the same transaction, so each officer is reminded of a
drive once, whatever the number of runs, restarts or processes; someone who moves up from the
waitlist that day is reminded on the next run. Who is to be reminded is the capacity engine's
answer (storage.capacity.to_remind). A drive cancelled or moved stops the reminders queued for it
(storage.drives.stop_reminders); a cancelled one is never due again, a moved one is reminded of
its new time and place. bot/scheduler.py runs `reminder_job` from PTB's JobQueue
every REMINDER_INTERVAL seconds; it reads the zone from the application's services.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot import texts
from handlers.common import Context
from handlers.context import services_of
from handlers.drives import when_text
from storage import drives as drive_storage
from storage import ledger
from storage.db import Database
from storage.models import BroadcastKind, DriveStatus, Priority
from storage.types import utcnow

REMINDER_INTERVAL = 600  # seconds between two looks for drives due a reminder
REMINDER_ACTOR = "system:drive-reminder"


def queue_reminders(database: Database, now: datetime, *, zone: ZoneInfo) -> int:
    """Write a reminder broadcast for each drive whose day before has come; how many.

    "The day before" is the calendar day before the drive's date in the union's zone: from
    00:00 that day until the drive starts (so a bot that was down that day still reminds).
    Only officers signed up at that moment are reminded, not those on the waitlist; each of
    them once, by the send ledger.
    """
    today = now.astimezone(zone).date()
    until = datetime.combine(today + timedelta(days=2), time(0), tzinfo=zone)
    with database.session() as session:
        due = drive_storage.due_for_reminder(session, now, until)
    queued = 0
    for drive in due:
        assert drive.id is not None
        occasion, day = f"drive:{drive.id}", drive.starts_at.astimezone(zone).date()
        with database.session() as session:
            fresh = drive_storage.to_remind(session, drive.id, occasion, day)
        if not fresh:
            continue  # everyone signed up has had theirs: this run writes nothing
        # A transaction of its own whose first statement writes (the broadcast), so that runs
        # racing on SQLite queue one after the other; the claim decides again who is new.
        with database.session() as session:
            broadcast = ledger.queue_once(
                session,
                occasion,
                day,
                fresh,
                kind=BroadcastKind.REMINDER,
                priority=Priority.NORMAL,
                text=texts.DRIVE_REMINDER.format(
                    id=drive.id, when=when_text(drive.starts_at, zone), place=drive.place
                ),
                created_by=REMINDER_ACTOR,
                # A reminder still waiting when the drive begins is of no use any more.
                expires_at=drive.starts_at,
            )
            if broadcast is None:
                continue  # another run claimed them in between
            # Cancelled or moved since it was read: nothing of this reminder holds any more. The
            # drive is locked, so a cancellation either came first or will find this reminder
            # in the ledger and stop it (storage.drives.stop_reminders).
            current = drive_storage.get(session, drive.id, for_update=True)
            if (
                current is None
                or current.status != DriveStatus.OPEN
                or current.starts_at != drive.starts_at
                or current.place != drive.place
            ):
                session.rollback()
                continue
            drive_storage.mark_reminded(session, drive.id)
        queued += 1
    return queued


def run_reminders(application: Application[Any, Any, Any, Any, Any, Any], now: datetime) -> int:
    """One look for drives due a reminder, in the application's zone; wakes the sender if any
    reminder was queued. How many were."""
    found = services_of(application)
    queued = queue_reminders(found.database, now, zone=found.zone)
    if queued:
        found.broadcaster.wake()
    return queued


async def reminder_job(context: Context) -> None:
    """The JobQueue's callback: queue due reminders in a worker thread (database work must not
    stall the updates and the sender on the event loop), then wake the sender."""
    found = services_of(context.application)
    queued = await asyncio.to_thread(queue_reminders, found.database, utcnow(), zone=found.zone)
    if queued:
        found.broadcaster.wake()
