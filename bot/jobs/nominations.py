"""Nominations' scheduled work (issue 12): rounds made final after their publicity, and the
reminder three days before a retreat batch.

- `finalize_due`: every round in publicity whose publicity has ended is made final
  (handlers.nominations.rounds.finalize_round: honours into the register, a word to each final
  nominee queued with it). A round with an objection still undecided waits for the organizers
  (they decide, then 结束公示 or the next run). Idempotent: a final round is in publicity no more,
  and the round's row is locked while it is made final, so two runs cannot both do it.
- `queue_batch_reminders`: from REMINDER_FROM (the union's wall time) on the day three days
  before a batch of a final retreat round starts, its final nominees get a reminder with the
  dates, the place and the meeting point, claimed in the send ledger (occasion
  "retreat-batch:{batch}", the batch's first day) in the transaction that queues it, so a second
  run, a restart or a second process never sends it twice. A bot that was down that day catches
  up on the next days before the start.

bot/scheduler.py's `install` calls `schedule`; the job reads the application's clock
(bot.scheduler.clock_of), so tests can move time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, JobQueue

from bot import texts
from bot.policy import Policy
from handlers.common import Context
from handlers.context import services_of
from handlers.nominations.rounds import batch_text, day_text, finalize_round
from storage import ledger
from storage import nominations as storage
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import BroadcastKind, Priority
from storage.nominations import Refused

JOB_INTERVAL = 3600  # seconds between two runs: publicity ends by the day, reminders by the day
JOB_FIRST = 60
JOB_NAME = "nominations"
FINALIZE_ACTOR = "system:nominations"
REMINDER_ACTOR = "system:retreat-reminder"
REMINDER_DAYS = 3  # a batch is reminded this many days before its first day
REMINDER_FROM = time(9, 0)  # not before this wall time of the day

Bot = Application[Any, Any, Any, Any, Any, Any]

log = logging.getLogger(__name__)


def occasion_of(batch_id: int) -> str:
    """The send ledger's occasion of one batch's reminder."""
    return f"retreat-batch:{batch_id}"


def finalize_due(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """Make final every round whose publicity is over; how many were (one transaction each)."""
    with database.session() as session:
        due = [round_.id for round_ in storage.rounds_to_finalize(session, now) if round_.id]
    done = 0
    for round_id in due:
        # One round that cannot be made final (its transaction rolled back) must not stop the
        # others, nor the reminders after them: logged, and tried again on the next run.
        try:
            with database.session() as session:
                result = finalize_round(
                    session, round_id, actor=FINALIZE_ACTOR, now=now, zone=zone, policy=policy
                )
        except Exception:
            log.exception("nominations: round %s could not be made final", round_id)
            continue
        # Refused: made final meanwhile, or an objection still undecided (it waits).
        if not isinstance(result, Refused):
            done += 1
    return done


def queue_batch_reminders(database: Database, now: datetime, *, zone: ZoneInfo) -> int:
    """Queue the reminders of batches starting within REMINDER_DAYS days (from REMINDER_FROM);
    how many broadcasts were written."""
    local = now.astimezone(zone)
    if local.time() < REMINDER_FROM:
        return 0
    queued = 0
    for ahead in range(1, REMINDER_DAYS + 1):
        on = local.date() + timedelta(days=ahead)
        with database.session() as session:
            for reminder in storage.batches_starting(session, on):
                batch = reminder.batch
                if batch.id is None or not reminder.recipients:
                    continue
                recipients = [Recipient(officer, chat) for officer, chat in reminder.recipients]
                text = texts.ROUNDS_BATCH_REMINDER.format(
                    round=reminder.round.name,
                    start=day_text(batch.starts_on),
                    batch=batch_text(batch.starts_on, batch.ends_on, batch.place),
                    meet=batch.meeting_point or texts.ROUNDS_MEET_LATER,
                )
                broadcast = ledger.queue_once(
                    session,
                    occasion_of(batch.id),
                    batch.starts_on,
                    recipients,
                    kind=BroadcastKind.REMINDER,
                    priority=Priority.NORMAL,
                    text=text,
                    created_by=REMINDER_ACTOR,
                    expires_at=_start_of(batch.starts_on, zone),
                )
                if broadcast is not None:
                    queued += 1
    return queued


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def run_once(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """One run: rounds made final, then the reminders due; what was written. A failure of
    the first (logged) does not keep the reminders from being queued."""
    try:
        done = finalize_due(database, policy, now, zone=zone)
    except Exception:
        log.exception("nominations: rounds to make final could not be read")
        done = 0
    return done + queue_batch_reminders(database, now, zone=zone)


async def run(application: Bot) -> int:
    """One run by the application's clock, in a worker thread; wakes the sender if needed."""
    from bot.scheduler import clock_of  # the scheduler imports this module

    found = services_of(application)
    written = await asyncio.to_thread(
        run_once, found.database, found.policy, clock_of(application)(), zone=found.zone
    )
    if written:
        found.broadcaster.wake()
    return written


async def nominations_job(context: Context) -> None:
    """The JobQueue's callback: rounds to make final and batch reminders due."""
    await run(context.application)


def schedule(queue: JobQueue[Any]) -> None:
    """Put the job on the application's JobQueue (bot/scheduler.py's `install`)."""
    queue.run_repeating(nominations_job, interval=JOB_INTERVAL, first=JOB_FIRST, name=JOB_NAME)
