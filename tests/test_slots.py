"""Bookable services as tables: the policy's services, their days and slots, the horizon, the
cancellation deadline, the limits per officer and the no-show rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot import texts
from bot.policy import ServiceKind, ServicePolicy, default_policy_text, load_policy
from bot.rules.slots import (
    Problem,
    Slot,
    blocked,
    bookable_days,
    bookable_slots,
    cancel_deadline,
    is_open,
    last_bookable_day,
    limit_problem,
    may_cancel,
    no_show_block,
    opening_hours,
    slots_of_day,
    week_of,
)
from bot.rules.workdays import WorkCalendar
from bot.settings import SettingsError

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkCalendar.with_policy()
POLICY = load_policy(None)


def _service(key: str) -> ServicePolicy:
    service = POLICY.service(key)
    assert service is not None
    return service


HEALTH = _service("health-room")
COUNSELLING = _service("counselling")
GYM = _service("gym")
SWIMMING = _service("swimming")


def _local(text: str) -> datetime:
    """A Shanghai wall time as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def _service_with(**changes: Any) -> ServicePolicy:
    base: dict[str, Any] = {
        "key": "test-room",
        "name": "测试室",
        "kind": "health_room",
        "place": "某处",
        "hours": {"mon": ["08:30-12:00"]},
        "slot_minutes": 60,
        "places_per_slot": 1,
    }
    return ServicePolicy.model_validate({**base, **changes})


# --- The shipped services ----------------------------------------------------------------------


def test_the_shipped_services() -> None:
    assert [(s.key, s.name, s.kind) for s in POLICY.services] == [
        ("health-room", "健康屋", ServiceKind.HEALTH_ROOM),
        ("counselling", "心理咨询", ServiceKind.COUNSELLING),
        ("gym", "健身房", ServiceKind.FACILITY),
        ("table-tennis", "乒乓球室", ServiceKind.FACILITY),
        ("swimming", "游泳", ServiceKind.FACILITY),
    ]
    assert HEALTH.follows_workdays and COUNSELLING.follows_workdays
    assert not GYM.follows_workdays and not SWIMMING.follows_workdays
    assert HEALTH.staff_title == "值班医生" and COUNSELLING.staff_title == "心理咨询师"
    assert "骨密度测试仪" in HEALTH.equipment and len(HEALTH.equipment) == 7
    assert all(s.horizon_days == 14 for s in POLICY.services)
    assert HEALTH.limits.open_bookings == 1 and GYM.limits.per_week == 3
    assert HEALTH.no_show is not None
    assert (HEALTH.no_show.count, HEALTH.no_show.within_days, HEALTH.no_show.blocked_days) == (
        3,
        90,
        30,
    )
    assert {kind.value for kind in ServiceKind} == set(texts.SERVICE_KINDS)
    assert {problem.value for problem in Problem} == set(texts.BOOKING_PROBLEMS)


@pytest.mark.parametrize(
    ("kind", "follows"),
    [("health_room", True), ("counselling", True), ("facility", False)],
)
def test_following_the_working_days_defaults_by_kind(kind: str, follows: bool) -> None:
    assert _service_with(kind=kind).follows_workdays is follows
    assert _service_with(kind=kind, follows_workdays=not follows).follows_workdays is not follows


# --- Which days a service opens ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "day", "expected"),
    [
        (HEALTH, "2026-03-02", ["08:30-12:00", "14:30-17:30"]),  # an ordinary Monday
        (HEALTH, "2026-02-14", ["08:30-12:00", "14:30-17:30"]),  # make-up Saturday: Monday's
        (HEALTH, "2026-01-04", ["08:30-12:00", "14:30-17:30"]),  # make-up Sunday
        (HEALTH, "2026-10-05", []),  # Monday inside 国庆节
        (HEALTH, "2026-02-16", []),  # Monday of 春节
        (HEALTH, "2026-03-07", []),  # an ordinary Saturday
        (HEALTH, "2027-01-01", ["08:30-12:00", "14:30-17:30"]),  # no arrangement: a Friday
        (COUNSELLING, "2026-10-10", ["09:00-12:00", "14:30-17:30"]),
        (GYM, "2026-10-05", ["12:00-14:00", "18:00-21:00"]),  # facilities ignore holidays
        (GYM, "2026-02-14", ["09:00-12:00", "14:00-21:00"]),  # and keep Saturday's hours
        (GYM, "2026-03-07", ["09:00-12:00", "14:00-21:00"]),
        (SWIMMING, "2026-03-02", []),  # no hours on Mondays
        (SWIMMING, "2026-03-03", ["18:30-21:30"]),
    ],
)
def test_opening_hours(service: ServicePolicy, day: str, expected: list[str]) -> None:
    hours = opening_hours(service, CALENDAR, date.fromisoformat(day))
    assert [f"{start:%H:%M}-{end:%H:%M}" for start, end in hours] == expected
    assert is_open(service, CALENDAR, date.fromisoformat(day)) is bool(expected)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-02-14", ["09:00-11:00"]),  # a make-up Saturday keeps its own hours
        ("2026-03-07", []),  # an ordinary Saturday is no working day
        ("2026-01-04", ["08:30-12:00"]),  # a make-up Sunday without hours: Monday's
    ],
)
def test_a_working_weekend_day_with_hours_of_its_own(day: str, expected: list[str]) -> None:
    service = _service_with(hours={"mon": ["08:30-12:00"], "sat": ["09:00-11:00"]})
    hours = opening_hours(service, CALENDAR, date.fromisoformat(day))
    assert [f"{start:%H:%M}-{end:%H:%M}" for start, end in hours] == expected


