"""Official working days (调休) as tables: the shipped notices, the policy's years, the fallback,
which years organizers must be told of, and the once-a-year notice on the send ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import col, select

from bot import texts
from bot.jobs.workdays import NOTICE_OCCASION, queue_notices
from bot.policy import WorkdaysPolicy, WorkYear, default_policy_text, load_policy
from bot.rules.workdays import (
    DayMark,
    WorkCalendar,
    missing_years,
    shipped_arrangements,
    years_to_check,
)
from bot.scheduler import clock_of, run_workdays_notice, workdays_job
from bot.settings import SettingsError
from storage import ledger
from storage.db import Database
from storage.models import Broadcast, BroadcastKind, Delivery, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHIPPED = WorkCalendar.with_policy()
OFF, WORK = DayMark.OFF, DayMark.WORK


def _days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


# --- Which days are working days ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "works"),
    [
        ("2026-02-14", True),  # Saturday, a make-up working day of 春节
        ("2026-02-28", True),  # Saturday, the other one
        ("2026-01-04", True),  # Sunday, the make-up working day of 元旦
        ("2026-10-05", False),  # Monday inside 国庆节
        ("2026-10-10", True),  # Saturday after 国庆节
        ("2026-01-03", False),  # Saturday inside 元旦: off anyway
        ("2026-02-16", False),  # Monday of 春节
        ("2026-06-19", False),  # Friday, 端午节
        ("2026-03-02", True),  # an ordinary Monday
        ("2026-03-07", False),  # an ordinary Saturday
        ("2026-03-08", False),  # an ordinary Sunday
        ("2025-01-01", False),  # 元旦 2025, one day
        ("2025-01-26", True),  # Sunday before 春节 2025
        ("2025-02-08", True),  # Saturday after it
        ("2025-04-27", True),  # Sunday before 劳动节
        ("2025-06-02", False),  # Monday, 端午节
        ("2025-10-08", False),  # Wednesday, the 8th day of 国庆节、中秋节
        ("2025-10-11", True),  # Saturday after it
        ("2025-10-09", True),  # the Thursday after
    ],
)
def test_official_working_days(day: str, works: bool) -> None:
    assert SHIPPED.is_workday(date.fromisoformat(day)) is works


@pytest.mark.parametrize("day", _days("2025-01-28", "2025-02-04"))
def test_spring_festival_2025_is_off_from_new_years_eve(day: date) -> None:
    assert SHIPPED.is_workday(day) is False


def test_the_exceptions_of_2026_are_the_notice() -> None:
    # 国务院办公厅 2025-11-04, read line by line: the weekdays off and the weekend working days.
    assert SHIPPED.exceptions(2026) == [
        (date(2026, 1, 1), OFF),
        (date(2026, 1, 2), OFF),  # 1/3 is a Saturday
        (date(2026, 1, 4), WORK),
        (date(2026, 2, 14), WORK),
        *[(day, OFF) for day in _days("2026-02-16", "2026-02-20")],  # 2/15 is a Sunday
        (date(2026, 2, 23), OFF),  # 2/21 and 2/22 are a weekend
        (date(2026, 2, 28), WORK),
        (date(2026, 4, 6), OFF),  # 4/4 and 4/5 are a weekend
        (date(2026, 5, 1), OFF),
        (date(2026, 5, 4), OFF),
        (date(2026, 5, 5), OFF),
        (date(2026, 5, 9), WORK),
        (date(2026, 6, 19), OFF),
        (date(2026, 9, 20), WORK),
        (date(2026, 9, 25), OFF),
        (date(2026, 10, 1), OFF),
        (date(2026, 10, 2), OFF),
        (date(2026, 10, 5), OFF),
        (date(2026, 10, 6), OFF),
        (date(2026, 10, 7), OFF),
        (date(2026, 10, 10), WORK),
    ]


def test_the_exceptions_of_2025() -> None:
    marks = SHIPPED.exceptions(2025)
    assert [day for day, mark in marks if mark is WORK] == [
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    ]
    assert len([mark for _day, mark in marks if mark is OFF]) == 18
    assert marks == sorted(marks)


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_shipped_years_name_their_source(year: int) -> None:
    arrangement = SHIPPED.arrangement(year)
    assert arrangement is not None
    assert f"国务院办公厅关于{year}年部分节假日安排的通知" in arrangement.source
    assert "新华社" in arrangement.source and "https://" in arrangement.source
    assert [item.year for item in shipped_arrangements()] == [2025, 2026]


@pytest.mark.parametrize(
    ("day", "works"),
    [
        ("2027-01-01", True),  # a Friday: nothing says it is off
        ("2027-01-02", False),
        ("2027-01-03", False),
        ("2024-10-01", True),  # before the shipped years too
        ("2024-10-05", False),
    ],
)
def test_a_year_without_arrangement_keeps_weekends_off(day: str, works: bool) -> None:
    parsed = date.fromisoformat(day)
    assert SHIPPED.has_arrangement(parsed.year) is False
    assert SHIPPED.is_workday(parsed) is works
    assert SHIPPED.exceptions(parsed.year) == []


# --- The policy's years ------------------------------------------------------------------------

YEAR_2027 = {
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
    "days_off": [date(2027, 1, 1), "2027-02-05..2027-02-08"],
    "working_days": ["2027-02-20"],
}


def test_a_policy_year_is_added() -> None:
    calendar = WorkCalendar.with_policy([WorkYear.model_validate(YEAR_2027)])
    assert calendar.years() == [2025, 2026, 2027]
    assert calendar.exceptions(2027) == [
        (date(2027, 1, 1), OFF),
        (date(2027, 2, 5), OFF),  # 2/6 and 2/7 are a weekend
        (date(2027, 2, 8), OFF),
        (date(2027, 2, 20), WORK),
    ]
    assert calendar.is_workday(date(2027, 2, 20)) is True
    assert calendar.is_workday(date(2027, 2, 6)) is False
    assert calendar.is_workday(date(2026, 2, 14)) is True  # the shipped years stay


def test_a_policy_year_replaces_the_shipped_one() -> None:
    corrected = WorkYear(year=2026, source="本会更正", days_off=[date(2026, 2, 16)])
    calendar = WorkCalendar.with_policy([corrected])
    assert calendar.exceptions(2026) == [(date(2026, 2, 16), OFF)]
    assert calendar.is_workday(date(2026, 2, 14)) is False  # no longer a make-up day
    assert calendar.is_workday(date(2026, 10, 5)) is True
    assert SHIPPED.is_workday(date(2026, 10, 5)) is False  # the shipped calendar is untouched


def test_the_policy_file_adds_a_year(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        default_policy_text()
        + '\n[[workdays.years]]\nyear = 2027\nsource = "测试"\n'
        + 'days_off = [2027-01-01, "2027-02-05..2027-02-08"]\nworking_days = ["2027-02-20"]\n',
        encoding="utf-8",
    )
    policy = load_policy(path)
    [year] = policy.workdays.years
    assert year.days_off == [date(2027, 1, 1), *_days("2027-02-05", "2027-02-08")]
    assert WorkCalendar.with_policy(policy.workdays.years).has_arrangement(2027)
    assert load_policy(None).workdays.years == []  # the shipped policy adds none


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"days_off": ["2026-12-31"]}, "2026-12-31 is not in 2027"),
        ({"working_days": ["2028-01-01"]}, "2028-01-01 is not in 2027"),
        ({"days_off": ["2027-02-20"]}, "2027-02-20 is both a day off"),
        ({"days_off": ["2027-02-19..2027-02-21"]}, "2027-02-20 is both a day off"),
        ({"working_days": ["2027-02-22"]}, "2027-02-22 is not a Saturday or Sunday"),
        ({"days_off": ["2027-02-08..2027-02-05"]}, "ends before it starts"),
        ({"days_off": ["2027-02-30..2027-03-02"]}, "not a range of two dates"),
        ({"days_off": ["2027-12-31..9999-12-31"]}, "not within one year"),
        ({"days_off": ["2027-02-30"]}, "days_off.0"),
        ({"days_off": ["tomorrow"]}, "days_off.0"),
        ({"year": 1949}, "greater than or equal to 1950"),
        ({"year": 2100}, "less than or equal to 2099"),
        ({"source": ""}, "at least 1 character"),
    ],
)
def test_bad_policy_years_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkYear.model_validate({**YEAR_2027, **change})


def test_a_year_given_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="year 2027 is given twice"):
        WorkdaysPolicy.model_validate({"years": [YEAR_2027, YEAR_2027]})


def test_a_bad_year_in_the_policy_file_stops_in_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        default_policy_text()
        + '\n[[workdays.years]]\nyear = 2027\nsource = "测试"\nworking_days = [2027-02-22]\n',
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as caught:
        load_policy(path)
    assert str(caught.value) == (
        "NUANJING_POLICY_FILE has a bad value at workdays.years.0: working day 2027-02-22 is "
        f"not a Saturday or Sunday (weekdays work anyway) ({path})."
    )


# --- Which years organizers must hear of ------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "checked", "missing"),
    [
        ("2026-01-01", [2026], []),
        ("2026-10-31", [2026], []),
        ("2026-11-01", [2026, 2027], [2027]),  # the next notice usually appears in November
        ("2026-12-02", [2026, 2027], [2027]),
        ("2025-11-15", [2025, 2026], []),
        ("2027-01-01", [2027], [2027]),
        ("2024-06-01", [2024], [2024]),
    ],
)
def test_missing_years(today: str, checked: list[int], missing: list[int]) -> None:
    day = date.fromisoformat(today)
    assert years_to_check(day) == checked
    assert missing_years(SHIPPED, day) == missing


# --- The notice to organizers, once per year --------------------------------------------------


def _deliveries(database: Database) -> list[tuple[str, int]]:
    with database.session() as session:
        rows = session.exec(
            select(Broadcast.text, Delivery.officer_id).join(
                Delivery, col(Delivery.broadcast_id) == col(Broadcast.id)
            )
        ).all()
    return sorted((text, officer_id) for text, officer_id in rows)


def test_organizers_are_told_once_a_year_of_a_missing_arrangement(database: Database) -> None:
    organizer = add_officer(
        database, "200001", "干部甲", "+8613900000001", bound_to=801, roles=[Role.ORGANIZER]
    )
    admin = add_officer(
        database, "200002", "管理员乙", "+8613900000002", bound_to=802, roles=[Role.ADMIN]
    )
    add_officer(database, "200003", "会员丙", "+8613900000003", bound_to=803)
    add_officer(database, "200004", "未绑定丁", "+8613900000004", roles=[Role.ORGANIZER])
    assert organizer.id is not None and admin.id is not None
    october = datetime(2026, 10, 30, 4, tzinfo=UTC)
    assert queue_notices(database, SHIPPED, october, zone=SHANGHAI) == 0  # 2026 is known
    # 1 November in Shanghai (still 31 October in UTC): 2027 is looked for, and missing.
    november = datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert queue_notices(database, SHIPPED, november, zone=SHANGHAI) == 1
    notice = texts.WORKDAYS_MISSING.format(year=2027)
    assert _deliveries(database) == [(notice, organizer.id), (notice, admin.id)]
    with database.session() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        told = ledger.claimed_count(session, NOTICE_OCCASION, date(2027, 1, 1))
    assert broadcast.kind == BroadcastKind.ANNOUNCEMENT and told == 2
    # The next days, and the new year itself, tell nobody again.
    for moment in (november + timedelta(days=1), datetime(2027, 1, 4, 4, tzinfo=UTC)):
        assert queue_notices(database, SHIPPED, moment, zone=SHANGHAI) == 0
    # An organizer granted later hears it once too.
    late = add_officer(
        database, "200005", "干部戊", "+8613900000005", bound_to=805, roles=[Role.ORGANIZER]
    )
    assert queue_notices(database, SHIPPED, datetime(2027, 1, 5, 4, tzinfo=UTC), zone=SHANGHAI)
    assert (notice, late.id) in _deliveries(database)
    assert len(_deliveries(database)) == 3


def test_nobody_is_told_once_the_policy_has_the_year(database: Database) -> None:
    add_officer(database, "200001", "干部甲", "+8613900000001", bound_to=801, roles=[Role.ADMIN])
    calendar = WorkCalendar.with_policy([WorkYear.model_validate(YEAR_2027)])
    december = datetime(2026, 12, 2, 4, tzinfo=UTC)
    assert queue_notices(database, calendar, december, zone=SHANGHAI) == 0
    assert _deliveries(database) == []


async def test_the_daily_job_tells_the_organizers_in_chat(bot: BotHarness) -> None:
    organizer, member = Person(801, "干部甲"), Person(803, "会员丙")
    await bot.meet(organizer, member)
    add_officer(
        bot.database, "200001", "干部甲", "+8613900000001", bound_to=801, roles=[Role.ORGANIZER]
    )
    add_officer(bot.database, "200003", "会员丙", "+8613900000003", bound_to=803)
    # The app runs it once a day from PTB's JobQueue; here it is called directly.
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("workdays-notice")
    assert job.callback is workdays_job
    clock_of(bot.application).freeze(datetime(2026, 12, 2, 4, tzinfo=UTC))  # noon in Shanghai
    assert await run_workdays_notice(bot.application) == 1
    await bot.dialog.play(
        [(organizer, None, [says("尚未收录 2027 年", "[[workdays.years]]")]), (member, None, [])]
    )
    assert await run_workdays_notice(bot.application) == 0
