"""Medical mutual aid's pure rules (bot/rules/mutual_aid.py) and its policy, as tables."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from bot.policy import MutualAidPolicy, MutualAidScheme, load_policy
from bot.rules import mutual_aid as rules
from bot.rules.mutual_aid import MutualAidInputError, Problem

CAP = 50_000


@pytest.mark.parametrize(
    ("audience", "gender", "covered"),
    [
        ("all", "M", True),
        ("all", "F", True),
        ("all", None, True),
        ("women", "F", True),
        ("women", "M", False),
        # A member whose gender the roster does not know is not taken for a woman.
        ("women", None, False),
        ("women", "", False),
    ],
)
def test_who_a_scheme_covers(audience: str, gender: str | None, covered: bool) -> None:
    assert rules.covers(audience, gender) is covered


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("3200", 3200),
        ("３２００", 3200),
        ("¥3200", 3200),
        ("￥3,200元", 3200),
        ("12,000", 12000),
        (" 800 元 ", 800),
        ("3200.00", 3200),
        ("50000", CAP),
        ("1", 1),
    ],
)
def test_amounts_read(typed: str, amount: int) -> None:
    assert rules.parse_amount(typed, CAP) == amount


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("-100", Problem.NEGATIVE),
        ("－100", Problem.NEGATIVE),
        ("0", Problem.ZERO),
        ("000", Problem.ZERO),
        ("50001", Problem.OVER_CAP),
        ("99999999999999999999999999", Problem.OVER_CAP),
        ("1" * 500, Problem.OVER_CAP),
        ("3200.5", Problem.FRACTION),
        ("abc", Problem.NOT_A_NUMBER),
        ("", Problem.NOT_A_NUMBER),
        ("1.2万", Problem.NOT_A_NUMBER),
        ("12-00", Problem.NOT_A_NUMBER),
        (",", Problem.NOT_A_NUMBER),
    ],
)
def test_amounts_refused(typed: str, problem: Problem) -> None:
    with pytest.raises(MutualAidInputError) as caught:
        rules.parse_amount(typed, CAP)
    assert caught.value.problem is problem


@pytest.mark.parametrize(
    ("amount", "problem"),
    [(-1, Problem.NEGATIVE), (0, Problem.ZERO), (CAP + 1, Problem.OVER_CAP)],
)
def test_stored_amounts_checked_again(amount: int, problem: Problem) -> None:
    with pytest.raises(MutualAidInputError) as caught:
        rules.check_amount(amount, CAP)
    assert caught.value.problem is problem
    assert rules.check_amount(CAP, CAP) == CAP


TODAY = date(2026, 12, 5)


@pytest.mark.parametrize(
    ("day", "year", "problem"),
    [
        (TODAY, 2026, None),
        (date(2026, 1, 1), 2026, None),
        (date(2027, 1, 3), 2026, Problem.FUTURE),
        (date(2025, 12, 31), 2026, Problem.BEFORE_YEAR),
        # A stay at the year's end is claimed in the next year.
        (date(2026, 1, 10), 2025, None),
    ],
)
def test_claim_dates(day: date, year: int, problem: Problem | None) -> None:
    assert rules.claim_date_problem(day, TODAY, year) is problem


@pytest.mark.parametrize(
    ("typed", "required", "kept", "problem"),
    [
        ("  材料齐全  ", False, "材料齐全", None),
        ("", False, "", None),
        ("\u200b", False, "", None),
        ("", True, "", Problem.EMPTY),
        ("   ", True, "", Problem.EMPTY),
        ("字" * 201, False, "", Problem.TOO_LONG),
        ("字" * 200, True, "字" * 200, None),
    ],
)
def test_notes_and_reasons(typed: str, required: bool, kept: str, problem: Problem | None) -> None:
    if problem is None:
        assert rules.check_text(typed, 200, required=required) == kept
        return
    with pytest.raises(MutualAidInputError) as caught:
        rules.check_text(typed, 200, required=required)
    assert caught.value.problem is problem


@pytest.mark.parametrize(
    ("admitted", "today", "due"),
    [
        (date(2026, 11, 1), date(2026, 11, 7), False),
        (date(2026, 11, 1), date(2026, 11, 8), True),
        (date(2026, 11, 1), date(2026, 12, 8), True),
        (date(2026, 11, 1), date(2026, 12, 9), False),
        (date(2026, 12, 28), date(2027, 1, 4), True),
    ],
)
def test_reminder_due_after_the_stay(admitted: date, today: date, due: bool) -> None:
    assert rules.reminder_due(admitted, 7, today) is due
    first, last = rules.admissions_reminded_on(today, 7)
    assert (first <= admitted <= last) is due


def test_year_choices() -> None:
    assert rules.year_choices(2026, frozenset()) == [2026]
    assert rules.year_choices(2026, frozenset({2024, 2025, 2023})) == [2026, 2025, 2024]
    assert rules.year_choices(2026, frozenset({2027})) == [2027, 2026]


def test_the_seed_schemes_ship_as_defaults() -> None:
    policy = load_policy(None).mutual_aid
    names = [(s.key, s.name, s.covers) for s in policy.schemes]
    assert names == [
        ("inpatient", "职工住院医疗互助", "all"),
        ("women-disease", "女职工特殊疾病互助", "women"),
    ]
    assert "出院小结" in policy.schemes[0].documents
    assert "银行卡复印件" in policy.schemes[1].documents
    assert policy.claim_reminder_days == 7 and policy.claim_cap == 50_000
    # The defaults without a policy file entry are the same schemes.
    assert [s.key for s in MutualAidPolicy().schemes] == ["inpatient", "women-disease"]
    assert [s.key for s in policy.of_year(2031)] == ["inpatient", "women-disease"]


def test_a_scheme_of_one_year() -> None:
    policy = MutualAidPolicy(
        schemes=[
            MutualAidScheme(key="inpatient", name="住院", pays="按比例", documents=["发票"]),
            MutualAidScheme(key="old", name="旧项目", pays="一次性", documents=["证明"], year=2025),
        ]
    )
    assert [s.key for s in policy.of_year(2025)] == ["inpatient", "old"]
    assert [s.key for s in policy.of_year(2026)] == ["inpatient"]


@pytest.mark.parametrize(
    "scheme",
    [
        {"key": "Bad Key", "name": "x", "pays": "x", "documents": ["x"]},
        {"key": "ok", "name": "x", "pays": "x", "documents": []},
        {"key": "ok", "name": "x", "pays": "x", "documents": ["x"], "covers": "men"},
        {"key": "ok", "name": "x", "pays": "x", "documents": ["x"], "year": 1999},
    ],
)
def test_bad_schemes_refused(scheme: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MutualAidPolicy.model_validate({"schemes": [scheme]})


def test_a_key_given_twice_is_refused() -> None:
    one = {"key": "a1", "name": "x", "pays": "x", "documents": ["x"]}
    with pytest.raises(ValidationError, match="given twice"):
        MutualAidPolicy.model_validate({"schemes": [one, {**one, "name": "y"}]})
