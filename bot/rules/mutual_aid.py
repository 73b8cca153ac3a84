"""Medical mutual aid (医疗互助), the pure rules: who a scheme covers, the amounts, dates and
texts a claim accepts, and when a hospitalization's claim reminder is due.

Money is whole yuan (the schemes pay round sums), never negative, never above the policy's cap
per claim. Typed numbers and dates are read the forgiving way (bot/rules/forgiving.py).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum

from bot.rules.forgiving import normalise
from bot.rules.text import clean, meaningful

WOMEN = "F"  # the roster's gender of women (bot.rules.identity.parse_gender)
NOTE_LIMIT = 200
REASON_LIMIT = 200
# A reminder whose day passed longer ago than this is not sent any more: a hospitalization
# reported long after (or one from before the feature) gets no stale advice.
REMINDER_WINDOW = timedelta(days=30)
# 12000, 12,000, ¥12000, 12000元, 1.2万 is not read (a typo there costs real money).
_AMOUNT = re.compile(r"^[¥￥]?(-?)([0-9][0-9,]*)(?:\.([0-9]+))?(?:元|块)?$")


class Problem(StrEnum):
    """Why a typed value is refused; bot/texts.py says each in one sentence."""

    NOT_A_NUMBER = "not_a_number"
    NEGATIVE = "negative"
    ZERO = "zero"
    FRACTION = "fraction"
    OVER_CAP = "over_cap"
    FUTURE = "future"
    BEFORE_YEAR = "before_year"
    TOO_LONG = "too_long"
    EMPTY = "empty"


class MutualAidInputError(ValueError):
    """A typed value refused, with the problem to tell."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def covers(audience: str, gender: str | None) -> bool:
    """True if a scheme for `audience` ("all" or "women") covers a member of this gender; a
    member whose gender the roster does not know is not taken for a woman."""
    if audience == "women":
        return gender == WOMEN
    return True


def parse_amount(text: str, cap: int) -> int:
    """A paid amount in whole yuan, 1 to `cap`: full-width digits, ¥, 元 and thousands'
    commas are read; negative, zero, fractional or absurd amounts are refused."""
    typed = normalise(text).strip().replace(" ", "")
    found = _AMOUNT.match(typed)
    if found is None:
        raise MutualAidInputError(Problem.NOT_A_NUMBER)
    sign, whole, fraction = found.groups()
    digits = whole.replace(",", "")
    if not digits.isdigit():
        raise MutualAidInputError(Problem.NOT_A_NUMBER)
    if sign:
        raise MutualAidInputError(Problem.NEGATIVE)
    if fraction and fraction.strip("0"):
        raise MutualAidInputError(Problem.FRACTION)
    # Compared as text first: a thousand digits must not become a huge int to compare.
    if len(digits.lstrip("0")) > len(str(cap)):
        raise MutualAidInputError(Problem.OVER_CAP)
    amount = int(digits)
    if amount == 0:
        raise MutualAidInputError(Problem.ZERO)
    if amount > cap:
        raise MutualAidInputError(Problem.OVER_CAP)
    return amount


def check_amount(amount: int, cap: int) -> int:
    """An amount from a button or a draft, checked again before it is stored."""
    if amount < 0:
        raise MutualAidInputError(Problem.NEGATIVE)
    if amount == 0:
        raise MutualAidInputError(Problem.ZERO)
    if amount > cap:
        raise MutualAidInputError(Problem.OVER_CAP)
    return amount


def claim_date_problem(day: date, today: date, year: int) -> Problem | None:
    """Why a claim of the scheme year `year` cannot be dated `day`: not in the future, not
    before its year (a claim may come in the next year, for a stay at the year's end)."""
    if day > today:
        return Problem.FUTURE
    if day.year < year:
        return Problem.BEFORE_YEAR
    return None


def check_text(text: str, limit: int, *, required: bool) -> str:
    """A note or a reason as kept: cleaned, at most `limit` characters, and not blank when
    `required`."""
    kept = clean(text).strip()
    if not meaningful(kept):
        if required:
            raise MutualAidInputError(Problem.EMPTY)
        return ""
    if len(kept) > limit:
        raise MutualAidInputError(Problem.TOO_LONG)
    return kept


def reminder_day(admitted_on: date, days: int) -> date:
    """The day a hospitalization's claim reminder is due: the admission plus the policy's
    days (the discharge is not known; a visit, made during the stay, tells nothing of it)."""
    return admitted_on + timedelta(days=days)


def reminder_due(admitted_on: date, days: int, today: date) -> bool:
    """True from the reminder's day until REMINDER_WINDOW after it."""
    due = reminder_day(admitted_on, days)
    return due <= today <= due + REMINDER_WINDOW


def admissions_reminded_on(today: date, days: int) -> tuple[date, date]:
    """The first and last admission days whose reminder is due on `today`."""
    last = today - timedelta(days=days)
    return last - REMINDER_WINDOW, last


def year_choices(this_year: int, known: set[int] | frozenset[int], count: int = 3) -> list[int]:
    """The years /mutualaid offers as buttons: this year, the years with records, newest
    first, at most `count`."""
    years = {this_year, *known}
    return sorted(years, reverse=True)[:count]
