"""Forgiving input (bot/rules/forgiving.py): days, clocks, full-width forms, feature words."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.rules import events as event_rules
from bot.rules.care import parse_date
from bot.rules.forgiving import Lean, feature_named, normalise, parse_clock, parse_day
from bot.rules.identity import normalize_phone, normalize_police_id

TODAY = date(2026, 6, 15)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("１００００２", "100002"),
        ("ＡＢ１２", "AB12"),
        ("２０：３０", "20:30"),
        ("2026／12／5", "2026/12/5"),
        ("\u3000 12-5 \u3000", "12-5"),
        ("晚上８点", "晚上8点"),
        ("王建国", "王建国"),
    ],
)
def test_normalise(typed: str, plain: str) -> None:
    assert normalise(typed) == plain


@pytest.mark.parametrize(
    ("typed", "lean", "expected"),
    [
        ("2026-12-05", Lean.PAST, date(2026, 12, 5)),
        ("2026/12/5", Lean.PAST, date(2026, 12, 5)),
        ("2026.12.5", Lean.PAST, date(2026, 12, 5)),
        ("20261205", Lean.PAST, date(2026, 12, 5)),
        ("2026年12月5日", Lean.PAST, date(2026, 12, 5)),
        ("２０２６－１２－０５", Lean.PAST, date(2026, 12, 5)),
        ("今天", Lean.PAST, TODAY),
        ("昨天", Lean.PAST, date(2026, 6, 14)),
        ("前天", Lean.PAST, date(2026, 6, 13)),
        ("明天", Lean.PAST, date(2026, 6, 16)),
        ("后天", Lean.FUTURE, date(2026, 6, 17)),
        # A year-less date in the past: this year's unless that is still ahead.
        ("6月10日", Lean.PAST, date(2026, 6, 10)),
        ("6-15", Lean.PAST, TODAY),
        ("12-5", Lean.PAST, date(2025, 12, 5)),
        ("12月5号", Lean.PAST, date(2025, 12, 5)),
        ("12/5", Lean.PAST, date(2025, 12, 5)),
        # In the future: this year's unless it has passed.
        ("12-5", Lean.FUTURE, date(2026, 12, 5)),
        ("3月1日", Lean.FUTURE, date(2027, 3, 1)),
        ("6月15日", Lean.FUTURE, TODAY),
        # The nearest: a wedding two weeks ahead or a month ago.
        ("7月1日", Lean.NEAREST, date(2026, 7, 1)),
        ("5月15日", Lean.NEAREST, date(2026, 5, 15)),
        ("1月2日", Lean.NEAREST, date(2026, 1, 2)),
        ("12月30日", Lean.NEAREST, date(2025, 12, 30)),
        # No such day, or no date at all.
        ("2026-02-30", Lean.PAST, None),
        ("13-1", Lean.PAST, None),
        ("2月30日", Lean.PAST, None),
        ("明天吧", Lean.PAST, None),
        ("下周六", Lean.FUTURE, None),
        ("99999999999-01-01", Lean.PAST, None),
        ("", Lean.PAST, None),
    ],
)
def test_parse_day(typed: str, lean: Lean, expected: date | None) -> None:
    assert parse_day(typed, TODAY, lean=lean) == expected


def test_a_leap_day_without_a_year_is_the_last_one() -> None:
    assert parse_day("2月29日", date(2025, 3, 1)) == date(2024, 2, 29)
    assert parse_day("2月29日", date(2025, 3, 1), lean=Lean.FUTURE) is None


@pytest.mark.parametrize("typed", ["今天", "昨天", "12-5", "12月5日"])
def test_without_today_only_dates_with_a_year_are_read(typed: str) -> None:
    assert parse_day(typed) is None
    assert parse_date(typed) is None  # /cases filters read periods, never relative words
    assert parse_date("2026年12月5日") == date(2026, 12, 5)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("20:30", time(20, 30)),
        ("8:30", time(8, 30)),
        ("８：３０", time(8, 30)),
        ("8点", time(8, 0)),
        ("8点半", time(8, 30)),
        ("8点15分", time(8, 15)),
        ("8点整", time(8, 0)),
        ("晚上8点", time(20, 0)),
        ("晚上8点半", time(20, 30)),
        ("晚上20:30", time(20, 30)),
        ("下午3点", time(15, 0)),
        ("下午 3 点", time(15, 0)),
        ("上午9点", time(9, 0)),
        ("早上7:30", time(7, 30)),
        ("中午12点", time(12, 0)),
        ("中午1点", time(13, 0)),
        ("凌晨12点", time(0, 0)),
        ("凌晨2点", time(2, 0)),
        ("0:00", time(0, 0)),
        ("24:00", None),
        ("8:60", None),
        ("25点", None),
        ("上午15点", None),
        ("晚上12点", None),
        ("八点", None),
        ("8", None),
        ("", None),
    ],
)
def test_parse_clock(typed: str, expected: time | None) -> None:
    assert parse_clock(typed) == expected


@pytest.mark.parametrize(
    ("typed", "after", "expected"),
    [
        ("9点", time(19, 0), time(21, 0)),  # 晚上7点-9点
        ("5点半", time(14, 0), time(17, 30)),
        ("9:00", time(19, 0), time(9, 0)),  # typed with a colon: as written
        ("11点", time(9, 0), time(11, 0)),  # a morning start: as said
        ("上午9点", time(19, 0), time(9, 0)),  # a part of the day said: as said
    ],
)
def test_the_end_of_an_evening_range_follows_its_start(
    typed: str, after: time, expected: time
) -> None:
    assert parse_clock(typed, after=after) == expected


NOW = datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI)


def _at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("12月20日 下午2点-5点", _at(12, 20, 14), _at(12, 20, 17)),
        ("明天 9点-11点半", _at(6, 16, 9), _at(6, 16, 11, 30)),
        ("明天 晚上7点-9点", _at(6, 16, 19), _at(6, 16, 21)),
        ("2026/12/20 １４：００－１７：００", _at(12, 20, 14), _at(12, 20, 17)),
        ("3-1 9:00 至 3-2 12:00", _at(3, 1, 9, year=2027), _at(3, 2, 12, year=2027)),
    ],
)
def test_event_times_are_forgiving(typed: str, start: datetime, end: datetime) -> None:
    assert event_rules.parse_when(typed, SHANGHAI, NOW) == (start, end)


def test_event_deadlines_are_forgiving() -> None:
    start = _at(6, 20, 14)
    assert event_rules.parse_deadline("明天 晚上6点", SHANGHAI, start=start, now=NOW) == _at(
        6, 16, 18
    )
    assert event_rules.parse_deadline("6月19日 18：00", SHANGHAI, start=start, now=NOW) == _at(
        6, 19, 18
    )


def test_full_width_police_ids_and_phones_read_as_plain() -> None:
    assert normalize_police_id("１００００２") == "100002"
    assert normalize_police_id("ａｂ１２３") == "AB123"
    assert normalize_phone("１３８００１３８０００") == "+8613800138000"


@pytest.mark.parametrize(
    ("typed", "feature"),
    [
        ("献血", "drives"),
        ("我的献血", "blood"),
        ("活动", "events"),
        ("俱乐部", "clubs"),
        ("预约", "book"),
        ("体检", "book"),
        ("我要体检", "book"),
        ("心理咨询？", "book"),
        ("健康屋", "book"),
        ("住院", "report"),
        ("慰问", "report"),
        ("手机号", "me"),
        ("菜单", "menu"),
        ("ＨＥＬＰ", None),
        ("好的", None),
        ("我想献血做个登记可以吗", None),
        ("", None),
    ],
)
def test_feature_named(typed: str, feature: str | None) -> None:
    assert feature_named(typed) == feature
