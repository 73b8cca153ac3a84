"""Event reminders: a REMINDER broadcast 24 hours and 2 hours before each event.

`queue_reminders` writes them to the officers signed up at that moment (not the waitlist), as
the capacity engine names them (storage.capacity.to_remind); the send ledger (storage.ledger)
makes each officer's reminder happen once whatever the number of runs. bot/scheduler.py runs it
every REMINDER_INTERVAL seconds by the application's clock (`run_event_reminders`), with the
policy's quiet hours (`quiet_hours`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.policy import Policy
from bot.rules.events import reminder_due
from handlers.events import when_text
from storage import events as event_storage
from storage import ledger
from storage.db import Database
from storage.models import BroadcastKind, EventStatus, Priority

REMINDER_INTERVAL = 60  # seconds between two looks for events due a reminder
REMINDER_ACTOR = "system:event-reminder"
# (occasion prefix, how long before the start, text): the 2-hour one also covers late sign-ups.
REMINDERS = (
    ("event-24h", timedelta(hours=24), texts.EVENT_REMINDER_24H),
    ("event-2h", timedelta(hours=2), texts.EVENT_REMINDER_2H),
)
REMINDER_REACH = timedelta(hours=36)


def quiet_hours(policy: Policy) -> tuple[time, time]:
    """The policy's quiet hours as wall times."""
    return time.fromisoformat(policy.greetings.quiet_from), time.fromisoformat(
        policy.greetings.quiet_until
    )


def queue_reminders(
    database: Database, now: datetime, *, zone: ZoneInfo, quiet: tuple[time, time] | None = None
) -> int:
    """Queue the 24-hour and 2-hour reminders that are due; how many broadcasts were written.

    A reminder is due at its mark (start − 24 h or − 2 h), or at the quiet hours' start when
    the mark falls inside them; it goes to the officers signed up at that moment, not to the
    waitlist. It catches up after downtime until the next mark: the 24-hour one is dropped once
    the 2-hour one is due, so nobody gets both at once. The ledger's (occasion, date, officer)
    rows, claimed in the transaction that queues the broadcast, make every later run find
    nobody left to remind.
    """
    queued = 0
    with database.session() as session:
        # The widest reach: 24 hours plus the longest shift a quiet night can cause.
        soon = event_storage.starting_between(session, now, now + REMINDER_REACH)
    for event in soon:
        assert event.id is not None
        due = [
            (prefix, reminder_due(event.starts_at, before, quiet, zone), template)
            for prefix, before, template in REMINDERS
        ]
        current = [item for item in due if item[1] <= now][-1:]
        for prefix, moment, template in current:
            if _queue_reminder(database, event.id, prefix, moment, template, zone, now):
                queued += 1
    return queued


def _queue_reminder(
    database: Database,
    event_id: int,
    prefix: str,
    moment: datetime,
    template: str,
    zone: ZoneInfo,
    now: datetime,
) -> bool:
    """One event's reminder, to those signed up at `moment` and not yet reminded."""
    with database.session() as session:
        # Read again here: cancelled or moved since the first look, it is not reminded.
        event = event_storage.get(session, event_id)
        if event is None or event.status != EventStatus.OPEN or event.starts_at <= now:
            return False
        local = event.starts_at.astimezone(zone)
        same_day = local.date() == now.astimezone(zone).date()
        text = template.format(
            title=event.title,
            when=when_text(event, zone),
            day=texts.EVENT_REMINDER_TODAY if same_day else local.date().isoformat(),
            time=local.strftime("%H:%M"),
            place=event.place,
        )
        occasion = f"{prefix}:{event_id}"
        fresh = event_storage.to_remind(
            session, event_id, occasion, local.date(), signed_before=moment
        )
        if not fresh:
            return False  # everyone signed up then has had this one: nothing is written
        broadcast = ledger.queue_once(
            session,
            occasion,
            local.date(),
            fresh,
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text=text,
            created_by=REMINDER_ACTOR,
            # A reminder still waiting when the event begins is of no use any more.
            expires_at=event.starts_at,
        )
    return broadcast is not None
