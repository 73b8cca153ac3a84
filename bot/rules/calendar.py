"""Pure rules of the greeting calendar (问候日历): which festivals and birthdays fall on a day.

The Chinese lunar calendar and the solar terms come from lunar-python, which computes them
astronomically for Beijing time (UTC+8), the time the official calendar (GB/T 33661-2017) uses.
tests/test_calendar.py checks every festival date, leap month and month length from 1900 to 2100
against a second, table-based library (borax) and explains each day on which the two differ.

Decisions, each tested in tests/test_calendar.py:

- Festivals are greeted on their date in Beijing: 元旦 1/1, 春节 lunar 1/1, 元宵 lunar 1/15,
  清明 the Beijing date of the Qingming solar term (its instant can lie on the day before in UTC,
  as in 2026), 五一 5/1, 端午 lunar 5/5, 国庆 10/1, 中秋 lunar 8/15. Two can share a day (国庆 and
  中秋 on 1 October 2020); they are then listed in the order of the Festival enum.
- A Gregorian birthday on 29 February is greeted on 28 February in common years.
- A lunar birthday is (month, day, leap). One in a leap month is greeted in that leap month in
  a lunar year that has it, and on the same day of the ordinary month of that number in a year
  without it. The 30th of a month that has only 29 days this year (ordinary or leap) is greeted
  on its 29th. So every lunar birthday is greeted exactly once in every lunar year.
- Three new moons in range fall within a minute or three of Beijing midnight (2057-09-28/29,
  2089-09-04, 2097-08-07), so their day is uncertain until closer to the time; lunar-python's
  answer is taken as it is (see the exceptions listed in the tests).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

from lunar_python import Lunar, LunarYear, Solar


class Festival(StrEnum):
    """A festival greeted by the bot; the values are the keys of the policy's greeting texts."""

    YUANDAN = "yuandan"
    CHUNJIE = "chunjie"
    YUANXIAO = "yuanxiao"
    QINGMING = "qingming"
    LAODONG = "laodong"
    DUANWU = "duanwu"
    GUOQING = "guoqing"
    ZHONGQIU = "zhongqiu"


FIRST_YEAR = 1950
LAST_YEAR = 2099

# Lunar dates are given for these Gregorian days (birth dates reach back to 1900). lunar-python
# computes further, but no second source confirms it there and no officer was born outside.
LUNAR_FIRST_DAY = date(1900, 1, 1)
LUNAR_LAST_DAY = date(2100, 12, 31)


@dataclass(frozen=True)
class LunarDate:
    """A day of the lunar calendar without its year; `leap` marks a day of a leap month (闰月)."""

    month: int
    day: int
    leap: bool

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.day <= 30:
            raise ValueError(f"no such lunar date: month {self.month}, day {self.day}")


@dataclass(frozen=True)
class _Month:
    """One month of a lunar year: its number, leap or not, its first Gregorian day, its length."""

    number: int
    leap: bool
    first: date
    days: int


def _solar_date(solar: Solar) -> date:
    """A lunar-python Solar as a date (its Beijing calendar day)."""
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@cache
def _lunar_year(year: int) -> tuple[_Month, ...]:
    """The months of a lunar year, 正月 first, a leap month right after its ordinary namesake."""
    return tuple(
        _Month(
            number=abs(month.getMonth()),  # lunar-python numbers a leap month negatively
            leap=bool(month.isLeap()),
            first=_solar_date(Solar.fromJulianDay(month.getFirstJulianDay())),
            days=month.getDayCount(),
        )
        for month in LunarYear.fromYear(year).getMonthsInYear()
    )


