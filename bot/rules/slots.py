"""Slots of a bookable service (health room, counselling, facilities): pure rules.

A service opens on a day by its weekday's hours from the policy; a service that follows the
official working days (bot.rules.workdays) opens only on them, and on a weekend working day
(调休上班) with no hours of its own it keeps the hours of `makeup_days_like`. Each opening
window is cut into slots of `slot_minutes` from its start; a last piece shorter than a slot is
not a slot. Officers may book the slots still ahead of now on the days from today to today +
`horizon_days`, cancel until (not at) `cancel_before_minutes` before a slot, and book within the
service's limits; missed bookings block booking for a while (`no_show_block`).

Days are the union's local dates (its zone, NUANJING_TIMEZONE, is passed in); moments are
aware datetimes, slots in UTC. A naive datetime is refused. No Telegram, no database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.policy import WEEKDAY_KEYS, NoShowRule, ServicePolicy
from bot.rules.workdays import WorkCalendar, weekend


@dataclass(frozen=True, order=True)
class Slot:
    """One slot of a service: aware UTC start and end."""

    start: datetime
    end: datetime

    def local_day(self, zone: ZoneInfo) -> date:
        """The union's date the slot lies on."""
        return self.start.astimezone(zone).date()


class Problem(StrEnum):
    """Why an officer may not book (more); bot.texts.BOOKING_PROBLEMS says it in Chinese."""

    BLOCKED = "blocked"  # missed too many bookings lately
    TOO_MANY_OPEN = "too_many_open"  # has as many bookings ahead as allowed
    WEEK_FULL = "week_full"  # has booked as many as allowed in the slot's week


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime: {moment.isoformat()}")
    return moment


def opening_hours(
    service: ServicePolicy, calendar: WorkCalendar, day: date
) -> list[tuple[time, time]]:
    """The service's opening windows on a day (local wall times, in order); none if closed."""
    hours = service.windows(WEEKDAY_KEYS[day.weekday()])
    if not service.follows_workdays:
        return hours
    if not calendar.is_workday(day):
        return []
    if not hours and weekend(day):
        return service.windows(service.makeup_days_like)
    return hours


def is_open(service: ServicePolicy, calendar: WorkCalendar, day: date) -> bool:
    """True if the service opens on this day."""
    return bool(opening_hours(service, calendar, day))


def slots_of_day(
    service: ServicePolicy, calendar: WorkCalendar, day: date, zone: ZoneInfo
) -> list[Slot]:
    """Every slot of the service on a day, in order, past ones included."""
    length = timedelta(minutes=service.slot_minutes)
    slots = []
    for opens, closes in opening_hours(service, calendar, day):
        start = datetime.combine(day, opens, tzinfo=zone)
        end_of_window = datetime.combine(day, closes, tzinfo=zone)
        while start + length <= end_of_window:
            slots.append(Slot(start.astimezone(UTC), (start + length).astimezone(UTC)))
            start += length
    return slots


def last_bookable_day(service: ServicePolicy, now: datetime, zone: ZoneInfo) -> date:
    """The furthest day officers may book now: today + horizon_days (local)."""
    return _aware(now).astimezone(zone).date() + timedelta(days=service.horizon_days)


def within_horizon(service: ServicePolicy, day: date, now: datetime, zone: ZoneInfo) -> bool:
    """True if the day lies between today and the last bookable day (both included)."""
    today = _aware(now).astimezone(zone).date()
    return today <= day <= last_bookable_day(service, now, zone)


def bookable_slots(
    service: ServicePolicy, calendar: WorkCalendar, day: date, now: datetime, zone: ZoneInfo
) -> list[Slot]:
    """The day's slots officers may book now: within the horizon and starting after now."""
    if not within_horizon(service, day, now, zone):
        return []
    return [slot for slot in slots_of_day(service, calendar, day, zone) if slot.start > now]


def bookable_days(
    service: ServicePolicy, calendar: WorkCalendar, now: datetime, zone: ZoneInfo
) -> list[date]:
    """The days from today to the last bookable day with a slot still ahead, in order."""
    today = _aware(now).astimezone(zone).date()
    days = (today + timedelta(days=n) for n in range(service.horizon_days + 1))
    return [day for day in days if bookable_slots(service, calendar, day, now, zone)]


