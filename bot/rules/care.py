"""Pure rules of care reports (慰问): what a case pays, which dates are believable, duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.policy import CareRule
from bot.rules.forgiving import Lean, parse_day

PLANNED_WEDDING_DAYS = 60
LONGEST_LOOKBACK_DAYS = 366

# Two reports of one type for one officer are the same event when their dates are this close.
# Relatives' deaths must also name the same relation; an officer retires or dies only once.
DUPLICATE_WINDOW_DAYS = {
    "hospitalization": 14,
    "marriage": 365,
    "childbirth": 180,
    "retirement": 100 * 365,
    "relative_death": 30,
    "officer_death": 100 * 365,
}


class DateProblem(StrEnum):
    """Why an event date is refused."""

    FUTURE = "future"
    TOO_FAR_AHEAD = "too_far_ahead"
    BEFORE_BIRTH = "before_birth"
    TOO_OLD = "too_old"


@dataclass(frozen=True)
class Sum:
    """The condolence sum the policy gives a case."""

    amount: int
    up_to: bool
    rule_from: date


def price(rules: Sequence[CareRule], event: str, event_date: date) -> Sum | None:
    """The sum in force on the event date for that event type, or None if no rule covers it."""
    in_force = [r for r in rules if r.event == event and r.effective_from <= event_date]
    if not in_force:
        return None
    rule = max(in_force, key=lambda r: r.effective_from)
    return Sum(amount=rule.amount, up_to=rule.up_to, rule_from=rule.effective_from)


def paid_amount_problem(policy_sum: Sum, amount: int, reason: str) -> str | None:
    """None if an organizer may pay this amount; else why not ('range' or 'reason')."""
    if amount <= 0 or amount > policy_sum.amount:
        return "range"
    if amount != policy_sum.amount and not reason.strip():
        return "reason"
    return None


def date_problem(
    event: str, event_date: date, *, today: date, birthday: date | None
) -> DateProblem | None:
    """None if the date can be reported; a planned wedding may lie up to 60 days ahead."""
    if event_date > today:
        if event != "marriage":
            return DateProblem.FUTURE
        if event_date > today + timedelta(days=PLANNED_WEDDING_DAYS):
            return DateProblem.TOO_FAR_AHEAD
    if birthday is not None and event_date < birthday:
        return DateProblem.BEFORE_BIRTH
    if event_date < today - timedelta(days=LONGEST_LOOKBACK_DAYS):
        return DateProblem.TOO_OLD
    return None


@dataclass(frozen=True)
class CaseKey:
    """What makes two reports the same event."""

    case_id: int
    officer_id: int
    event: str
    event_date: date
    relation: str = ""


def same_event(a: CaseKey, b: CaseKey) -> bool:
    """True when two reports describe one event of one officer."""
    if a.officer_id != b.officer_id or a.event != b.event:
        return False
    if a.event == "relative_death" and a.relation != b.relation:
        return False
    window = DUPLICATE_WINDOW_DAYS.get(a.event, 0)
    return abs((a.event_date - b.event_date).days) <= window


def first_duplicate(existing: Sequence[CaseKey], new: CaseKey) -> CaseKey | None:
    """The earliest existing case that is the same event as the new report."""
    matches = [case for case in existing if same_event(case, new)]
    return min(matches, key=lambda c: c.case_id) if matches else None


def parse_date(text: str, today: date | None = None, *, lean: Lean = Lean.PAST) -> date | None:
    """A typed date (bot/rules/forgiving.py): 2026-11-29, 2026/11/29, 2026.11.29, 20261129,
    2026年11月29日, full-width digits too; with `today` also 今天 / 昨天 / 前天 / 明天 and a
    year-less 11-29 or 11月29日, its year chosen by `lean` (a past event by default)."""
    return parse_day(text, today, lean=lean)
