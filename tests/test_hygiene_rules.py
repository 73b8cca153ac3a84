"""Input hygiene rules as tables: meaningful text, the cleaner, quoting, the two-year horizon,
and the numbers callback data may carry."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.rules import events as event_rules
from bot.rules.care import parse_date
from bot.rules.events import EventInputError, Problem
from bot.rules.greeting_text import EMPTY, validate_template
from bot.rules.horizon import beyond_horizon, horizon, moment_beyond_horizon
from bot.rules.text import clean, meaningful, quote
from handlers.callbacks import CaseAction, DriveAction, DriveRecord, EventMark, RequestDecision

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Text that shows nothing: blanks, zero-width characters, BOM, direction controls, fillers.
INVISIBLE = [
    "",
    " ",
    "\u3000\u00a0",
    "\n\t",
    "\u200b",  # zero-width space
    "\u200b\u200c\u200d",  # and the joiners
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u202e",  # right-to-left override
    "\u202d\u202c",  # left-to-right override, pop
    "\u202a\u202b",  # embeddings
    "\u2066\u2067\u2068\u2069",  # isolates
    "\u200e\u200f",  # direction marks
    "\u3164\uffa0",  # Hangul fillers (letters by category)
    "\u2800",  # blank Braille pattern (a symbol by category)
    "\u0301",  # a combining accent with nothing to sit on
    "\U000e0041",  # a tag character
    " \u200b\u202e\ufeff ",
]

VISIBLE = ["张", "A", "7", "。", "!", "😀", "\u200b市中心医院\u200b", "\u202e院医心中市"]


@pytest.mark.parametrize("text", INVISIBLE)
def test_invisible_only_text_is_not_meaningful(text: str) -> None:
    assert not meaningful(text)
    assert not meaningful(clean(text))


@pytest.mark.parametrize("text", VISIBLE)
def test_text_with_something_to_see_is_meaningful(text: str) -> None:
    assert meaningful(text)
    assert meaningful(clean(text))


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  市中心医院  ", "市中心医院"),
        ("\u200b\ufeff市中心医院\u200b", "市中心医院"),
        ("\u202e院医心中市", "院医心中市"),  # the override goes, the characters stay in order
        ("市\u202e中心\u202c医院", "市中心医院"),
        ("\u2067心内科\u2069 3 床", "心内科 3 床"),
        ("\u3164张三", "张三"),
        ("a\x00b\x07c", "abc"),  # control characters (PostgreSQL refuses NUL)
        ("第一行\n第二行\t完", "第一行\n第二行\t完"),  # line breaks and tabs stay
        ("👨\u200d👩\u200d👧 一家", "👨\u200d👩\u200d👧 一家"),  # joiners inside emoji stay
        ("❤\ufe0f", "❤\ufe0f"),  # so do variation selectors
        ("\u200b", ""),
    ],
)
def test_clean_drops_direction_controls_and_invisible_edges(typed: str, kept: str) -> None:
    assert clean(typed) == kept


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2026-13-45", "2026-13-45"),
        ("字" * 50, "字" * 50),
        ("字" * 51, "字" * 50 + "…"),
        ("x" * 5000, "x" * 50 + "…"),
        ("\u202eabc", "abc"),
        ("a\nb", "a b"),
    ],
)
def test_quote_shows_at_most_50_characters(typed: str, shown: str) -> None:
    assert quote(typed) == shown
    assert len(quote(typed)) <= 51


@pytest.mark.parametrize(
    "typed", ["99999999999-01-01", "2026-99999999999-01", "9" * 5000 + "-01-01", "9999-12-32"]
)
def test_dates_too_big_to_exist_are_no_dates(typed: str) -> None:
    assert parse_date(typed) is None


@pytest.mark.parametrize(
    ("today", "day", "beyond"),
    [
        (date(2026, 12, 3), date(2026, 12, 3), False),
        (date(2026, 12, 3), date(2028, 12, 3), False),
        (date(2026, 12, 3), date(2028, 12, 4), True),
        (date(2026, 12, 3), date(9999, 12, 31), True),
        (date(2026, 12, 3), date(2020, 1, 1), False),  # the past is other rules' business
        (date(2024, 2, 29), date(2026, 2, 28), False),
        (date(2024, 2, 29), date(2026, 3, 1), True),
    ],
)
def test_dates_beyond_two_years_ahead(today: date, day: date, beyond: bool) -> None:
    assert beyond_horizon(day, today) is beyond


def test_horizon_of_a_leap_day_is_the_28th() -> None:
    assert horizon(date(2024, 2, 29)) == date(2026, 2, 28)
    assert horizon(date(2026, 12, 3)) == date(2028, 12, 3)


def test_moments_are_judged_in_their_own_zone() -> None:
    # 2026-12-03 20:00 UTC is already the 4th in Shanghai: the horizon is 2028-12-04 there.
    now = datetime(2026, 12, 3, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert not moment_beyond_horizon(datetime(2028, 12, 4, 9, 0, tzinfo=SHANGHAI), now)
    assert moment_beyond_horizon(datetime(2028, 12, 5, 9, 0, tzinfo=SHANGHAI), now)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("9999-12-31 14:00-17:00", Problem.TOO_FAR_AHEAD),
        ("2026-12-20 14:00 至 9999-01-01 12:00", Problem.TOO_FAR_AHEAD),
        ("2028-12-04 09:00-10:00", Problem.TOO_FAR_AHEAD),
    ],
)
def test_events_further_than_two_years_are_refused(typed: str, problem: Problem) -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI)
    with pytest.raises(EventInputError) as refused:
        event_rules.parse_when(typed, SHANGHAI, now)
    assert refused.value.problem is problem
    start, end = event_rules.parse_when("2028-12-03 09:00-10:00", SHANGHAI, now)
    assert (start.date(), end.date()) == (date(2028, 12, 3), date(2028, 12, 3))


@pytest.mark.parametrize("typed", INVISIBLE)
def test_event_texts_made_of_invisible_characters_are_empty(typed: str) -> None:
    with pytest.raises(EventInputError) as refused:
        event_rules.check_text(typed, event_rules.MAX_TITLE, Problem.TITLE_TOO_LONG)
    assert refused.value.problem is Problem.EMPTY


def test_event_texts_lose_direction_overrides() -> None:
    assert event_rules.check_text("\u202e会谊联\u202c", 100, Problem.TITLE_TOO_LONG) == "会谊联"


@pytest.mark.parametrize("typed", ["\u200b", "\u3164\u3164", "\ufeff\u202e"])
def test_greeting_templates_of_invisible_characters_are_empty(typed: str) -> None:
    assert validate_template(typed) == EMPTY


BIG = 2**63


@pytest.mark.parametrize(
    "data",
    [
        f"case:visit:{BIG}",
        f"case:pay:{BIG - 1}",
        f"case:visit:{2**31}",
        "case:visit:-1",
        "case:visit:0",
        "case:visit:+5",
        "case:visit: 5",
        "case:visit:1_0",
        "case:visit:٣",  # Arabic-Indic digit three: int() takes it
        "case:visit:²",
        "case:visit:" + "9" * 40,
    ],
)
def test_callback_numbers_outside_their_range_are_refused(data: str) -> None:
    assert CaseAction.unpack(data) is None


def test_callback_numbers_within_range_are_parsed() -> None:
    assert CaseAction.unpack("case:visit:1") == CaseAction("visit", 1)
    assert CaseAction.unpack(f"case:visit:{2**31 - 1}") == CaseAction("visit", 2**31 - 1)
    assert DriveAction.unpack("drv:join:12") == DriveAction("join", 12)
    assert DriveRecord.unpack("drr:1:2:whole_blood:400") == DriveRecord(1, 2, "whole_blood", 400)
    assert DriveRecord.unpack(f"drr:1:{BIG}:whole_blood:400") is None
    assert DriveRecord.unpack("drr:1:2:whole_blood:0") is None
    assert EventMark.unpack(f"evm:{BIG}:1:1") is None
    assert RequestDecision.unpack(f"bindreq:1:{BIG}") is None
