"""The /cases query language (bot/rules/case_query.py): words to a filter, as tables."""

from __future__ import annotations

from datetime import date

import pytest

from bot import texts
from bot.rules.case_query import (
    CaseFilter,
    FilterError,
    describe,
    parse_filter,
    parse_period,
    split_arguments,
)
from bot.rules.text import quote

UNITS = frozenset({"天元分局", "荷塘分局"})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/cases", []),
        ("/cases   ", []),
        ("/cases 住院 天元分局", ["住院", "天元分局"]),
        ("/cases 住院，天元分局、已探望;2026", ["住院", "天元分局", "已探望", "2026"]),
        ("/cases 2026-06-30、2026-01-01", ["2026-06-30", "2026-01-01"]),
        ("/cases\n全部；#12", ["全部", "#12"]),
    ],
)
def test_split_arguments(text: str, words: list[str]) -> None:
    assert split_arguments(text) == words


@pytest.mark.parametrize(
    ("words", "period"),
    [
        ([], (None, None)),
        (["2026-03-05"], (date(2026, 3, 5), None)),
        (["2026/03/05"], (date(2026, 3, 5), None)),
        (["20260305"], (date(2026, 3, 5), None)),
        (["2026年3月5日"], (date(2026, 3, 5), None)),
        (["2026"], (date(2026, 1, 1), date(2026, 12, 31))),
        (["2026年"], (date(2026, 1, 1), date(2026, 12, 31))),
        (["2026-02"], (date(2026, 2, 1), date(2026, 2, 28))),
        (["2028年2月"], (date(2028, 2, 1), date(2028, 2, 29))),
        (["2026.3"], (date(2026, 3, 1), date(2026, 3, 31))),
        (["2026-01-01", "2026-06-30"], (date(2026, 1, 1), date(2026, 6, 30))),
        (["2026-06-30", "2026-01-01"], (date(2026, 1, 1), date(2026, 6, 30))),
        (["1950"], (date(1950, 1, 1), date(1950, 12, 31))),
        (["2100-12-31"], (date(2100, 12, 31), None)),
    ],
)
def test_parse_period(words: list[str], period: tuple[date | None, date | None]) -> None:
    assert parse_period(words) == period


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["胡说"], texts.CASES_BAD_TOKEN.format(token=quote("胡说"))),
        (["2026-13"], texts.CASES_BAD_TOKEN.format(token=quote("2026-13"))),
        (["2026-02-30"], texts.CASES_BAD_TOKEN.format(token=quote("2026-02-30"))),
        (["1949"], texts.CASES_BAD_TOKEN.format(token=quote("1949"))),
        (["2101-01-01"], texts.CASES_BAD_TOKEN.format(token=quote("2101-01-01"))),
        (["9999-12-31"], texts.CASES_BAD_TOKEN.format(token=quote("9999-12-31"))),
        (["2026", "2026-01-01"], texts.CASES_BAD_PERIOD),
        (["2026-01", "2026-02"], texts.CASES_BAD_PERIOD),
        (["2026-01-01", "2026-02-01", "2026-03-01"], texts.CASES_BAD_PERIOD),
    ],
)
def test_parse_period_refuses(words: list[str], message: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_period(words)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("words", "wanted"),
    [
        ([], CaseFilter()),
        (["住院"], CaseFilter(event="hospitalization")),
        (["hospitalization"], CaseFilter(event="hospitalization")),
        (["住院", "住院"], CaseFilter(event="hospitalization")),
        (["已探望"], CaseFilter(statuses=("visited",))),
        (["已探望", "已发放", "已探望"], CaseFilter(statuses=("visited", "paid"))),
        (["paid"], CaseFilter(statuses=("paid",))),
        (["全部"], CaseFilter(every_status=True)),
        (["全部", "已发放"], CaseFilter(statuses=("paid",))),
        (["天元分局"], CaseFilter(unit="天元分局")),
        (["天元分局", "天元分局"], CaseFilter(unit="天元分局")),
        (["#12"], CaseFilter(case_id=12)),
        (["＃7"], CaseFilter(case_id=7)),
        (["住院", "天元分局", "#12"], CaseFilter(case_id=12)),
        (["#12", "胡说"], CaseFilter(case_id=12)),
        (
            ["住院", "天元分局", "已探望", "2026-01-01", "2026-06-30"],
            CaseFilter(
                statuses=("visited",),
                event="hospitalization",
                unit="天元分局",
                start=date(2026, 1, 1),
                end=date(2026, 6, 30),
            ),
        ),
        (["2026-03"], CaseFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))),
        (["2026-03-05"], CaseFilter(start=date(2026, 3, 5))),
    ],
)
def test_parse_filter(words: list[str], wanted: CaseFilter) -> None:
    assert parse_filter(words, UNITS) == wanted


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["胡说"], texts.CASES_BAD_TOKEN.format(token=quote("胡说"))),
        (["住院", "结婚"], texts.CASES_BAD_TOKEN.format(token=quote("结婚"))),
        (["天元分局", "荷塘分局"], texts.CASES_BAD_TOKEN.format(token=quote("荷塘分局"))),
        (["芦淞分局"], texts.CASES_BAD_TOKEN.format(token=quote("芦淞分局"))),
        (["#"], texts.CASES_BAD_TOKEN.format(token=quote("#"))),
        (["#1234567890"], texts.CASES_BAD_TOKEN.format(token=quote("#1234567890"))),
        (["2026", "2026-01-01"], texts.CASES_BAD_PERIOD),
    ],
)
def test_parse_filter_refuses(words: list[str], message: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_filter(words, UNITS)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("wanted", "words"),
    [
        (CaseFilter(), texts.CASES_FILTER_OPEN),
        (CaseFilter(every_status=True), texts.CASES_FILTER_ALL),
        (
            CaseFilter(statuses=("visited", "paid"), event="hospitalization", unit="天元分局"),
            "住院，天元分局，已探望、已发放",
        ),
        (
            CaseFilter(start=date(2026, 1, 1), end=date(2026, 6, 30)),
            texts.CASES_FILTER_OPEN
            + "，"
            + texts.CASES_FILTER_PERIOD.format(start=date(2026, 1, 1), end=date(2026, 6, 30)),
        ),
        (
            CaseFilter(start=date(2026, 3, 5)),
            texts.CASES_FILTER_OPEN
            + "，"
            + texts.CASES_FILTER_SINCE.format(start=date(2026, 3, 5)),
        ),
    ],
)
def test_describe(wanted: CaseFilter, words: str) -> None:
    assert describe(wanted) == words