@cache
def _qingming(year: int) -> date:
    """The Beijing date of the Qingming solar term in a Gregorian year."""
    # The jieqi table of lunar year Y runs from the 大雪 before its 正月 to the 惊蛰 after its
    # end, so its 清明 is the one in April of Gregorian year Y. Its times are Beijing times.
    return _solar_date(Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"])


def _ordinary_month(year: int, number: int) -> _Month:
    """The ordinary (not leap) month of that number in a lunar year."""
    return next(m for m in _lunar_year(year) if m.number == number and not m.leap)


def _check_year(year: int) -> None:
    """Refuse a year the festival calendar does not cover."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"the festival calendar covers {FIRST_YEAR} to {LAST_YEAR}, not {year}")


def festivals_in_year(year: int) -> list[tuple[date, Festival]]:
    """The eight festivals of a Gregorian year, in date order."""
    _check_year(year)
    # 正月 of lunar year Y always begins in January or February of Gregorian year Y.
    spring = _lunar_year(year)[0].first
    days = [
        (date(year, 1, 1), Festival.YUANDAN),
        (spring, Festival.CHUNJIE),
        (spring + timedelta(days=14), Festival.YUANXIAO),
        (_qingming(year), Festival.QINGMING),
        (date(year, 5, 1), Festival.LAODONG),
        (_ordinary_month(year, 5).first + timedelta(days=4), Festival.DUANWU),
        (date(year, 10, 1), Festival.GUOQING),
        (_ordinary_month(year, 8).first + timedelta(days=14), Festival.ZHONGQIU),
    ]
    order = list(Festival)
    return sorted(days, key=lambda item: (item[0], order.index(item[1])))


def festivals_on(day: date) -> list[Festival]:
    """The festivals that fall on this Gregorian date (usually none)."""
    return [festival for on, festival in festivals_in_year(day.year) if on == day]


def occasions_between(start: date, end: date) -> list[tuple[date, Festival]]:
    """The festivals from `start` to `end`, both included, in date order (none if start > end)."""
    return [
        (on, festival)
        for year in range(start.year, end.year + 1)
        for on, festival in festivals_in_year(year)
        if start <= on <= end
    ]


def _locate(day: date) -> tuple[int, int]:
    """The lunar year of a Gregorian date and the index of its month in that year."""
    if not LUNAR_FIRST_DAY <= day <= LUNAR_LAST_DAY:
        raise ValueError(
            f"lunar dates are known from {LUNAR_FIRST_DAY} to {LUNAR_LAST_DAY}, not {day}"
        )
    year = day.year
    if day < _lunar_year(year)[0].first:
        year -= 1  # January or February before 春节 belongs to the previous lunar year
    index = bisect_right([m.first for m in _lunar_year(year)], day) - 1
    return year, index


def lunar_of(day: date) -> LunarDate:
    """The Chinese lunar date of a Gregorian date."""
    year, index = _locate(day)
    month = _lunar_year(year)[index]
    return LunarDate(month.number, (day - month.first).days + 1, month.leap)


def lunar_birthday_of(birthday: date) -> LunarDate:
    """The lunar birthday of someone born on this Gregorian date (1900 to 2100)."""
    return lunar_of(birthday)


def gregorian_birthday_keys(today: date) -> set[tuple[int, int]]:
    """(month, day) birthdays greeted today; 29 February on 28 February in common years."""
    keys = {(today.month, today.day)}
    if (today.month, today.day) == (2, 28) and (today + timedelta(days=1)).month == 3:
        keys.add((2, 29))
    return keys


def lunar_birthday_keys(today: date) -> set[LunarDate]:
    """Lunar birthdays (month, day, leap) greeted today."""
    year, index = _locate(today)
    months = _lunar_year(year)
    month = months[index]
    day = (today - month.first).days + 1
    days = [day, 30] if day == 29 == month.days else [day]
    leaps = [month.leap]
    has_leap_twin = any(m.leap and m.number == month.number for m in months)
    if not month.leap and not has_leap_twin:
        leaps.append(True)  # a leap-month birthday in a year without that leap month
    return {LunarDate(month.number, d, leap) for d in days for leap in leaps}
