"""Survey reminders: once, 24 hours before the deadline, to those asked who have not answered.

`queue_reminders` writes a REMINDER broadcast (with 📝 开始填写) per open survey whose mark has
come (bot.rules.surveys.reminder_mark: 24 hours before the deadline, or before the policy's
quiet hours when the mark falls inside them) to the officers of its audience who have not
answered, claiming each in the send ledger (occasion "survey-24h:{id}", the deadline's local
date) in the same transaction, so nobody is reminded twice whatever the number of runs,
restarts or processes. A closed survey, or one past its deadline, is not reminded; a reminder
still waiting at the deadline expires. bot/scheduler.py's `install` calls `schedule`; the job
reads the application's clock (bot.scheduler.clock_of), so tests can move time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, JobQueue

from bot import texts
from bot.jobs.events import quiet_hours
from bot.rules import surveys as rules
from handlers.common import Context
from handlers.context import services_of
from handlers.events import moment_text
from handlers.surveys import start_markup
from storage import ledger
from storage import surveys as storage
from storage.db import Database
from storage.models import BroadcastKind, Priority, SurveyStatus

REMINDER_INTERVAL = 60  # seconds between two looks for surveys due a reminder
REMINDER_ACTOR = "system:survey-reminder"
# The furthest a due reminder's deadline lies ahead: 24 hours plus a quiet night's shift.
REMINDER_REACH = timedelta(hours=36)
JOB_NAME = "survey-reminders"

Bot = Application[Any, Any, Any, Any, Any, Any]


def occasion_of(survey_id: int) -> str:
    """The send ledger's occasion of one survey's reminder."""
    return f"survey-24h:{survey_id}"


def queue_reminders(
    database: Database, now: datetime, *, zone: ZoneInfo, quiet: tuple[time, time] | None = None
) -> int:
    """Queue the reminders due now; how many broadcasts were written."""
    with database.session() as session:
        soon = storage.closing_between(session, now, now + REMINDER_REACH)
    queued = 0
    for survey in soon:
        assert survey.id is not None
        if rules.reminder_mark(survey.deadline, quiet, zone) > now:
            continue
        if _queue_reminder(database, survey.id, now, zone):
            queued += 1
    return queued


def _queue_reminder(database: Database, survey_id: int, now: datetime, zone: ZoneInfo) -> bool:
    """One survey's reminder to those of its audience who have not answered and not yet been
    reminded. The survey's row is held against a close meanwhile."""
    with database.session() as session:
        survey = storage.get(session, survey_id, shared=True)
        if survey is None or survey.status != SurveyStatus.OPEN or survey.deadline <= now:
            return False
        occasion, day = occasion_of(survey_id), survey.deadline.astimezone(zone).date()
        waiting = storage.not_answered(session, survey)
        fresh_ids = set(ledger.unclaimed(session, occasion, day, [r.officer_id for r in waiting]))
        fresh = [recipient for recipient in waiting if recipient.officer_id in fresh_ids]
        if not fresh:
            return False  # everyone has answered or had theirs: nothing is written
        broadcast = ledger.queue_once(
            session,
            occasion,
            day,
            fresh,
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text=texts.SURVEY_REMINDER.format(
                title=survey.title, deadline=moment_text(survey.deadline, zone)
            ),
            created_by=REMINDER_ACTOR,
            buttons=start_markup(survey_id).to_json(),
            expires_at=survey.deadline,
        )
    return broadcast is not None


async def run_reminders(application: Bot) -> int:
    """One look for surveys due a reminder, by the application's clock; wakes the sender."""
    from bot.scheduler import clock_of  # the scheduler imports this module

    found = services_of(application)
    queued = await asyncio.to_thread(
        queue_reminders,
        found.database,
        clock_of(application)(),
        zone=found.zone,
        quiet=quiet_hours(found.policy),
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def reminder_job(context: Context) -> None:
    """The JobQueue's callback: queue the survey reminders that are due."""
    await run_reminders(context.application)


def schedule(queue: JobQueue[Any]) -> None:
    """Put the reminder job on the application's JobQueue (bot/scheduler.py's `install`)."""
    queue.run_repeating(
        reminder_job, interval=REMINDER_INTERVAL, first=REMINDER_INTERVAL, name=JOB_NAME
    )
