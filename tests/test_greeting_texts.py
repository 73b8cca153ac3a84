"""Greeting texts as pure rules: rendering, checking an organizer's text, overrides, lunar dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from bot import texts
from bot.policy import GreetingPolicy, Policy, load_policy
from bot.rules.greeting_text import (
    EMPTY,
    MAX_NOTE_LENGTH,
    MAX_TEMPLATE_LENGTH,
    STRAY_BRACE,
    TOO_LONG,
    UNKNOWN_PLACEHOLDER,
    as_organizers_read,
    lunar_date_label,
    lunar_day_name,
    lunar_month_name,
    render,
    template_for,
    validate_note,
    validate_template,
)
from handlers.greetings import one_year_on

UNION = "株洲市公安局工会"


def _render(template: str, note: str = "", name: str = "王建国", festival: str = "春节") -> str:
    return render(template, name=name, festival=festival, union=UNION, welfare_note=note)


@pytest.mark.parametrize(
    ("template", "note", "expected"),
    [
        ("{name}，过年好！", "", "王建国，过年好！"),
        (
            "{name}，{festival}快乐！{union}祝您阖家幸福。",
            "",
            "王建国，春节快乐！株洲市公安局工会祝您阖家幸福。",
        ),
        ("{name}{name}", "", "王建国王建国"),
        # The welfare note goes on its own line; surrounding blanks of either are dropped.
        (
            "{name}，过年好！\n",
            "  请到本单位工会领取慰问品。 ",
            "王建国，过年好！\n请到本单位工会领取慰问品。",
        ),
        ("新年好", "   ", "新年好"),
        # Anything that is not one of the three placeholders is printed as written, never raises.
        ("{name}好{unknown}", "", "王建国好{unknown}"),
        ("{name}}{", "", "王建国}{"),
        ("{{name}}", "", "{王建国}"),
        ("{0}{}{name!r}{name:>9}", "", "{0}{}{name!r}{name:>9}"),
        # Organizers write placeholders in Chinese, in 【】 or in braces.
        ("【姓名】，【节日】快乐！【工会】", "", "王建国，春节快乐！株洲市公安局工会"),
        ("{姓名}，{节日}快乐", "", "王建国，春节快乐"),
        ("【名字】好", "", "【名字】好"),
        # Full-width braces are ordinary text.
        ("｛name｝您好", "", "｛name｝您好"),
    ],
)
def test_render(template: str, note: str, expected: str) -> None:
    assert _render(template, note) == expected


def test_organizers_read_placeholders_in_chinese() -> None:
    shown = as_organizers_read("{name}，{festival}快乐！{姓名}【工会】{unknown}")
    assert shown == "【姓名】，【节日】快乐！【姓名】【工会】{unknown}"


def test_render_never_reads_a_value_as_a_template() -> None:
    assert _render("{name}，{festival}", name="{union}", festival="{name}") == "{union}，{name}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{name}，新年好！", None),
        ("{name}，{festival}快乐！{union}祝您平安。", None),
        ("新年好！", None),  # no placeholder at all is fine
        ("｛姓名｝新年好", None),
        ("通" * MAX_TEMPLATE_LENGTH, None),
        ("", EMPTY),
        (" \n\t", EMPTY),
        ("通" * (MAX_TEMPLATE_LENGTH + 1), TOO_LONG),
        ("{姓名}，新年好", None),
        ("【姓名】，【节日】快乐！【工会】祝您平安。", None),
        ("【名字】，新年好", None),  # 【】 around another word is ordinary text
        ("{名字}，新年好", UNKNOWN_PLACEHOLDER),
        ("{Name}，新年好", UNKNOWN_PLACEHOLDER),
        ("{name }，新年好", UNKNOWN_PLACEHOLDER),
        ("{}新年好", UNKNOWN_PLACEHOLDER),
        ("{0}新年好", UNKNOWN_PLACEHOLDER),
        ("{name!r}", UNKNOWN_PLACEHOLDER),
        ("{name:>9}", UNKNOWN_PLACEHOLDER),
        ("{name.upper}", UNKNOWN_PLACEHOLDER),
        ("{name，新年好", STRAY_BRACE),
        ("name}，新年好", STRAY_BRACE),
        ("{{name}}", STRAY_BRACE),
        ("{name}}", STRAY_BRACE),
        ("{ {name}", STRAY_BRACE),
    ],
)
def test_validate_template(text: str, reason: str | None) -> None:
    assert validate_template(text) == reason


def test_every_refusal_has_a_sentence() -> None:
    for reason in (EMPTY, TOO_LONG, UNKNOWN_PLACEHOLDER, STRAY_BRACE):
        sentence = texts.GREETING_TEXT_REFUSED[reason].format(limit=1000, length=1001)
        assert sentence.endswith("。")
    assert "【姓名】" in texts.GREETING_TEXT_REFUSED[UNKNOWN_PLACEHOLDER].format()
    assert "1001" in texts.GREETING_TEXT_REFUSED[TOO_LONG].format(limit=1000, length=1001)


def test_validate_note() -> None:
    assert validate_note("") is None
    assert validate_note("请到{单位}工会领取") is None  # notes are not templates: braces are text
    assert validate_note("领" * MAX_NOTE_LENGTH) is None
    assert validate_note("领" * (MAX_NOTE_LENGTH + 1)) == TOO_LONG


def test_shipped_texts_are_valid_and_cover_every_occasion() -> None:
    policy = load_policy(None)
    occasions = {occasion.key for occasion in policy.greetings.occasions} | {"birthday"}
    assert {*texts.FESTIVAL_NAMES} < occasions  # the eight and birthdays, and those switched off
    assert set(policy.greetings.texts) == occasions
    for occasion, text in policy.greetings.texts.items():
        assert validate_template(text) is None, occasion
    assert set(policy.greetings.notes) <= occasions
    assert "消费券" in policy.greetings.notes["chunjie"]
    assert validate_template(texts.GREETING_FALLBACK_TEXT) is None


@dataclass
class _Saved:
    text: str
    welfare_note: str


def _policy() -> Policy:
    return Policy(
        union_name=UNION,
        greetings=GreetingPolicy(
            texts={"chunjie": "{name}，过年好！", "duanwu": "{name}，端午安康！"},
            notes={"chunjie": "请到本单位工会领取慰问品。"},
        ),
    )


@pytest.mark.parametrize(
    ("occasion", "overrides", "expected"),
    [
        ("chunjie", {}, ("{name}，过年好！", "请到本单位工会领取慰问品。")),
        ("duanwu", {}, ("{name}，端午安康！", "")),
        # An organizer's version replaces both, an empty note included.
        ("chunjie", {"chunjie": _Saved("{name}，新春快乐！", "")}, ("{name}，新春快乐！", "")),
        ("duanwu", {"chunjie": _Saved("x", "y")}, ("{name}，端午安康！", "")),
        (
            "zhongqiu",
            {"zhongqiu": _Saved("{name}，中秋快乐！", "月饼已到")},
            ("{name}，中秋快乐！", "月饼已到"),
        ),
        # An occasion the policy has no text for gets the catalogue's general one.
        ("qingming", {}, (texts.GREETING_FALLBACK_TEXT, "")),
    ],
)
def test_template_for(
    occasion: str, overrides: dict[str, _Saved], expected: tuple[str, str]
) -> None:
    assert template_for(_policy(), overrides, occasion) == expected


def test_fallback_renders_with_the_festival_name() -> None:
    text, note = template_for(_policy(), {}, "qingming")
    rendered = _render(text, note, festival=texts.FESTIVAL_NAMES["qingming"])
    assert rendered == "王建国，清明节到了，株洲市公安局工会祝您平安健康、阖家幸福。"


@pytest.mark.parametrize(
    ("month", "day", "leap", "label"),
    [
        (1, 1, False, "正月初一"),
        (1, 15, False, "正月十五"),
        (3, 8, False, "三月初八"),
        (4, 15, True, "闰四月十五"),
        (5, 5, False, "五月初五"),
        (8, 15, False, "八月十五"),
        (10, 10, False, "十月初十"),
        (11, 20, False, "冬月二十"),
        (12, 23, False, "腊月廿三"),
        (12, 29, False, "腊月廿九"),
        (12, 30, False, "腊月三十"),
        (2, 19, True, "闰二月十九"),
        (6, 21, False, "六月廿一"),
    ],
)
def test_lunar_date_label(month: int, day: int, leap: bool, label: str) -> None:
    assert lunar_date_label(month, day, leap) == label


def test_lunar_names_cover_every_day_and_month_once() -> None:
    days = [lunar_day_name(day) for day in range(1, 31)]
    assert len(set(days)) == 30 and days[:3] == ["初一", "初二", "初三"]
    assert days[9:12] == ["初十", "十一", "十二"] and days[19:21] == ["二十", "廿一"]
    months = [lunar_month_name(month) for month in range(1, 13)]
    assert months[0] == "正月" and months[-2:] == ["冬月", "腊月"] and len(set(months)) == 12
    for bad in (0, 31):
        with pytest.raises(ValueError):
            lunar_day_name(bad)
    for bad in (0, 13):
        with pytest.raises(ValueError):
            lunar_month_name(bad)


@pytest.mark.parametrize(
    ("today", "last"),
    [
        (date(2026, 6, 1), date(2027, 5, 31)),
        (date(2026, 1, 1), date(2026, 12, 31)),
        (date(2028, 2, 29), date(2029, 2, 28)),
        (date(2027, 3, 1), date(2028, 2, 29)),
    ],
)
def test_the_next_twelve_months(today: date, last: date) -> None:
    assert one_year_on(today) == last