# --- Slots ------------------------------------------------------------------------------------


def test_the_slots_of_a_day_in_utc() -> None:
    slots = slots_of_day(HEALTH, CALENDAR, date(2026, 3, 2), SHANGHAI)
    local = [f"{slot.start.astimezone(SHANGHAI):%H:%M}" for slot in slots]
    assert local == [
        *["08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
        *["14:30", "15:00", "15:30", "16:00", "16:30", "17:00"],
    ]
    assert slots[0] == Slot(
        datetime(2026, 3, 2, 0, 30, tzinfo=UTC), datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    )
    assert slots[-1].end == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert all(slot.start.utcoffset() == timedelta(0) for slot in slots)
    assert all(slot.local_day(SHANGHAI) == date(2026, 3, 2) for slot in slots)


@pytest.mark.parametrize(
    ("hours", "minutes", "starts"),
    [
        (["08:30-12:00"], 60, ["08:30", "09:30", "10:30"]),  # 11:30-12:30 does not fit
        (["08:30-12:00"], 30, ["08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]),
        (["08:30-12:00"], 90, ["08:30", "10:00"]),
        (["08:30-12:00"], 210, ["08:30"]),
        (["14:00-15:00", "08:00-09:00"], 60, ["08:00", "14:00"]),  # windows in order
    ],
)
def test_hours_are_cut_into_slots(hours: list[str], minutes: int, starts: list[str]) -> None:
    service = _service_with(hours={"mon": hours}, slot_minutes=minutes)
    slots = slots_of_day(service, CALENDAR, date(2026, 3, 2), SHANGHAI)
    assert [f"{slot.start.astimezone(SHANGHAI):%H:%M}" for slot in slots] == starts
    assert all(slot.end - slot.start == timedelta(minutes=minutes) for slot in slots)


def test_a_closed_day_has_no_slots() -> None:
    assert slots_of_day(HEALTH, CALENDAR, date(2026, 10, 5), SHANGHAI) == []


# --- What may be booked now -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "first", "count"),
    [
        ("2026-03-02 07:00", "08:30", 13),
        ("2026-03-02 10:05", "10:30", 9),
        ("2026-03-02 10:00", "10:30", 9),  # a slot starting now is past
        ("2026-03-02 16:59", "17:00", 1),
        ("2026-03-02 17:00", None, 0),
        ("2026-03-01 23:59", "08:30", 13),
    ],
)
def test_past_slots_are_not_bookable(now: str, first: str | None, count: int) -> None:
    slots = bookable_slots(HEALTH, CALENDAR, date(2026, 3, 2), _local(now), SHANGHAI)
    assert len(slots) == count
    assert (f"{slots[0].start.astimezone(SHANGHAI):%H:%M}" if slots else None) == first


@pytest.mark.parametrize(
    ("day", "bookable"),
    [
        ("2026-03-01", False),  # yesterday
        ("2026-03-02", True),  # today
        ("2026-03-16", True),  # today + 14 (a Monday)
        ("2026-03-17", False),  # today + 15
    ],
)
def test_the_horizon(day: str, bookable: bool) -> None:
    now = _local("2026-03-02 07:00")
    assert last_bookable_day(HEALTH, now, SHANGHAI) == date(2026, 3, 16)
    assert bool(bookable_slots(HEALTH, CALENDAR, date.fromisoformat(day), now, SHANGHAI)) is (
        bookable
    )


def test_the_bookable_days_around_a_holiday() -> None:
    # Monday 28 September 2026, 10:00: 国庆节 from 1 to 7 October, 10 October works.
    days = bookable_days(HEALTH, CALENDAR, _local("2026-09-28 10:00"), SHANGHAI)
    assert [f"{day:%m-%d}" for day in days] == [
        "09-28",
        "09-29",
        "09-30",
        "10-08",
        "10-09",
        "10-10",
        "10-12",
    ]
    # The gym opens every day of the fortnight.
    assert len(bookable_days(GYM, CALENDAR, _local("2026-09-28 10:00"), SHANGHAI)) == 15


@pytest.mark.parametrize(
    ("now", "first"),
    [
        ("2026-03-02 17:10", "2026-03-03"),  # today's slots are over
        ("2026-03-06 18:00", "2026-03-09"),  # Friday evening: next Monday
        ("2026-02-13 18:00", "2026-02-14"),  # the make-up Saturday
        ("2026-02-14 18:00", "2026-02-24"),  # then 春节
    ],
)
def test_the_first_bookable_day(now: str, first: str) -> None:
    days = bookable_days(HEALTH, CALENDAR, _local(now), SHANGHAI)
    assert days[0] == date.fromisoformat(first)


def test_a_horizon_of_zero_days_is_today_only() -> None:
    service = _service_with(horizon_days=0, kind="facility", hours={"mon": ["08:00-20:00"]})
    now = _local("2026-03-02 09:30")
    assert bookable_days(service, CALENDAR, now, SHANGHAI) == [date(2026, 3, 2)]
    assert bookable_days(service, CALENDAR, _local("2026-03-03 09:30"), SHANGHAI) == []


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        bookable_days(HEALTH, CALENDAR, naive, SHANGHAI)
    with pytest.raises(ValueError, match="naive"):
        bookable_slots(HEALTH, CALENDAR, date(2026, 3, 2), naive, SHANGHAI)
    with pytest.raises(ValueError, match="naive"):
        may_cancel(HEALTH, naive, datetime.now(UTC))
    with pytest.raises(ValueError, match="naive"):
        may_cancel(HEALTH, datetime.now(UTC), naive)


# --- Cancelling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "now", "allowed"),
    [
        (HEALTH, "2026-03-03 06:59", True),
        (HEALTH, "2026-03-03 07:00", False),  # the deadline itself: 120 minutes before
        (HEALTH, "2026-03-03 07:01", False),
        (HEALTH, "2026-03-03 09:30", False),  # after the start
        (COUNSELLING, "2026-03-02 08:59", True),
        (COUNSELLING, "2026-03-02 09:00", False),  # 24 hours before: too late
        (GYM, "2026-03-03 07:59", True),
        (GYM, "2026-03-03 08:00", False),
    ],
)
def test_the_cancellation_deadline(service: ServicePolicy, now: str, allowed: bool) -> None:
    start = _local("2026-03-03 09:00")
    assert may_cancel(service, start, _local(now)) is allowed
    assert cancel_deadline(service, start) == start - timedelta(
        minutes=service.cancel_before_minutes
    )


# --- Limits per officer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "open_count", "this_week", "is_blocked", "problem"),
    [
        (HEALTH, 0, 0, False, None),
        (HEALTH, 1, 0, False, Problem.TOO_MANY_OPEN),  # one open health-room booking at most
        (HEALTH, 0, 5, False, None),  # no weekly limit
        (HEALTH, 0, 0, True, Problem.BLOCKED),
        (GYM, 0, 2, False, None),
        (GYM, 2, 2, False, None),  # no limit on open bookings
        (GYM, 0, 3, False, Problem.WEEK_FULL),  # facilities at most 3 a week
        (GYM, 5, 3, True, Problem.BLOCKED),  # the block is said first
    ],
)
def test_limits(
    service: ServicePolicy,
    open_count: int,
    this_week: int,
    is_blocked: bool,
    problem: Problem | None,
) -> None:
    assert limit_problem(service, open_count, this_week, is_blocked=is_blocked) is problem


