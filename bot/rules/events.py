"""Event rules: who may see an event, whether a place is free, and what a valid event is.

Pure functions, no Telegram and no session: the handlers ask them before writing, and storage
asks the same capacity rules (bot/rules/capacity.py) again inside the locked transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.rules import capacity as capacity_rules
from bot.rules.capacity import Places, Tally
from bot.rules.forgiving import Lean, normalise, parse_clock, parse_day
from bot.rules.horizon import moment_beyond_horizon
from bot.rules.text import clean, meaningful

MAX_TITLE = 100
MAX_PLACE = 100
MAX_DESCRIPTION = 1000
MAX_CAPACITY = 10_000

MATCHMAKING = "matchmaking"
CLUB_ACTIVITY = "club_activity"


class Problem(StrEnum):
    """Why a value for an event is refused; bot.texts.EVENT_PROBLEMS says it in Chinese."""

    EMPTY = "empty"
    TITLE_TOO_LONG = "title_too_long"
    PLACE_TOO_LONG = "place_too_long"
    DESCRIPTION_TOO_LONG = "description_too_long"
    BAD_WHEN = "bad_when"
    BAD_MOMENT = "bad_moment"
    IN_THE_PAST = "in_the_past"
    END_BEFORE_START = "end_before_start"
    TOO_FAR_AHEAD = "too_far_ahead"
    DEADLINE_AFTER_START = "deadline_after_start"
    BAD_CAPACITY = "bad_capacity"
    CAPACITY_RANGE = "capacity_range"
    CAPS_OVER_CAPACITY = "caps_over_capacity"
    BELOW_SIGNED = "below_signed"
    CAPS_BELOW_CAPACITY = "caps_below_capacity"


class EventInputError(ValueError):
    """A typed value that cannot be used; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Viewer:
    """What decides which events an officer may see and join."""

    unit: str
    gender: str | None
    single: bool
    clubs: frozenset[str]


def may_join(kind: str, audience: str, audience_value: str, viewer: Viewer) -> bool:
    """True if the event's audience includes this officer.

    Matchmaking needs the officer's own opt-in as single whatever the audience says, so a
    married officer never even sees such an event.
    """
    if kind == MATCHMAKING and not viewer.single:
        return False
    if audience == "unit":
        return viewer.unit == audience_value
    if audience == "club":
        return audience_value in viewer.clubs
    if audience == "singles":
        return viewer.single
    if audience == "women":
        return viewer.gender == "F"
    if audience == "men":
        return viewer.gender == "M"
    return audience == "everyone"


def gender_caps(male_cap: int | None, female_cap: int | None) -> dict[str, int]:
    """An event's caps per gender, as the capacity rules take caps per group."""
    caps = {"M": male_cap, "F": female_cap}
    return {gender: cap for gender, cap in caps.items() if cap is not None}


def has_place(
    *,
    capacity: int,
    male_cap: int | None,
    female_cap: int | None,
    signed: int,
    signed_male: int,
    signed_female: int,
    gender: str | None,
) -> bool:
    """True if one more officer of this gender fits: the capacity and their gender's cap."""
    return capacity_rules.has_place(
        Places(capacity, gender_caps(male_cap, female_cap)),
        Tally(signed, signed_by_group={"M": signed_male, "F": signed_female}),
        gender,
    )


def capacity_holds(
    *,
    capacity: int,
    male_cap: int | None,
    female_cap: int | None,
    signed: int,
    signed_male: int,
    signed_female: int,
) -> bool:
    """True if everyone already signed up still has a place under new limits."""
    return capacity_rules.holds(
        Places(capacity, gender_caps(male_cap, female_cap)),
        Tally(signed, signed_by_group={"M": signed_male, "F": signed_female}),
    )


def gender_needed(male_cap: int | None, female_cap: int | None) -> bool:
    """An event with gender caps can only count officers whose gender the roster knows."""
    return male_cap is not None or female_cap is not None


# --- typed values ------------------------------------------------------------------------

# A start and an end: `DAY CLOCK-CLOCK` or `DAY CLOCK 至 DAY CLOCK`, each day and clock as
# bot/rules/forgiving.py reads them (2026-12-20, 12月20日, 明天; 14:00, 下午2点, 晚上8点半).
_SEPARATOR = r"\s*(?:-|~|～|—|至|到)\s*"
_RANGE = re.compile(rf"^(\S+)\s+(\S+?){_SEPARATOR}(?:(\S+)\s+)?(\S+)$")
_MOMENT = re.compile(r"^(\S+)\s+(\S+)$")
_CAPS = re.compile(r"^(\d{1,6})(?:\s+男\s*(\d{1,6})\s*女\s*(\d{1,6}))?$")


