"""Event rules as tables: audiences, places with gender caps, and typed values refused or taken."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rules.events import (
    EventInputError,
    Problem,
    Viewer,
    capacity_holds,
    check_text,
    has_place,
    in_quiet_hours,
    may_join,
    notice_is_urgent,
    parse_capacity,
    parse_deadline,
    parse_when,
    reminder_due,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai

SINGLE_WOMAN = Viewer(unit="天元分局", gender="F", single=True, clubs=frozenset({"瑜伽"}))
MARRIED_MAN = Viewer(unit="交警支队", gender="M", single=False, clubs=frozenset({"足球"}))
NO_GENDER = Viewer(unit="天元分局", gender=None, single=True, clubs=frozenset())


@pytest.mark.parametrize(
    ("kind", "audience", "value", "viewer", "expected"),
    [
        ("class", "everyone", "", MARRIED_MAN, True),
        ("class", "unit", "交警支队", MARRIED_MAN, True),
        ("class", "unit", "交警支队", SINGLE_WOMAN, False),
        ("club_activity", "club", "足球", MARRIED_MAN, True),
        ("club_activity", "club", "足球", SINGLE_WOMAN, False),
        ("outing", "women", "", SINGLE_WOMAN, True),
        ("outing", "women", "", MARRIED_MAN, False),
        ("outing", "women", "", NO_GENDER, False),
        ("competition", "men", "", MARRIED_MAN, True),
        ("competition", "men", "", SINGLE_WOMAN, False),
        ("class", "singles", "", SINGLE_WOMAN, True),
        ("class", "singles", "", MARRIED_MAN, False),
        # Matchmaking needs the opt-in as single whatever the audience says.
        ("matchmaking", "singles", "", SINGLE_WOMAN, True),
        ("matchmaking", "singles", "", MARRIED_MAN, False),
        ("matchmaking", "everyone", "", MARRIED_MAN, False),
        ("class", "nonsense", "", SINGLE_WOMAN, False),
    ],
)
def test_who_may_join(kind: str, audience: str, value: str, viewer: Viewer, expected: bool) -> None:
    assert may_join(kind, audience, value, viewer) is expected


@pytest.mark.parametrize(
    ("capacity", "male_cap", "female_cap", "signed", "male", "female", "gender", "expected"),
    [
        (10, None, None, 9, 5, 4, "M", True),
        (10, None, None, 10, 5, 5, "F", False),
        (10, None, None, 3, 0, 0, None, True),
        (10, 5, 5, 5, 5, 0, "M", False),  # men's cap full
        (10, 5, 5, 5, 5, 0, "F", True),  # women still have places
        (10, 5, None, 9, 5, 4, "F", True),  # only men are capped
        (10, 6, 6, 10, 4, 6, "M", False),  # the total is full before the men's cap
        (2, 5, 5, 1, 1, 0, "M", True),
    ],
)
def test_places_with_gender_caps(
    capacity: int,
    male_cap: int | None,
    female_cap: int | None,
    signed: int,
    male: int,
    female: int,
    gender: str | None,
    expected: bool,
) -> None:
    assert (
        has_place(
            capacity=capacity,
            male_cap=male_cap,
            female_cap=female_cap,
            signed=signed,
            signed_male=male,
            signed_female=female,
            gender=gender,
        )
        is expected
    )


def _shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-12-20 14:00-17:00", _shanghai(2026, 12, 20, 14), _shanghai(2026, 12, 20, 17)),
        ("2026-12-20 14:00～17:30", _shanghai(2026, 12, 20, 14), _shanghai(2026, 12, 20, 17, 30)),
        ("2026/12/20 9:00 至 12:00", _shanghai(2026, 12, 20, 9), _shanghai(2026, 12, 20, 12)),
        ("2026年12月20日 14：00-17：00", _shanghai(2026, 12, 20, 14), _shanghai(2026, 12, 20, 17)),
        (
            "2026-12-20 09:00 至 2026-12-21 12:00",
            _shanghai(2026, 12, 20, 9),
            _shanghai(2026, 12, 21, 12),
        ),
    ],
)
def test_times_are_read_in_the_unions_zone(text: str, start: datetime, end: datetime) -> None:
    assert parse_when(text, SHANGHAI, NOW) == (start, end)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("下周六", Problem.BAD_WHEN),
        ("2026-12-20", Problem.BAD_WHEN),
        ("2026-02-30 14:00-17:00", Problem.BAD_WHEN),
        ("2026-12-20 25:00-26:00", Problem.BAD_WHEN),
        ("2026-11-28 14:00-17:00", Problem.IN_THE_PAST),
        ("2026-11-29 11:00-13:00", Problem.IN_THE_PAST),  # started an hour ago in Shanghai
        ("2026-12-20 17:00-14:00", Problem.END_BEFORE_START),
        ("2026-12-20 14:00-14:00", Problem.END_BEFORE_START),
        ("2026-12-21 09:00 至 2026-12-20 12:00", Problem.END_BEFORE_START),
    ],
)
def test_bad_times_are_refused(text: str, problem: Problem) -> None:
    with pytest.raises(EventInputError) as refused:
        parse_when(text, SHANGHAI, NOW)
    assert refused.value.problem is problem


START = _shanghai(2026, 12, 20, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-19 18:00", _shanghai(2026, 12, 19, 18)),
        ("2026-12-20 14:00", START),  # at the start is allowed
        ("2026-12-20 14:01", Problem.DEADLINE_AFTER_START),
        ("2026-11-28 18:00", Problem.IN_THE_PAST),
        ("明天", Problem.BAD_MOMENT),
        ("2026-13-01 10:00", Problem.BAD_MOMENT),
    ],
)
def test_deadlines(text: str, expected: datetime | Problem) -> None:
    if isinstance(expected, Problem):
        with pytest.raises(EventInputError) as refused:
            parse_deadline(text, SHANGHAI, start=START, now=NOW)
        assert refused.value.problem is expected
    else:
        assert parse_deadline(text, SHANGHAI, start=START, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "with_caps", "expected"),
    [
        ("40", False, (40, None, None)),
        (" 1 ", False, (1, None, None)),
        ("10000", False, (10000, None, None)),
        ("40 男20 女20", True, (40, 20, 20)),
        ("40 男 25 女 15", True, (40, 25, 15)),
        ("40，男20，女20", True, (40, 20, 20)),
        ("40", True, (40, None, None)),
        ("0", False, Problem.CAPACITY_RANGE),
        ("10001", False, Problem.CAPACITY_RANGE),
        ("四十", False, Problem.BAD_CAPACITY),
        ("-5", False, Problem.BAD_CAPACITY),
        ("40 男20 女20", False, Problem.BAD_CAPACITY),  # caps are for matchmaking only
        ("40 男50 女20", True, Problem.CAPS_OVER_CAPACITY),
    ],
)
def test_capacities(
    text: str, with_caps: bool, expected: tuple[int, int | None, int | None] | Problem
) -> None:
    if isinstance(expected, Problem):
        with pytest.raises(EventInputError) as refused:
            parse_capacity(text, with_caps=with_caps)
        assert refused.value.problem is expected
    else:
        assert parse_capacity(text, with_caps=with_caps) == expected


def test_titles_are_trimmed_and_limited() -> None:
    assert check_text("  篮球友谊赛 ", 100, Problem.TITLE_TOO_LONG) == "篮球友谊赛"
    assert check_text("字" * 100, 100, Problem.TITLE_TOO_LONG) == "字" * 100
    with pytest.raises(EventInputError) as refused:
        check_text("字" * 101, 100, Problem.TITLE_TOO_LONG)
    assert refused.value.problem is Problem.TITLE_TOO_LONG
    with pytest.raises(EventInputError) as empty:
        check_text("   ", 100, Problem.TITLE_TOO_LONG)
    assert empty.value.problem is Problem.EMPTY


@pytest.mark.parametrize(
    ("capacity", "male_cap", "female_cap", "signed", "male", "female", "expected"),
    [
        (10, None, None, 10, 5, 5, True),
        (9, None, None, 10, 5, 5, False),
        (10, 5, 5, 10, 5, 5, True),
        (10, 4, None, 10, 5, 5, False),
        (10, None, 4, 10, 5, 5, False),
        (1, None, None, 0, 0, 0, True),
    ],
)
def test_new_limits_must_keep_everyone_signed_up(
    capacity: int,
    male_cap: int | None,
    female_cap: int | None,
    signed: int,
    male: int,
    female: int,
    expected: bool,
) -> None:
    assert (
        capacity_holds(
            capacity=capacity,
            male_cap=male_cap,
            female_cap=female_cap,
            signed=signed,
            signed_male=male,
            signed_female=female,
        )
        is expected
    )


QUIET = (time(21), time(8))


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Outside the quiet hours the mark stands.
        (_shanghai(2026, 12, 20, 14), 2, _shanghai(2026, 12, 20, 12)),
        (_shanghai(2026, 12, 20, 14), 24, _shanghai(2026, 12, 19, 14)),
        # 05:00 and 23:30 are quiet: due half an hour before the quiet hours began.
        (_shanghai(2026, 12, 20, 7), 2, _shanghai(2026, 12, 19, 20, 30)),
        (_shanghai(2026, 12, 21, 1, 30), 2, _shanghai(2026, 12, 20, 20, 30)),
        (_shanghai(2026, 12, 20, 22, 30), 24, _shanghai(2026, 12, 19, 20, 30)),
        # 08:00 is no longer quiet; 21:00 already is.
        (_shanghai(2026, 12, 20, 10), 2, _shanghai(2026, 12, 20, 8)),
        (_shanghai(2026, 12, 20, 23), 2, _shanghai(2026, 12, 20, 20, 30)),
    ],
)
def test_reminders_due_in_quiet_hours_move_to_the_evening(
    start: datetime, hours: int, due: datetime
) -> None:
    assert reminder_due(start, timedelta(hours=hours), QUIET, SHANGHAI) == due
    assert reminder_due(start, timedelta(hours=hours), None, SHANGHAI) == start - timedelta(
        hours=hours
    )


def test_quiet_hours_and_urgent_notices() -> None:
    assert in_quiet_hours(_shanghai(2026, 12, 20, 23), QUIET, SHANGHAI)
    assert in_quiet_hours(_shanghai(2026, 12, 20, 7, 59), QUIET, SHANGHAI)
    assert not in_quiet_hours(_shanghai(2026, 12, 20, 8), QUIET, SHANGHAI)
    assert not in_quiet_hours(_shanghai(2026, 12, 20, 20, 59), QUIET, SHANGHAI)
    assert in_quiet_hours(_shanghai(2026, 12, 20, 13), (time(12), time(14)), SHANGHAI)
    now = _shanghai(2026, 12, 20, 22)
    assert notice_is_urgent(_shanghai(2026, 12, 21, 7), now)
    assert not notice_is_urgent(_shanghai(2026, 12, 21, 11), now)


def test_caps_that_leave_places_nobody_may_take_are_refused() -> None:
    with pytest.raises(EventInputError) as refused:
        parse_capacity("40 男10 女10", with_caps=True)
    assert refused.value.problem is Problem.CAPS_BELOW_CAPACITY


def test_equal_quiet_hours_mean_none() -> None:
    for hour in (0, 8, 12, 21, 23):
        assert not in_quiet_hours(_shanghai(2026, 12, 20, hour), (time(21), time(21)), SHANGHAI)