@pytest.mark.parametrize(
    ("day", "monday", "sunday"),
    [
        ("2026-03-04", "2026-03-02", "2026-03-08"),
        ("2026-03-02", "2026-03-02", "2026-03-08"),
        ("2026-03-08", "2026-03-02", "2026-03-08"),
        ("2026-12-31", "2026-12-28", "2027-01-03"),
    ],
)
def test_the_week_of_a_day(day: str, monday: str, sunday: str) -> None:
    assert week_of(date.fromisoformat(day)) == (
        date.fromisoformat(monday),
        date.fromisoformat(sunday),
    )


D = date(2026, 1, 5)


@pytest.mark.parametrize(
    ("missed", "until"),
    [
        ([], None),
        ([0, 10], None),
        ([0, 10, 20], 20 + 29),  # the third within 90 days blocks for 30 days from that day
        ([20, 0, 10], 20 + 29),  # in any order
        ([0, 45, 89], 89 + 29),  # the first and the last 89 days apart: within 90 days
        ([0, 45, 90], None),  # 90 days apart: the first no longer counts
        ([0, 45, 90, 100], 100 + 29),
        ([0, 10, 20, 30], 20 + 29),  # the misses of a block are used up
        ([0, 10, 20, 30, 40, 50], 50 + 29),
    ],
)
def test_the_no_show_rule(missed: list[int], until: int | None) -> None:
    days = [D + timedelta(days=n) for n in missed]
    expected = None if until is None else D + timedelta(days=until)
    assert no_show_block(HEALTH.no_show, days) == expected