def _moment(
    day_text: str, clock_text: str, zone: ZoneInfo, now: datetime, after: time | None = None
) -> datetime | None:
    """A typed day and clock as a wall time in the union's zone; None if either is no such."""
    day = parse_day(day_text, now.astimezone(zone).date(), lean=Lean.FUTURE)
    clock = parse_clock(clock_text, after=after)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=zone)


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """`2026-12-20 14:00-17:00` or `2026-12-20 14:00 至 2026-12-21 12:00` → (start, end);
    forgiving of how the day and clocks are written (`12月20日 下午2点-5点`, `明天 9点-11点`)."""
    match = _RANGE.match(normalise(text))
    if match is None:
        raise EventInputError(Problem.BAD_WHEN)
    day, first, second_day, second = match.groups()
    start = _moment(day, first, zone, now)
    if start is None:
        raise EventInputError(Problem.BAD_WHEN)
    # 晚上7点-9点: on the same day, an end without a part of the day follows the start's.
    after = None if second_day else start.timetz().replace(tzinfo=None)
    end = _moment(second_day or day, second, zone, now, after)
    if end is None:
        raise EventInputError(Problem.BAD_WHEN)
    check_times(start, end, now)
    return start, end


def check_times(start: datetime, end: datetime, now: datetime) -> None:
    """A start still ahead, an end after it, and neither more than two years ahead."""
    if start <= now:
        raise EventInputError(Problem.IN_THE_PAST)
    if end <= start:
        raise EventInputError(Problem.END_BEFORE_START)
    if moment_beyond_horizon(end, now):
        raise EventInputError(Problem.TOO_FAR_AHEAD)


def parse_deadline(text: str, zone: ZoneInfo, *, start: datetime, now: datetime) -> datetime:
    """`2026-12-19 18:00` (or `12月19日 晚上6点`, `明天 18:00`) → the sign-up deadline: ahead of
    now and not after the start."""
    match = _MOMENT.match(normalise(text))
    moment = None if match is None else _moment(match.group(1), match.group(2), zone, now)
    if moment is None:
        raise EventInputError(Problem.BAD_MOMENT)
    check_deadline(moment, start=start, now=now)
    return moment


def check_deadline(deadline: datetime, *, start: datetime, now: datetime) -> None:
    """A deadline still ahead and no later than the start."""
    if deadline <= now:
        raise EventInputError(Problem.IN_THE_PAST)
    if deadline > start:
        raise EventInputError(Problem.DEADLINE_AFTER_START)


def parse_capacity(text: str, *, with_caps: bool) -> tuple[int, int | None, int | None]:
    """`40` or, for matchmaking, `40 男20 女20` → (capacity, male cap, female cap)."""
    value = re.sub(r"\s+", " ", text.strip().replace("，", " ").replace(",", " "))
    match = _CAPS.match(value)
    if match is None or (match.group(2) is not None and not with_caps):
        raise EventInputError(Problem.BAD_CAPACITY)
    capacity = int(match.group(1))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise EventInputError(Problem.CAPACITY_RANGE)
    if match.group(2) is None:
        return capacity, None, None
    male, female = int(match.group(2)), int(match.group(3))
    if male > capacity or female > capacity:
        raise EventInputError(Problem.CAPS_OVER_CAPACITY)
    if male + female < capacity:
        # Places beyond both caps could never be taken.
        raise EventInputError(Problem.CAPS_BELOW_CAPACITY)
    return capacity, male, female


def check_text(text: str, limit: int, too_long: Problem) -> str:
    """The cleaned text (bot.rules.text.clean), or EventInputError when it shows nothing (blank
    or invisible characters only) or is over the limit."""
    value = clean(text)
    if not meaningful(value):
        raise EventInputError(Problem.EMPTY)
    if len(value) > limit:
        raise EventInputError(too_long)
    return value


# --- when to tell ------------------------------------------------------------------------

URGENT_NOTICE_WITHIN = timedelta(hours=12)
# A reminder moved out of the quiet hours is due this long before they begin, so that it is
# sent (at normal priority, paced) before the sender holds everything but urgent ones.
QUIET_LEAD = timedelta(minutes=30)


def in_quiet_hours(moment: datetime, quiet: tuple[time, time], zone: ZoneInfo) -> bool:
    """True if the wall time in the union's zone lies in the quiet hours (may span midnight).

    Equal start and end mean no quiet hours at all.
    """
    start, end = quiet
    wall = moment.astimezone(zone).time().replace(tzinfo=None)
    if start <= end:
        return start <= wall < end
    return wall >= start or wall < end


def reminder_due(
    starts_at: datetime, before: timedelta, quiet: tuple[time, time] | None, zone: ZoneInfo
) -> datetime:
    """When a reminder `before` the start is due: if the mark falls inside the quiet hours,
    half an hour before they begin (a 2-hour reminder of a 07:00 outing goes out at 20:30 the
    evening before rather than after the start)."""
    mark = starts_at - before
    if quiet is None or not in_quiet_hours(mark, quiet, zone):
        return mark
    local = mark.astimezone(zone)
    evening = datetime.combine(local.date(), quiet[0], tzinfo=zone)
    if evening > local:
        evening -= timedelta(days=1)
    return evening - QUIET_LEAD


def notice_is_urgent(starts_at: datetime, now: datetime) -> bool:
    """A change or cancellation of an event starting within 12 hours cannot wait for morning."""
    return starts_at - now <= URGENT_NOTICE_WITHIN
