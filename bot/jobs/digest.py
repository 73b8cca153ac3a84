"""The monthly digest and my year (我的年度暖警账单), issue 16 items 5 and 6.

- The monthly digest: from 09:00 on the 1st (the union's zone), each organizer and admin
  (bound, active, not opted out in /me) gets last month's figures in a few lines with one chart
  (bot.charts.draw_digest). Claimed once per month in the send ledger (occasion "digest", on the
  month's first day) in the transaction that queues it, so a restart or a second process never
  sends it twice. A bot down on the 1st catches up until the 3rd; what is still waiting at the
  end of the 3rd is dropped (the figures would be stale news by then).
- My year: on 1 January, from the greetings' send time (policy greetings.send_at) until their
  quiet hours, each bound, active officer who has not opted out gets a picture of their own past
  year (storage.statistics.officer_year: their own rows only, care by kind only, never a sum)
  with the same figures in its caption and a warm line. Claimed per officer (occasion
  "year-card", on 1 January of the year shown). It goes right after the New Year greeting: it is
  queued once that day's festival greetings were queued (or at once if the policy greets no
  festival that day), as a LOW broadcast like them, and the sender takes equal priorities in
  the order they were queued. It expires with that day's greetings (bot.greetings.day_ends).

Both pictures are drawn when each delivery is sent, not when queued: the broadcast engine sends
a photo for a broadcast whose author has a PictureMaker on the sender (bot.broadcast.Sender
.pictures, registered by `schedule`). 100,000 officers are 100,000 claims and deliveries at
once (as a greeting) and one card drawn per send, never 100,000 PNGs held at once.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot import charts, texts
from bot.broadcast import Picture, PictureMaker
from bot.greetings import BIRTHDAY, day_ends, greeting_day, occasions_on
from bot.policy import Policy
from bot.report import figures_of
from handlers.common import ORGANIZER_ROLES, Context
from handlers.context import services_of
from storage import ledger, roles
from storage import statistics as st
from storage.broadcasts import DIGEST_AUTHOR, YEAR_CARD_AUTHOR, Claimed, Recipient
from storage.db import Database
from storage.models import BroadcastKind, Priority

INTERVAL = 60  # seconds between two looks for a digest or year cards due
DIGEST_JOB = "monthly-digest"
YEAR_CARD_JOB = "year-cards"
DIGEST_ACTOR = DIGEST_AUTHOR
YEAR_CARD_ACTOR = YEAR_CARD_AUTHOR
DIGEST_OCCASION = "digest"
YEAR_CARD_OCCASION = "year-card"
DIGEST_AT = time(9, 0)
DIGEST_CATCH_UP_DAYS = 3  # a bot down on the 1st still sends the digest until the 3rd

Bot = Application[Any, Any, Any, Any, Any, Any]


# --- the monthly digest -------------------------------------------------------------------


def digest_month(now: datetime, zone: ZoneInfo) -> date | None:
    """The first day of the month whose digest may go out at `now`, or None."""
    local = now.astimezone(zone)
    if local.day > DIGEST_CATCH_UP_DAYS or (local.day == 1 and local.time() < DIGEST_AT):
        return None
    return (local.date().replace(day=1) - timedelta(days=1)).replace(day=1)


def digest_text(f: st.Figures) -> str:
    """The digest's few lines of the month's figures."""
    return texts.DIGEST_TEXT.format(
        year=f.period.start.year,
        month=f.period.start.month,
        cases=f.care.cases,
        paid_cases=f.care.paid_cases,
        donors=f.blood.donors,
        donations=f.blood.donations,
        ml=f.blood.ml,
        units=f.blood.platelet_units,
        events=f.events.events,
        signed=f.events.signed,
        attended=f.events.attended,
        sent=sum(greeting.sent for greeting in f.greetings),
        reached=sum(greeting.reached for greeting in f.greetings),
    )


def queue_digest(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """Queue last month's digest to the organizers not yet sent it; broadcasts written (0 or 1)."""
    month = digest_month(now, zone)
    if month is None:
        return 0
    with database.session() as session:
        holders = roles.reachable_holders(session, set(ORGANIZER_ROLES))
        wanted = [
            Recipient(officer.id, chat_id)
            for officer, chat_id in holders
            if officer.id is not None and not officer.digest_opt_out
        ]
        fresh = set(
            ledger.unclaimed(session, DIGEST_OCCASION, month, [r.officer_id for r in wanted])
        )
    if not fresh:
        return 0  # every organizer has had it: the month's figures are not read again
    figures = figures_of(database, policy, st.Period.month(month.year, month.month, zone))
    ends = datetime.combine(
        month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        + timedelta(days=DIGEST_CATCH_UP_DAYS),
        time(0),
        tzinfo=zone,
    )
    with database.session() as session:
        broadcast = ledger.queue_once(
            session,
            DIGEST_OCCASION,
            month,
            [recipient for recipient in wanted if recipient.officer_id in fresh],
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.LOW,
            text=digest_text(figures),
            created_by=DIGEST_ACTOR,
            expires_at=ends,
        )
    return 0 if broadcast is None else 1


