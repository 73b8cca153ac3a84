"""Care report rules: pricing by the rule in force, believable dates, duplicates."""

from __future__ import annotations

from datetime import date

import pytest

from bot.policy import load_policy
from bot.rules.care import (
    CaseKey,
    DateProblem,
    Sum,
    date_problem,
    first_duplicate,
    paid_amount_problem,
    parse_date,
    price,
    same_event,
)

RULES = load_policy(None).care.rules


@pytest.mark.parametrize(
    ("event", "on", "amount", "up_to"),
    [
        ("hospitalization", date(2018, 8, 31), 500, False),
        ("hospitalization", date(2018, 9, 1), 1000, False),
        ("hospitalization", date(2026, 11, 1), 1000, False),
        ("marriage", date(2020, 5, 20), 1000, True),
        ("childbirth", date(2021, 1, 1), 1000, True),
        ("retirement", date(2025, 12, 31), 1000, True),
        ("relative_death", date(2019, 3, 3), 1000, False),
        ("officer_death", date(2019, 7, 15), 2000, False),
    ],
)
def test_price_uses_the_rule_in_force_on_the_event_date(
    event: str, on: date, amount: int, up_to: bool
) -> None:
    found = price(RULES, event, on)
    assert found is not None and (found.amount, found.up_to) == (amount, up_to)


def test_no_rule_before_a_type_existed() -> None:
    assert price(RULES, "marriage", date(2018, 8, 31)) is None
    assert price(RULES, "unknown", date(2020, 1, 1)) is None


def test_paid_amount_within_policy_and_reasoned() -> None:
    fixed = Sum(1000, False, date(2018, 9, 1))
    assert paid_amount_problem(fixed, 1000, "") is None
    assert paid_amount_problem(fixed, 800, "") == "reason"
    assert paid_amount_problem(fixed, 800, "住院时间短") is None
    assert paid_amount_problem(fixed, 1001, "多给") == "range"
    assert paid_amount_problem(fixed, 0, "x") == "range"


TODAY = date(2026, 11, 29)
BORN = date(1985, 3, 12)


@pytest.mark.parametrize(
    ("event", "on", "problem"),
    [
        ("hospitalization", TODAY, None),
        ("hospitalization", date(2026, 11, 30), DateProblem.FUTURE),
        ("marriage", date(2027, 1, 28), None),  # 60 days ahead: a planned wedding
        ("marriage", date(2027, 1, 29), DateProblem.TOO_FAR_AHEAD),
        ("retirement", date(2026, 12, 1), DateProblem.FUTURE),
        ("childbirth", date(1985, 3, 11), DateProblem.BEFORE_BIRTH),
        ("hospitalization", date(2025, 11, 28), None),
        ("hospitalization", date(2025, 11, 27), DateProblem.TOO_OLD),
    ],
)
def test_event_dates(event: str, on: date, problem: DateProblem | None) -> None:
    assert date_problem(event, on, today=TODAY, birthday=BORN) == problem


def test_duplicates_by_type_date_and_relation() -> None:
    first = CaseKey(1, 10, "hospitalization", date(2026, 11, 1))
    assert same_event(first, CaseKey(2, 10, "hospitalization", date(2026, 11, 15)))
    assert not same_event(first, CaseKey(2, 10, "hospitalization", date(2026, 11, 16)))
    assert not same_event(first, CaseKey(2, 11, "hospitalization", date(2026, 11, 1)))
    assert not same_event(first, CaseKey(2, 10, "marriage", date(2026, 11, 1)))
    mother = CaseKey(3, 10, "relative_death", date(2026, 5, 1), "parent")
    assert not same_event(mother, CaseKey(4, 10, "relative_death", date(2026, 5, 2), "spouse"))
    assert same_event(mother, CaseKey(4, 10, "relative_death", date(2026, 5, 2), "parent"))
    later = CaseKey(9, 10, "hospitalization", date(2026, 11, 3))
    assert (
        first_duplicate([later, first], CaseKey(12, 10, "hospitalization", date(2026, 11, 2)))
        == first
    )
    assert first_duplicate([], first) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-29", date(2026, 11, 29)),
        ("2026/1/5", date(2026, 1, 5)),
        ("2026.11.29", date(2026, 11, 29)),
        ("20261129", date(2026, 11, 29)),
        ("2026年11月29日", date(2026, 11, 29)),
        ("2026-02-30", None),
        ("昨天", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected
