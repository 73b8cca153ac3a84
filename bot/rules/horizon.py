"""Pure rule for dates typed about the future: nothing further ahead than two years.

A drive, an appeal's deadline, an event or a planned date in year 9999 is a typo; kept, it
would never leave a list of upcoming things, and date arithmetic on it overflows.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

HORIZON_YEARS = 2


def horizon(today: date) -> date:
    """The last date that may be named: the same day two years on (29 February → 28th)."""
    year = today.year + HORIZON_YEARS
    return date(year, today.month, min(today.day, calendar.monthrange(year, today.month)[1]))


def beyond_horizon(day: date, today: date) -> bool:
    """True if the date lies more than two years after today."""
    return day > horizon(today)


def moment_beyond_horizon(moment: datetime, now: datetime) -> bool:
    """True if an aware moment's date lies more than two years after now's date, both read in
    the moment's own zone (the union's, as typed)."""
    return beyond_horizon(moment.date(), now.astimezone(moment.tzinfo).date())
