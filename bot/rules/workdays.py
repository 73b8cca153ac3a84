"""Official working days (调休): mainland China's arrangement of holidays and make-up days.

The State Council publishes each year's arrangement (usually in November of the year before);
no formula gives it. The bot ships the arrangements it knows as data (bot/data/workdays.toml,
each with its source) and a union adds or corrects a year in its policy ([[workdays.years]]),
which replaces the shipped one for that year. A year with no arrangement falls back to the
week: Monday to Friday work, Saturday and Sunday off; `missing_years` says which years that
the bookings reach lack one, so that organizers can be told.

Pure: no Telegram, no database.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources

from bot.policy import WorkYear

SHIPPED_FILE = "data/workdays.toml"
# From this month on, next year's arrangement is looked for too (its notice appears then).
NOTICE_MONTH = 11


class DayMark(StrEnum):
    """An exception to the week; bot.texts.WORKDAY_MARKS says it as 休 or 班."""

    OFF = "off"  # a day off that is not a Saturday or Sunday
    WORK = "work"  # a Saturday or Sunday that is a working day


def weekend(day: date) -> bool:
    """True on a Saturday or Sunday."""
    return day.weekday() >= 5


@dataclass(frozen=True)
class Arrangement:
    """One year's official arrangement, as the notice gives it."""

    year: int
    source: str
    days_off: frozenset[date]
    working_days: frozenset[date]

    @classmethod
    def of(cls, work_year: WorkYear) -> Arrangement:
        """The arrangement of a validated policy or data year."""
        return cls(
            year=work_year.year,
            source=work_year.source,
            days_off=frozenset(work_year.days_off),
            working_days=frozenset(work_year.working_days),
        )


@cache
def shipped_arrangements() -> tuple[Arrangement, ...]:
    """The arrangements shipped with the bot (bot/data/workdays.toml), by year."""
    text = resources.files("bot").joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    years = [WorkYear.model_validate(item) for item in tomllib.loads(text)["years"]]
    return tuple(sorted((Arrangement.of(item) for item in years), key=lambda a: a.year))


class WorkCalendar:
    """Which days are working days: the arrangements by year, the week for the other years."""

    def __init__(self, arrangements: Iterable[Arrangement]) -> None:
        # A later arrangement of the same year replaces an earlier one.
        self._years = {arrangement.year: arrangement for arrangement in arrangements}

    @classmethod
    def with_policy(cls, policy_years: Iterable[WorkYear] = ()) -> WorkCalendar:
        """The shipped arrangements, each year the policy gives replacing the shipped one."""
        return cls([*shipped_arrangements(), *(Arrangement.of(item) for item in policy_years)])

    def arrangement(self, year: int) -> Arrangement | None:
        """The year's arrangement, or None if there is none."""
        return self._years.get(year)

    def has_arrangement(self, year: int) -> bool:
        """True if the year's official arrangement is known."""
        return year in self._years

    def years(self) -> list[int]:
        """The years with an arrangement, in order."""
        return sorted(self._years)

    def is_workday(self, day: date) -> bool:
        """True on an official working day (Monday to Friday when the year has no arrangement)."""
        arrangement = self._years.get(day.year)
        if arrangement is not None:
            if day in arrangement.working_days:
                return True
            if day in arrangement.days_off:
                return False
        return not weekend(day)

    def exceptions(self, year: int) -> list[tuple[date, DayMark]]:
        """The year's exceptions to the week, in date order: days off that are not Saturdays
        or Sundays (OFF) and Saturdays or Sundays that are working days (WORK); none for a
        year with no arrangement."""
        arrangement = self._years.get(year)
        if arrangement is None:
            return []
        marks = [(day, DayMark.OFF) for day in arrangement.days_off if not weekend(day)]
        marks += [(day, DayMark.WORK) for day in arrangement.working_days if weekend(day)]
        return sorted(marks)


def years_to_check(today: date) -> list[int]:
    """The years whose arrangement bookings need: this year, and next year from November on
    (its notice appears then, and bookings reach into it before long)."""
    if today.month >= NOTICE_MONTH:
        return [today.year, today.year + 1]
    return [today.year]


def missing_years(calendar: WorkCalendar, today: date) -> list[int]:
    """Of `years_to_check(today)`, those with no arrangement (weekends off is all we know)."""
    return [year for year in years_to_check(today) if not calendar.has_arrangement(year)]
