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
- The policy's occasions (OccasionRule) are of four kinds: a solar date (month, day; never
  29 February, which most years lack), a lunar date (month, day of the ordinary month, never the
  leap month of that number; a 30th is greeted on the 29th when the month has only 29 days this
  year, like a lunar birthday), a solar term by its Chinese name (its Beijing date), or 除夕, the
  last day of the lunar year (the day before 春节: 腊月廿九 when 腊月 has 29 days, as in lunar
  2025). A Gregorian year holds each solar date, solar term and 除夕 once; a lunar date of the
  end of the lunar year (腊八, lunar 12/8) may fall in it twice or not at all. Occasions sharing
  a day are listed in the order of the rules given.
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lunar_python import Solar


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


class OccasionKind(StrEnum):
    """How a greeting occasion's date is given (the policy's `kind`)."""

    SOLAR = "solar"  # a Gregorian month and day
    LUNAR = "lunar"  # a lunar month and day
    SOLAR_TERM = "solar_term"  # one of the 24 solar terms, by its Chinese name
    LUNAR_NEW_YEAR_EVE = "lunar_new_year_eve"  # 除夕, the lunar year's last day


# The 24 solar terms (二十四节气) in the order they fall in a Gregorian year.
SOLAR_TERMS = (
    "小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种", "夏至",
    "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至",
)  # fmt: skip


@dataclass(frozen=True)
class OccasionRule:
    """When a greeting occasion falls: its key and how its date is given.

    `month` and `day` (Gregorian for SOLAR, lunar for LUNAR) are 0 and `term` empty where the
    kind takes none; a value the kind does not take, or a date that does not exist, is refused.
    """

    key: str
    kind: OccasionKind
    month: int = 0
    day: int = 0
    term: str = ""

    def __post_init__(self) -> None:
        kind = OccasionKind(self.kind)
        object.__setattr__(self, "kind", kind)  # given as its text, kept as the enum
        dated = kind in (OccasionKind.SOLAR, OccasionKind.LUNAR)
        if dated and (not self.month or not self.day):
            raise ValueError(f"a {kind} occasion needs a month and a day")
        if not dated and (self.month or self.day):
            raise ValueError(f"a {kind} occasion takes no month or day")
        if kind is OccasionKind.SOLAR_TERM and not self.term:
            raise ValueError("a solar_term occasion needs the term's Chinese name, e.g. 清明")
        if kind is not OccasionKind.SOLAR_TERM and self.term:
            raise ValueError(f"a {kind} occasion takes no term")
        if kind is OccasionKind.SOLAR:
            if (self.month, self.day) == (2, 29):
                raise ValueError("29 February is not in every year: choose another day")
            try:
                date(2001, self.month, self.day)
            except ValueError:
                raise ValueError(f"month {self.month}, day {self.day} is not a date") from None
        if kind is OccasionKind.LUNAR and (not 1 <= self.month <= 12 or not 1 <= self.day <= 30):
            raise ValueError(
                f"month {self.month}, day {self.day} is not a lunar date "
                "(months 1 to 12, days 1 to 30)"
            )
        if kind is OccasionKind.SOLAR_TERM and self.term not in SOLAR_TERMS:
            raise ValueError(
                f"{self.term!r} is not one of the 24 solar terms ({'、'.join(SOLAR_TERMS)})"
            )


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
    # Imported when first needed (lunar_python's tables take about 1.4 MB of a process's
    # memory): a greetings run or a lunar birthday asks once a year per year, then it is cached.
    from lunar_python import LunarYear, Solar

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
def _solar_terms(year: int) -> dict[str, date]:
    """The Beijing dates of the 24 solar terms of a Gregorian year, by Chinese name."""
    # The jieqi table of lunar year Y runs from the 大雪 before its 正月 to the 惊蛰 after its
    # end; its Chinese-named entries are the terms from the 冬至 of December Y-1 to the 大雪 of
    # December Y (those after it are named in pinyin). So lunar year Y gives 小寒 … 大雪 of
    # Gregorian year Y and lunar year Y+1 its 冬至. Their times are Beijing times.
    from lunar_python import Lunar  # when first needed, as in _lunar_year

    terms = {}
    for lunar_year in (year, year + 1):
        for name, solar in Lunar.fromYmd(lunar_year, 1, 1).getJieQiTable().items():
            if name in SOLAR_TERMS and solar.getYear() == year:
                terms[name] = _solar_date(solar)
    assert len(terms) == len(SOLAR_TERMS), f"solar terms of {year}: {sorted(terms)}"
    return terms