@pytest.mark.parametrize(
    ("today", "is_blocked"), [(19, False), (20, True), (49, True), (50, False)]
)
def test_blocked_from_the_third_miss_for_30_days(today: int, is_blocked: bool) -> None:
    missed = [D, D + timedelta(days=10), D + timedelta(days=20)]
    assert (
        blocked(
            HEALTH,
            [day for day in missed if day <= D + timedelta(days=today)],
            D + timedelta(days=today),
        )
        is is_blocked
    )


def test_no_rule_no_block() -> None:
    service = _service_with(no_show=None)
    assert no_show_block(service.no_show, [D, D, D, D]) is None
    assert blocked(service, [D, D, D], D) is False


# --- Validation of the policy's services ------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hours": {"mon": ["25:00-26:00"]}}, "does not exist"),
        ({"hours": {"mon": ["0830-1200"]}}, "not an opening window"),
        ({"hours": {"mon": ["12:00-08:30"]}}, "ends before it starts"),
        ({"hours": {"mon": ["08:30-08:30"]}}, "ends before it starts"),
        ({"hours": {"mon": ["08:30-09:00"]}}, "shorter than one slot"),
        ({"hours": {"mon": ["08:00-10:00", "09:00-11:00"]}}, "overlapping hours"),
        ({"hours": {"monday": ["08:00-10:00"]}}, "hours.monday"),
        ({"hours": {"mon": []}}, "opens on no day"),
        ({"hours": {}}, "opens on no day"),
        ({"key": "健康屋"}, "key"),
        ({"key": "Health"}, "key"),
        ({"key": "h"}, "key"),
        ({"kind": "spa"}, "kind"),
        ({"name": ""}, "name"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"slot_minutes": 481}, "slot_minutes"),
        ({"places_per_slot": 0}, "places_per_slot"),
        ({"horizon_days": -1}, "horizon_days"),
        ({"cancel_before_minutes": -5}, "cancel_before_minutes"),
        ({"limits": {"per_week": 0}}, "per_week"),
        ({"no_show": {"count": 0}}, "count"),
        ({"makeup_days_like": "monday"}, "makeup_days_like"),
    ],
)
def test_bad_services_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _service_with(**changes)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('key = "gym"\nname = "另一个健身房"', "service key gym is given twice"),
        ('key = "gym-2"\nname = "健身房"', "service name 健身房 is given twice"),
    ],
)
def test_repeated_services_stop_in_one_sentence(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        default_policy_text()
        + f'\n[[services]]\n{extra}\nkind = "facility"\nplace = "某处"\nslot_minutes = 60\n'
        + 'places_per_slot = 1\n[services.hours]\nsat = ["09:00-12:00"]\n',
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as caught:
        load_policy(path)
    assert str(caught.value) == (
        f"NUANJING_POLICY_FILE has a bad value at services: {message} ({path})."
    )


def test_a_bad_window_in_the_policy_file_says_where(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    text = default_policy_text().replace('tue = ["08:30-12:00"', 'tue = ["08:30-12:70"', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=r"at services\.0: '08:30-12:70' holds a time"):
        load_policy(path)


def test_opening_windows_parse_loosely() -> None:
    service = _service_with(hours={"mon": [" 8:30 - 12:00 "]})
    assert service.windows("mon") == [(time(8, 30), time(12, 0))]
