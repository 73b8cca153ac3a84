"""Pure rules of distributions (物资与消费券发放): quantities, shares per unit, receipts, the
reminder's day. No Telegram, no database: storage.distributions and the handler call these.

The share of a bulk item among units is the nominations' quota arithmetic (largest remainder,
bot.rules.nominations.allocate), not a copy of it. That function caps each unit at its officers
(a quota of people); items are not capped, so a quantity of at least one per officer is split
first into whole rounds of one item per officer, and only the rest goes through `allocate`.
The result is exactly the largest remainder share of the whole quantity: with Q = k·T + r,
⌊Q·c/T⌋ = k·c + ⌊r·c/T⌋ and Q·c mod T = r·c mod T for every unit of c officers out of T.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.rules.forgiving import normalise
from bot.rules.nominations import allocate
from bot.rules.text import clean, meaningful

MAX_QUANTITY = 1_000_000  # more than a union ever hands out at once: a slip of the keyboard
MAX_ITEM = 30
MAX_NOTE = 200
_NUMBER = re.compile(r"^\d{1,9}$")


class Problem(StrEnum):
    """Why a typed value or a table was refused (bot/texts.py says each in one sentence)."""

    EMPTY = "empty"
    ITEM_TOO_LONG = "item_too_long"
    NOTE_TOO_LONG = "note_too_long"
    NOT_A_NUMBER = "not_a_number"
    ZERO = "zero"
    TOO_MANY = "too_many"
    NOBODY = "nobody"
    SUM_MISMATCH = "sum_mismatch"
    OVER_ALLOCATED = "over_allocated"


class DistributionInputError(ValueError):
    """A value that cannot be taken, and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def check_text(text: str, limit: int, too_long: Problem) -> str:
    """The cleaned text (an item's name, a note), or the problem."""
    value = clean(text)
    if not meaningful(value):
        raise DistributionInputError(Problem.EMPTY)
    if len(value) > limit:
        raise DistributionInputError(too_long)
    return value


def parse_count(text: str) -> int:
    """A typed whole number (`１００００`, `10,000`, ` 50 `), 0 allowed; not above MAX_QUANTITY."""
    value = re.sub(r"[\s,，_]", "", normalise(text))
    for suffix in ("份", "个", "张", "件"):
        value = value.removesuffix(suffix)
    if not _NUMBER.match(value):
        raise DistributionInputError(Problem.NOT_A_NUMBER)
    number = int(value)
    if number > MAX_QUANTITY:
        raise DistributionInputError(Problem.TOO_MANY)
    return number


def parse_quantity(text: str) -> int:
    """A typed quantity: a whole number from 1 to MAX_QUANTITY."""
    number = parse_count(text)
    if number == 0:
        raise DistributionInputError(Problem.ZERO)
    return number


def check_quantity(number: int) -> int:
    """A quantity (a button's, or one computed) from 1 to MAX_QUANTITY."""
    if number <= 0:
        raise DistributionInputError(Problem.ZERO)
    if number > MAX_QUANTITY:
        raise DistributionInputError(Problem.TOO_MANY)
    return number


def share(quantity: int, officers: Mapping[str, int]) -> dict[str, int]:
    """`quantity` items shared among units in proportion to their active officers (largest
    remainder, see the module); units with no officers get 0. DistributionInputError NOBODY
    when no unit has an officer."""
    total = sum(count for count in officers.values() if count > 0)
    if total == 0:
        raise DistributionInputError(Problem.NOBODY)
    rounds, rest = divmod(check_quantity(quantity), total)
    counted = {unit: max(count, 0) for unit, count in officers.items()}
    quotas = allocate(rest, counted).quotas
    return {unit: rounds * counted[unit] + quotas[unit] for unit in officers}


def per_officer(each: int, officers: Mapping[str, int]) -> dict[str, int]:
    """Per-officer items: `each` to every officer of every unit; checked against MAX_QUANTITY."""
    check_quantity(each)
    shares = {unit: each * max(count, 0) for unit, count in officers.items()}
    if sum(shares.values()) == 0:
        raise DistributionInputError(Problem.NOBODY)
    check_quantity(sum(shares.values()))
    return shares


@dataclass(frozen=True)
class AllocationCheck:
    """A table that cannot be used: the problem and the table's sum against the quantity."""

    problem: Problem
    total: int = 0
    quantity: int = 0


def allocation_problem(quantity: int, allocation: Mapping[str, int]) -> AllocationCheck | None:
    """None if the edited table may be published: no unit below 0 or above the quantity, and
    the units' numbers summing to exactly the quantity."""
    total = sum(allocation.values())
    if any(value < 0 or value > quantity for value in allocation.values()) or total != quantity:
        return AllocationCheck(Problem.SUM_MISMATCH, total, quantity)
    return None


def check_received(allocated: int, received: int) -> int:
    """A unit's receipt: from 0 to what it was allocated (a partial receipt is fewer)."""
    if received < 0:
        raise DistributionInputError(Problem.NOT_A_NUMBER)
    if received > allocated:
        raise DistributionInputError(Problem.OVER_ALLOCATED)
    return received


def reminder_due(published_at: datetime, days: int, now: datetime) -> bool:
    """True once `days` days have passed since publishing (0 days: no reminder by itself)."""
    return days > 0 and now >= published_at + timedelta(days=days)