def digest_picture(database: Database, policy: Policy, zone: ZoneInfo) -> PictureMaker:
    """The sender's maker of the digest's chart: drawn once per month, then reused."""
    drawn: dict[date, bytes] = {}
    lock = threading.Lock()

    def make(claimed: Claimed) -> Picture:
        with database.session() as session:
            month = ledger.day_of(session, claimed.broadcast_id, claimed.officer_id)
        if month is None:
            raise LookupError(f"no ledger row for delivery {claimed.id}")
        with lock:
            if month not in drawn:
                period = st.Period.month(month.year, month.month, zone)
                drawn.clear()  # only the latest month is ever sent
                drawn[month] = charts.png(charts.draw_digest(figures_of(database, policy, period)))
            return Picture(drawn[month])

    return make


# --- my year ------------------------------------------------------------------------------


def year_card_year(now: datetime, policy: Policy, zone: ZoneInfo) -> int | None:
    """The year whose cards may go out at `now` (on 1 January in the greetings' hours), or None."""
    day = greeting_day(now, policy, zone)
    if day is None or (day.month, day.day) != (1, 1):
        return None
    return day.year - 1


GREETING_HEAD_START = timedelta(minutes=10)  # the greeting's lead when it claimed nobody


def _greeted_first(
    database: Database, policy: Policy, day: date, now: datetime, zone: ZoneInfo
) -> bool:
    """True once the day's festival greetings are queued (or when the policy greets none), or
    GREETING_HEAD_START after their send time: a greeting that claimed nobody (everyone opted
    out) never leaves a ledger row, and the cards must not wait for it forever."""
    festivals = [key for key in occasions_on(day, policy) if key != BIRTHDAY]
    if not festivals:
        return True
    send_at = datetime.combine(day, time.fromisoformat(policy.greetings.send_at), tzinfo=zone)
    if now >= send_at + GREETING_HEAD_START:
        return True
    with database.session() as session:
        return any(ledger.claimed_count(session, key, day) for key in festivals)


