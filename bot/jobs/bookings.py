"""Booking reminders: at 20:00 the evening before a booked slot and an hour before it.

`queue_reminders` writes a REMINDER broadcast per slot whose reminder is due
(bot.rules.slots.reminder_due: the evening one from 20:00 the day before, in the union's zone,
NUANJING_TIMEZONE, until the hour's mark; the hour's one from then until the slot starts) to
the officers holding a place on it since the mark at the latest, not to the waitlist: a slot
booked (or moved up into) after 20:00 the evening before gets only the hour's reminder, one
booked within the last hour none. Each officer is claimed in the send ledger (occasions
"booking-eve:{slot}" and "booking-1h:{slot}", the slot's local date) in the transaction that
queues the broadcast, so nobody gets one twice whatever the number of runs, restarts or
processes. A closed slot, a cancelled booking, a slot begun or a service gone from the policy
is not reminded.

Counselling is health data and a reminder shows on the lock screen: its reminders say
"您预约的服务" and the time only, never the service's name, icon or place.

Reminders are of normal priority: a mark that falls in the policy's quiet hours waits for their
end (the evening reminder expires at the hour's mark, the hour's at the start). bot/scheduler.py
runs `queue_reminders` every REMINDER_INTERVAL seconds by the application's clock
(`run_booking_reminders`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.policy import Policy, ServicePolicy
from bot.rules import slots as slot_rules
from bot.rules.slots import Reminder
from handlers.bookings import private, slot_fields
from storage import bookings as booking_storage
from storage import ledger
from storage.db import Database
from storage.models import BroadcastKind, Priority, ServiceSlot, SlotStatus

REMINDER_INTERVAL = 60  # seconds between two looks for slots due a reminder
REMINDER_ACTOR = "system:booking-reminder"
OCCASIONS = {Reminder.EVENING: "booking-eve", Reminder.HOUR: "booking-1h"}
# The furthest a due reminder's slot can lie ahead: from 20:00 the evening before to the end of
# the slot's day is 28 hours; two days leave room for any zone's clock change.
REMINDER_REACH = timedelta(days=2)


def occasion_of(reminder: Reminder, slot_id: int) -> str:
    """The send ledger's occasion of one reminder of one slot."""
    return f"{OCCASIONS[reminder]}:{slot_id}"


def reminder_text(
    service: ServicePolicy, slot: ServiceSlot, reminder: Reminder, now: datetime, zone: ZoneInfo
) -> str:
    """The reminder's words; counselling's never name the service nor its place."""
    fields = slot_fields(service, slot.starts_at, slot.ends_at, zone)
    # Due from the evening before until the start: the slot is today or tomorrow.
    same_day = slot.starts_at.astimezone(zone).date() == now.astimezone(zone).date()
    fields["day"] = texts.BOOKING_REMINDER_TODAY if same_day else texts.BOOKING_REMINDER_TOMORROW
    if private(service):
        template = (
            texts.BOOKING_REMINDER_EVENING_PRIVATE
            if reminder == Reminder.EVENING
            else texts.BOOKING_REMINDER_HOUR_PRIVATE
        )
    else:
        template = (
            texts.BOOKING_REMINDER_EVENING
            if reminder == Reminder.EVENING
            else texts.BOOKING_REMINDER_HOUR
        )
    text = template.format(**fields)
    if slot_rules.may_cancel(service, slot.starts_at, now):
        text += texts.BOOKING_REMINDER_CANCEL
    return text


def queue_reminders(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """Queue the evening and hour reminders due now; how many broadcasts were written.

    A run with nobody left to remind writes nothing: the ledger's hint is read first, and the
    slot is locked (and the hint read again under the lock) only when someone is.
    """
    with database.session() as session:
        soon = booking_storage.slots_starting(session, now, now + REMINDER_REACH)
    queued = 0
    for slot in soon:
        assert slot.id is not None
        service = policy.service(slot.service_key)
        due = slot_rules.reminder_due(slot.starts_at, now, zone)
        if service is None or due is None:
            continue  # a service no longer offered is not named, nor reminded
        reminder, mark = due
        occasion, day = occasion_of(reminder, slot.id), slot.starts_at.astimezone(zone).date()
        with database.session() as session:
            hint = booking_storage.to_remind_since(
                session, slot.id, occasion, day, signed_before=mark
            )
        if hint and _queue_reminder(database, service, slot.id, day, due, now, zone):
            queued += 1
    return queued


def _queue_reminder(
    database: Database,
    service: ServicePolicy,
    slot_id: int,
    day: date,
    due: tuple[Reminder, datetime],
    now: datetime,
    zone: ZoneInfo,
) -> bool:
    """One slot's reminder (of its local `day`), to those holding a place since the reminder's
    mark and not yet reminded.

    The slot is locked first, so that nobody cancels between the read and the claim; the
    ledger's claim then decides again who is new (another run may have queued meanwhile).
    """
    reminder, mark = due
    occasion = occasion_of(reminder, slot_id)
    with database.session() as session:
        slot, fresh = booking_storage.lock_to_remind(
            session, slot_id, occasion, day, signed_before=mark
        )
        if slot is None or slot.status != SlotStatus.OPEN or slot.starts_at <= now or not fresh:
            return False  # closed or begun since the first look, or everyone had theirs
        broadcast = ledger.queue_once(
            session,
            occasion,
            day,
            fresh,
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text=reminder_text(service, slot, reminder, now, zone),
            created_by=REMINDER_ACTOR,
            # An evening reminder still waiting at the hour's mark gives way to the hour's one;
            # the hour's one is of no use once the slot has begun.
            expires_at=slot.starts_at - slot_rules.HOUR_REMINDER_BEFORE
            if reminder == Reminder.EVENING
            else slot.starts_at,
        )
    return broadcast is not None
