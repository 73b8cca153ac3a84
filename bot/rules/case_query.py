"""The /cases query language: the words after /cases as a filter of care cases (pure).

Each word is a type (住院, or its key), a status (已探望 …), 全部 (every status), a unit of the
roster, `#id` (one case), or a date of the period: up to two dates (either order), or one month
(`2026-02`, `2026年2月`) or year (`2026`). Commas, 、 and semicolons separate as spaces do. A word
that means nothing raises FilterError, whose text says which and how to write it. No Telegram,
no database: the units of the roster are handed in.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Collection, Sequence
from datetime import date

from bot import texts
from bot.rules.care import parse_date
from bot.rules.text import quote

YEARS_ALLOWED = (1950, 2100)
_SEPARATORS = re.compile(r"[\s,，、;；]+")
_CASE_ID = re.compile(r"^[#＃](\d{1,9})$")
_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")
_YEAR = re.compile(r"^(\d{4})年?$")
EVENT_NAMES = {name: event for event, name in texts.CARE_EVENTS.items()} | {
    event: event for event in texts.CARE_EVENTS
}
STATUS_NAMES = {name: status for status, name in texts.CASE_STATUS.items()} | {
    status: status for status in texts.CASE_STATUS
}


class FilterError(ValueError):
    """A /cases argument that means nothing; the text says which and how to write it."""


@dataclasses.dataclass(frozen=True)
class CaseFilter:
    """What /cases asks for; dates are report dates, both ends included."""

    statuses: tuple[str, ...] = ()
    every_status: bool = False
    event: str | None = None
    unit: str | None = None
    start: date | None = None
    end: date | None = None
    case_id: int | None = None


def split_arguments(text: str) -> list[str]:
    """The words after the command; commas and 、 separate as spaces do (phones type them)."""
    rest = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    return [token for token in _SEPARATORS.split(rest.strip()) if token]


def _period_of(token: str) -> tuple[date, date] | date | None:
    """A date, or a whole month or year as (first, last); None if the token is no period.

    Years outside 1950–2100 are no period: such dates overflow the arithmetic and the database
    (9999-12-31 + 1 day), and no case of the union lies there.
    """
    period = _any_period_of(token)
    if period is None:
        return None
    ends = period if isinstance(period, tuple) else (period, period)
    if not all(YEARS_ALLOWED[0] <= day.year <= YEARS_ALLOWED[1] for day in ends):
        return None
    return period


def _any_period_of(token: str) -> tuple[date, date] | date | None:
    day = parse_date(token)
    if day is not None:
        return day
    month = _MONTH.match(token)
    try:
        if month:
            year, number = int(month.group(1)), int(month.group(2))
            last = calendar.monthrange(year, number)[1]
            return date(year, number, 1), date(year, number, last)
        year_match = _YEAR.match(token)
        if year_match:
            year = int(year_match.group(1))
            return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None
    return None


def parse_period(tokens: Sequence[str]) -> tuple[date | None, date | None]:
    """(start, end) from up to two dates, or one year or month; end None means 'until now'."""
    periods: list[tuple[date, date] | date] = []
    for token in tokens:
        period = _period_of(token)
        if period is None:
            raise FilterError(texts.CASES_BAD_TOKEN.format(token=quote(token)))
        periods.append(period)
    days = sorted(p for p in periods if not isinstance(p, tuple))
    if not periods:
        return None, None
    if len(periods) == 1:
        only = periods[0]
        return only if isinstance(only, tuple) else (only, None)
    if len(periods) == 2 and len(days) == 2:
        return days[0], days[1]
    raise FilterError(texts.CASES_BAD_PERIOD)


def parse_filter(tokens: Sequence[str], units: Collection[str]) -> CaseFilter:
    """Each word is a type, a status, 全部, a unit of the roster, #id, or a date of the period."""
    statuses: list[str] = []
    every_status = False
    event: str | None = None
    unit: str | None = None
    dates: list[str] = []
    for token in tokens:
        case_id = _CASE_ID.match(token)
        if case_id:
            return CaseFilter(case_id=int(case_id.group(1)))
        if token == texts.CASES_ALL:
            every_status = True
        elif token in EVENT_NAMES and event in (None, EVENT_NAMES[token]):
            event = EVENT_NAMES[token]
        elif token in STATUS_NAMES:
            statuses.append(STATUS_NAMES[token])
        elif token in units and unit in (None, token):
            unit = token
        elif _period_of(token) is not None:
            dates.append(token)
        else:
            raise FilterError(texts.CASES_BAD_TOKEN.format(token=quote(token)))
    start, end = parse_period(dates)
    return CaseFilter(
        statuses=tuple(dict.fromkeys(statuses)),
        every_status=every_status and not statuses,
        event=event,
        unit=unit,
        start=start,
        end=end,
    )


def describe(wanted: CaseFilter) -> str:
    """The filters in words, for the list's header."""
    parts: list[str] = []
    if wanted.event:
        parts.append(texts.CARE_EVENTS.get(wanted.event, wanted.event))
    if wanted.unit:
        parts.append(wanted.unit)
    if wanted.statuses:
        parts.append("、".join(texts.CASE_STATUS[s] for s in wanted.statuses))
    else:
        parts.append(texts.CASES_FILTER_ALL if wanted.every_status else texts.CASES_FILTER_OPEN)
    if wanted.start is not None and wanted.end is not None:
        parts.append(texts.CASES_FILTER_PERIOD.format(start=wanted.start, end=wanted.end))
    elif wanted.start is not None:
        parts.append(texts.CASES_FILTER_SINCE.format(start=wanted.start))
    return "，".join(parts)