def queue_year_cards(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """Queue the year cards of the officers not yet sent theirs; broadcasts written (0 or 1)."""
    year = year_card_year(now, policy, zone)
    if year is None:
        return 0
    new_year = date(year + 1, 1, 1)
    if not _greeted_first(database, policy, new_year, now, zone):
        return 0
    claim_day = date(year, 1, 1)
    with database.session() as session:
        wanted = st.year_card_recipients(session)
        fresh = set(
            ledger.unclaimed(session, YEAR_CARD_OCCASION, claim_day, [o for o, _ in wanted])
        )
        if not fresh:
            return 0
        broadcast = ledger.queue_once(
            session,
            YEAR_CARD_OCCASION,
            claim_day,
            [
                Recipient(officer_id, chat_id)
                for officer_id, chat_id in wanted
                if officer_id in fresh
            ],
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.LOW,
            # Only a fallback: each card's caption is written when it is drawn.
            text=texts.YEAR_CARD_SHORT.format(year=year),
            created_by=YEAR_CARD_ACTOR,
            expires_at=day_ends(new_year, policy, zone),
        )
    return 0 if broadcast is None else 1


def year_card_caption(name: str, year: int, mine: st.OfficerYear) -> str:
    """The card's caption: the same figures as the picture, and a warm line."""
    blood = (
        texts.YEAR_CARD_BLOOD.format(
            donations=mine.donations, ml=mine.ml, units=mine.platelet_units
        )
        if mine.donations
        else texts.YEAR_CARD_NO_BLOOD
    )
    kinds = "、".join(
        texts.YEAR_CARD_CARE_KIND.format(kind=texts.CARE_EVENTS.get(kind, kind), count=count)
        for kind, count in mine.care_by_kind
    )
    return texts.YEAR_CARD_CAPTION.format(
        name=name,
        year=year,
        greetings=mine.greetings,
        blood=blood,
        events_signed=mine.events_signed,
        events_attended=mine.events_attended,
        club_signed=mine.club_signed,
        club_attended=mine.club_attended,
        care=texts.YEAR_CARD_CARE.format(kinds=kinds) if kinds else "",
        warm=warm_line(mine),
    )


def warm_line(mine: st.OfficerYear) -> str:
    """A line that thanks a donor for their blood, and anyone for their year."""
    return texts.YEAR_CARD_WARM_DONOR if mine.donations else texts.YEAR_CARD_WARM


def draw_card(database: Database, zone: ZoneInfo, officer_id: int, year: int) -> Picture:
    """One officer's card of a year: their own figures, read and drawn now."""
    with database.session() as session:
        mine = st.officer_year(session, officer_id, st.Period.year(year, zone))
        name = st.officer_name(session, officer_id)
    figure = charts.draw_year_card(mine, name=name, year_number=year, warm=warm_line(mine))
    return Picture(charts.card_png(figure), year_card_caption(name, year, mine))


def year_card_picture(database: Database, zone: ZoneInfo) -> PictureMaker:
    """The sender's maker of a year card, drawn for the delivery's own officer."""

    def make(claimed: Claimed) -> Picture:
        with database.session() as session:
            claimed_for = ledger.day_of(session, claimed.broadcast_id, claimed.officer_id)
        if claimed_for is None:
            raise LookupError(f"no ledger row for delivery {claimed.id}")
        return draw_card(database, zone, claimed.officer_id, claimed_for.year)

    return make


# --- the jobs -----------------------------------------------------------------------------


async def run_digest(application: Bot) -> int:
    """One look for a digest due, by the application's clock; wakes the sender."""
    from bot.scheduler import clock_of  # the scheduler imports this module

    found = services_of(application)
    queued = await asyncio.to_thread(
        queue_digest, found.database, found.policy, clock_of(application)(), zone=found.zone
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def run_year_cards(application: Bot) -> int:
    """One look for year cards due, by the application's clock; wakes the sender."""
    from bot.scheduler import clock_of

    found = services_of(application)
    queued = await asyncio.to_thread(
        queue_year_cards, found.database, found.policy, clock_of(application)(), zone=found.zone
    )
    if queued:
        found.broadcaster.wake()
    return queued


async def digest_job(context: Context) -> None:
    """The JobQueue's callback: queue last month's digest when it is due."""
    await run_digest(context.application)


async def year_card_job(context: Context) -> None:
    """The JobQueue's callback: queue the year cards when they are due."""
    await run_year_cards(context.application)


def schedule(application: Bot) -> None:
    """Put both jobs on the JobQueue and their pictures on the sender (bot/scheduler.py)."""
    from bot.app import sender_of  # the application module imports the scheduler

    found = services_of(application)
    pictures = sender_of(application).pictures
    pictures[DIGEST_ACTOR] = digest_picture(found.database, found.policy, found.zone)
    pictures[YEAR_CARD_ACTOR] = year_card_picture(found.database, found.zone)
    queue = application.job_queue
    if queue is None:
        return
    queue.run_repeating(digest_job, interval=INTERVAL, first=INTERVAL, name=DIGEST_JOB)
    queue.run_repeating(year_card_job, interval=INTERVAL, first=INTERVAL, name=YEAR_CARD_JOB)