def cancel_deadline(service: ServicePolicy, start: datetime) -> datetime:
    """The last moment a booking of a slot starting at `start` may be cancelled."""
    return _aware(start) - timedelta(minutes=service.cancel_before_minutes)


def may_cancel(service: ServicePolicy, start: datetime, now: datetime) -> bool:
    """True while a booking of the slot may still be cancelled: before the deadline (the
    capacity engine's rule, bot.rules.capacity.may_cancel)."""
    return _aware(now) < cancel_deadline(service, start)


def week_of(day: date) -> tuple[date, date]:
    """The Monday and the Sunday of the day's week (the week the per-week limit counts)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def no_show_block(rule: NoShowRule | None, missed: Iterable[date]) -> date | None:
    """The last day of the latest block the missed bookings (their local dates) caused.

    `rule.count` misses within `rule.within_days` days (the first and the last included) block
    booking from the day of the last of them for `rule.blocked_days` days. The misses that
    caused a block are used up: only later ones count towards the next. None: never blocked.
    """
    if rule is None:
        return None
    window = timedelta(days=rule.within_days - 1)
    counted: list[date] = []
    blocked_until: date | None = None
    for day in sorted(missed):
        counted = [earlier for earlier in counted if day - earlier <= window] + [day]
        if len(counted) >= rule.count:
            blocked_until = day + timedelta(days=rule.blocked_days - 1)
            counted = []
    return blocked_until


def blocked(service: ServicePolicy, missed: Iterable[date], today: date) -> bool:
    """True if missed bookings still block the officer from booking the service today."""
    until = no_show_block(service.no_show, missed)
    return until is not None and today <= until


def limit_problem(
    service: ServicePolicy, open_count: int, count_this_week: int, *, is_blocked: bool = False
) -> Problem | None:
    """Why one more booking is refused, or None.

    `open_count`: the officer's bookings of the service not yet past nor cancelled;
    `count_this_week`: their bookings of it in the week of the slot asked for (`week_of`);
    `is_blocked`: what `blocked` says of their missed bookings.
    """
    limits = service.limits
    if is_blocked:
        return Problem.BLOCKED
    if limits.open_bookings is not None and open_count >= limits.open_bookings:
        return Problem.TOO_MANY_OPEN
    if limits.per_week is not None and count_this_week >= limits.per_week:
        return Problem.WEEK_FULL
    return None


# --- reminders ---------------------------------------------------------------------------------


class Reminder(StrEnum):
    """The reminders of a booked slot, in the order they fall due."""

    EVENING = "evening"  # at EVENING_REMINDER_AT (local) on the day before the slot's day
    HOUR = "hour"  # HOUR_REMINDER_BEFORE the slot starts


EVENING_REMINDER_AT = time(20)
HOUR_REMINDER_BEFORE = timedelta(hours=1)


def reminder_marks(start: datetime, zone: ZoneInfo) -> list[tuple[Reminder, datetime]]:
    """When each reminder of a slot starting at `start` falls due (aware UTC), in order.

    The evening mark (20:00 the day before, in the union's zone) always comes before the
    hour mark: a slot's day begins at 00:00, an hour after which 23:00 the day before is
    still later than 20:00.
    """
    local_day = _aware(start).astimezone(zone).date()
    evening = datetime.combine(local_day - timedelta(days=1), EVENING_REMINDER_AT, tzinfo=zone)
    return [
        (Reminder.EVENING, evening.astimezone(UTC)),
        (Reminder.HOUR, start - HOUR_REMINDER_BEFORE),
    ]


def reminder_due(
    start: datetime, now: datetime, zone: ZoneInfo
) -> tuple[Reminder, datetime] | None:
    """The reminder of a slot due now and its mark, or None (before the evening mark, or once
    the slot has begun).

    The latest reminder whose mark has come: one missed while the bot was down is made up
    for until the next mark, after which only the next is due, so nobody gets both at once.
    Only officers holding their place since the mark get it: a slot booked after 20:00 the
    evening before gets the hour's reminder only.
    """
    if _aware(now) >= start:
        return None
    due = [(reminder, mark) for reminder, mark in reminder_marks(start, zone) if mark <= now]
    return due[-1] if due else None
