"""Working days: organizers are told, once per year, that a year's official arrangement is missing.

The services that follow the official working days (bot.rules.slots) fall back to weekends off
in a year the bot has no arrangement for (bot.rules.workdays). Once a day, `queue_notices`
looks at the years bookings need (`missing_years`: this year, and next year from November);
for each one missing it writes an ANNOUNCEMENT broadcast to the organizers and admins, claiming
each of them in the send ledger (occasion "workdays-missing", on 1 January of that year) in the
same transaction: each of them hears it once per year, whatever the number of runs, restarts or
processes. bot/scheduler.py runs it every NOTICE_INTERVAL seconds by the application's clock.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import texts
from bot.rules.workdays import WorkCalendar, missing_years
from handlers.common import ORGANIZER_ROLES
from storage import ledger, roles
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import BroadcastKind, Priority

NOTICE_INTERVAL = 24 * 3600  # seconds between two looks: once a day
# The first look comes a while after the start, not in the middle of it.
NOTICE_FIRST = 15 * 60
NOTICE_OCCASION = "workdays-missing"
NOTICE_ACTOR = "system:workdays"


def queue_notices(
    database: Database, calendar: WorkCalendar, now: datetime, *, zone: ZoneInfo
) -> int:
    """Tell the organizers of each year bookings need whose arrangement is missing, each of
    them once per year; how many broadcasts were written."""
    queued = 0
    for year in missing_years(calendar, now.astimezone(zone).date()):
        with database.session() as session:
            holders = roles.reachable_holders(session, set(ORGANIZER_ROLES))
            recipients = [
                Recipient(officer.id, chat_id)
                for officer, chat_id in holders
                if officer.id is not None
            ]
            if not recipients:
                continue
            broadcast = ledger.queue_once(
                session,
                NOTICE_OCCASION,
                date(year, 1, 1),
                recipients,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=Priority.LOW,
                text=texts.WORKDAYS_MISSING.format(year=year),
                created_by=NOTICE_ACTOR,
            )
        if broadcast is not None:
            queued += 1
    return queued
