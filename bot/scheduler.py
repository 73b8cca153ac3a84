"""The scheduler: PTB's JobQueue runs every repeating job of the bot from here.

- "greetings", every TICK_SECONDS: today's festival and birthday greetings (bot/greetings.py)
  from 09:00 to 21:00; the first tick comes TICK_SECONDS after the start, so a bot that was
  down at 09:00 catches up within a minute of starting again.
- "drive-reminders": the day-before reminders of blood drives (bot.jobs.drives.reminder_job).
- "appeal-deadlines": urgent appeals past their deadline are closed (bot.jobs.appeals).
- "event-reminders", every minute: 24 hours and 2 hours before each event (earlier when the
  mark falls in the quiet hours), to those signed up then (bot.jobs.events.queue_reminders).
- "booking-reminders", every minute: at 20:00 the evening before a booked slot and an hour
  before it, to those holding a place then, not the waitlist (bot.jobs.bookings).
- "workdays-notice", daily: organizers are told once per year when the official arrangement of
  holidays (调休) of this year, or from November of next year, is missing (bot.jobs.workdays).
- "monthly-digest" and "year-cards", every minute: last month's figures and chart to the
  organizers from 09:00 on the 1st; each officer's own year card on 1 January, after the New
  Year greeting (bot.jobs.digest, which also gives the sender their pictures).
- "inbox-purge", hourly: updates handled more than a week ago leave the inbox (bot/inbox.py).
- "seal-care-reasons", once at start: reasons of care cases stored in clear before migration
  0009 are sealed with the key (storage.care.seal_plain_reasons; a migration has no key).

Reminders and greetings are claimed in the send ledger (storage.ledger) with their deliveries,
so a second tick, a restart or a second process never sends anything twice; each job only has
to ask "what is due now?". A new reminder source is one more call in `install`.

The greeting job reads the time from the application's Clock (`clock_of`), as do the sender's
quiet hours, the event reminders and the booking reminders, so tests can put the bot at 09:00
on a festival or at 23:00. (The drive reminder and appeal deadline jobs read the real time;
their tests pass `now` to the queueing functions.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram.ext import Application

from bot.greetings import queue_greetings
from bot.jobs import (
    appeals,
    bookings,
    digest,
    distributions,
    drives,
    events,
    mutual_aid,
    nominations,
    surveys,
    workdays,
)
from bot.rules.workdays import WorkCalendar
from handlers.common import Context
from handlers.context import services_of
from storage import broadcasts, care
from storage.types import utcnow

TICK_SECONDS = 60
# Handled updates older than a week leave the inbox (bot/inbox.py); once an hour is plenty.
PURGE_INTERVAL = 3600
CLOCK_KEY = "nuanjing.clock"


class Clock:
    """The wall clock (aware, UTC) the greeting job and the quiet hours read; tests set it."""

    def __init__(self, source: Callable[[], datetime] = utcnow) -> None:
        self._source = source

    def __call__(self) -> datetime:
        """Now."""
        return self._source()

    def set(self, source: Callable[[], datetime]) -> None:
        """Read the time from `source` from now on."""
        self._source = source

    def freeze(self, moment: datetime) -> None:
        """Stop the clock at `moment` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("a naive datetime for the clock")
        self._source = lambda: moment


def clock_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Clock:
    """The application's clock (one is made on first use)."""
    clock = application.bot_data.setdefault(CLOCK_KEY, Clock())
    assert isinstance(clock, Clock)
    return clock