def _ordinary_month(year: int, number: int) -> _Month:
    """The ordinary (not leap) month of that number in a lunar year."""
    return next(m for m in _lunar_year(year) if m.number == number and not m.leap)


def _check_year(year: int) -> None:
    """Refuse a year the festival calendar does not cover."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"the festival calendar covers {FIRST_YEAR} to {LAST_YEAR}, not {year}")


@cache
def dates_of(rule: OccasionRule, year: int) -> tuple[date, ...]:
    """The days of a Gregorian year on which an occasion falls, in order (usually one)."""
    _check_year(year)
    if rule.kind is OccasionKind.SOLAR:
        return (date(year, rule.month, rule.day),)
    if rule.kind is OccasionKind.SOLAR_TERM:
        return (_solar_terms(year)[rule.term],)
    if rule.kind is OccasionKind.LUNAR_NEW_YEAR_EVE:
        # 正月 of lunar year Y always begins between 21 January and 20 February of Gregorian
        # year Y, so the day before it, the last of lunar year Y-1, is in Gregorian year Y too.
        return (_lunar_year(year)[0].first - timedelta(days=1),)
    days = []
    # Lunar year Y-1 reaches into January or February of Y, lunar year Y into Y+1.
    for lunar_year in (year - 1, year):
        month = _ordinary_month(lunar_year, rule.month)
        day = month.first + timedelta(days=min(rule.day, month.days) - 1)
        if day.year == year:
            days.append(day)
    return tuple(days)


def occasions_in_year(rules: Sequence[OccasionRule], year: int) -> list[tuple[date, str]]:
    """The occasions of a Gregorian year as (day, key), in date order, then in the rules' order."""
    _check_year(year)
    days = [(day, index) for index, rule in enumerate(rules) for day in dates_of(rule, year)]
    return [(day, rules[index].key) for day, index in sorted(days)]


def occasion_keys_on(rules: Sequence[OccasionRule], day: date) -> list[str]:
    """The keys of the occasions that fall on this Gregorian date (usually none)."""
    return [key for on, key in occasions_in_year(rules, day.year) if on == day]


def occasion_dates_between(
    rules: Sequence[OccasionRule], start: date, end: date
) -> list[tuple[date, str]]:
    """The occasions from `start` to `end`, both included, as (day, key) in date order."""
    return [
        (on, key)
        for year in range(start.year, end.year + 1)
        for on, key in occasions_in_year(rules, year)
        if start <= on <= end
    ]


_SOLAR = OccasionKind.SOLAR
_LUNAR = OccasionKind.LUNAR
# The eight festivals the bot greets when the policy lists no occasions, in the Festival order.
DEFAULT_OCCASIONS: tuple[OccasionRule, ...] = (
    OccasionRule(Festival.YUANDAN.value, _SOLAR, 1, 1),
    OccasionRule(Festival.CHUNJIE.value, _LUNAR, 1, 1),
    OccasionRule(Festival.YUANXIAO.value, _LUNAR, 1, 15),
    OccasionRule(Festival.QINGMING.value, OccasionKind.SOLAR_TERM, term="清明"),
    OccasionRule(Festival.LAODONG.value, _SOLAR, 5, 1),
    OccasionRule(Festival.DUANWU.value, _LUNAR, 5, 5),
    OccasionRule(Festival.GUOQING.value, _SOLAR, 10, 1),
    OccasionRule(Festival.ZHONGQIU.value, _LUNAR, 8, 15),
)


def festivals_in_year(year: int) -> list[tuple[date, Festival]]:
    """The eight festivals of a Gregorian year, in date order."""
    return [(on, Festival(key)) for on, key in occasions_in_year(DEFAULT_OCCASIONS, year)]


def festivals_on(day: date) -> list[Festival]:
    """The festivals that fall on this Gregorian date (usually none)."""
    return [festival for on, festival in festivals_in_year(day.year) if on == day]


def occasions_between(start: date, end: date) -> list[tuple[date, Festival]]:
    """The festivals from `start` to `end`, both included, in date order (none if start > end)."""
    return [
        (on, Festival(key)) for on, key in occasion_dates_between(DEFAULT_OCCASIONS, start, end)
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