def install(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register every repeating job on the application's JobQueue (at start-up)."""
    queue = application.job_queue
    if queue is None:
        return
    queue.run_repeating(greetings_job, interval=TICK_SECONDS, first=TICK_SECONDS, name="greetings")
    # Reminder sources, each a job that queues what is due (claiming its recipients on the
    # send ledger) and wakes the broadcaster. One more source is one more call.
    queue.run_repeating(
        event_reminders_job,
        interval=events.REMINDER_INTERVAL,
        first=events.REMINDER_INTERVAL,
        name="event-reminders",
    )
    queue.run_repeating(
        booking_reminders_job,
        interval=bookings.REMINDER_INTERVAL,
        first=bookings.REMINDER_INTERVAL,
        name="booking-reminders",
    )
    queue.run_repeating(
        drives.reminder_job,
        interval=drives.REMINDER_INTERVAL,
        first=drives.REMINDER_INTERVAL,
        name="drive-reminders",
    )
    queue.run_repeating(
        appeals.deadline_job,
        interval=appeals.DEADLINE_INTERVAL,
        first=appeals.DEADLINE_INTERVAL,
        name="appeal-deadlines",
    )
    queue.run_repeating(
        workdays_job,
        interval=workdays.NOTICE_INTERVAL,
        first=workdays.NOTICE_FIRST,
        name="workdays-notice",
    )
    surveys.schedule(queue)  # "survey-reminders": 24 hours before a survey's deadline
    mutual_aid.schedule(queue)  # "mutual-aid-reminders": how to claim, days after admission
    distributions.schedule(queue)  # "distribution-reminders": the one reminder, days after
    nominations.schedule(queue)  # "nominations": rounds made final, batch reminders
    digest.schedule(application)  # "monthly-digest", "year-cards", their pictures on the sender
    queue.run_once(seal_reasons_job, when=0, name="seal-care-reasons")
    queue.run_repeating(
        purge_inbox_job, interval=PURGE_INTERVAL, first=PURGE_INTERVAL, name="inbox-purge"
    )


def seal_plain_reasons(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Seal the care reasons kept in clear before migration 0009; cases changed."""
    found = services_of(application)
    with found.database.session() as session:
        return care.seal_plain_reasons(session, found.cipher)


async def seal_reasons_job(context: Context) -> None:
    """The JobQueue's callback, once at start, in a worker thread (a large table takes time)."""
    await asyncio.to_thread(seal_plain_reasons, context.application)


async def purge_inbox_job(context: Context) -> None:
    """Drop updates handled more than a week ago, in a worker thread."""
    from bot.app import inbox_of

    await asyncio.to_thread(inbox_of(context.application).purge)


def expire_broadcasts(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Stop broadcasts whose time is over: at start-up, before the sender runs, and every tick.

    A greeting of a day that has ended or a reminder of an event that has begun is never sent
    late, even after a night of quiet hours or a bot that was down.
    """
    found = services_of(application)
    with found.database.session() as session:
        return len(broadcasts.expire(session, clock_of(application)()))


async def run_greetings(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """One greeting tick now (by the application's clock); broadcasts queued."""
    found = services_of(application)
    now = clock_of(application)()
    await asyncio.to_thread(expire_broadcasts, application)
    # In a worker thread: queueing 100,000 greetings takes seconds of database work, which
    # must not stall the updates and the sender on the event loop.
    queued = await asyncio.to_thread(
        queue_greetings, found.database, found.policy, now, zone=found.zone
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def run_event_reminders(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """One look for events due a 24-hour or 2-hour reminder (by the application's clock)."""
    found = services_of(application)
    queued = await asyncio.to_thread(
        events.queue_reminders,
        found.database,
        clock_of(application)(),
        zone=found.zone,
        quiet=events.quiet_hours(found.policy),
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def event_reminders_job(context: Context) -> None:
    """The JobQueue's callback: queue the event reminders that are due."""
    await run_event_reminders(context.application)


async def run_booking_reminders(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """One look for booked slots due a reminder (by the application's clock); broadcasts queued."""
    found = services_of(application)
    queued = await asyncio.to_thread(
        bookings.queue_reminders,
        found.database,
        found.policy,
        clock_of(application)(),
        zone=found.zone,
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def booking_reminders_job(context: Context) -> None:
    """The JobQueue's callback: queue the booking reminders that are due."""
    await run_booking_reminders(context.application)


async def greetings_job(context: Context) -> None:
    """The JobQueue's callback: queue today's greetings that are due."""
    await run_greetings(context.application)


async def run_workdays_notice(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """One look for missing arrangements of working days (by the application's clock)."""
    found = services_of(application)
    calendar = WorkCalendar.with_policy(found.policy.workdays.years)
    queued = await asyncio.to_thread(
        workdays.queue_notices,
        found.database,
        calendar,
        clock_of(application)(),
        zone=found.zone,
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def workdays_job(context: Context) -> None:
    """The JobQueue's callback: tell organizers of a missing year of working days."""
    await run_workdays_notice(context.application)
