"""Greeting texts: the union's templates, organizers' overrides, rendering and lunar dates.

A template knows three placeholders, {name}, {festival} and {union}, which organizers may also
write 【姓名】, 【节日】 and 【工会】 (and see written so). Organizers type templates
in chat, so a template is checked when it is saved (validate_template) and rendered robustly
anyway (render): a brace that is not one of the three placeholders is printed as it stands and
never raises, whatever an older row or a hand-edited policy file holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from bot import texts
from bot.policy import Policy
from bot.rules.text import meaningful

PLACEHOLDERS = ("name", "festival", "union")
# What organizers type on a phone: 【姓名】 comes with every Chinese keyboard, braces do not. Each
# Chinese word stands for its placeholder, in 【】 or in braces.
CHINESE_PLACEHOLDERS = {"姓名": "name", "节日": "festival", "工会": "union"}
# Long enough for any greeting, short enough that text, note and name stay far below Telegram's
# 4,096 characters in one message.
MAX_TEMPLATE_LENGTH = 1000
MAX_NOTE_LENGTH = 1000

# Reasons validate_template gives; texts.GREETING_TEXT_REFUSED has a sentence for each.
EMPTY = "empty"
TOO_LONG = "too_long"
UNKNOWN_PLACEHOLDER = "unknown_placeholder"
STRAY_BRACE = "stray_brace"

_WORDS = "|".join((*PLACEHOLDERS, *CHINESE_PLACEHOLDERS))
_PLACEHOLDER = re.compile(r"\{(" + _WORDS + r")\}|【(" + "|".join(CHINESE_PLACEHOLDERS) + r")】")
_ANY_FIELD = re.compile(r"\{[^{}]*\}")

_LUNAR_MONTHS = ("正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊")
_DIGITS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


class TextOverride(Protocol):
    """What template_for reads of an organizer's saved text (storage.models.GreetingText)."""

    @property
    def text(self) -> str: ...

    @property
    def welfare_note(self) -> str: ...


def validate_template(text: str) -> str | None:
    """None if an organizer may save this template, else the reason key."""
    if not meaningful(text):
        return EMPTY
    if len(text) > MAX_TEMPLATE_LENGTH:
        return TOO_LONG
    fields = _ANY_FIELD.findall(text)
    if any(_PLACEHOLDER.fullmatch(field) is None for field in fields):
        return UNKNOWN_PLACEHOLDER
    # What is left once the placeholders are gone must hold no brace at all: "{{", "}" or "{"
    # alone are not escapes here, organizers do not know Python's format syntax.
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        return STRAY_BRACE
    return None


def validate_note(note: str) -> str | None:
    """None if this welfare note may be saved (an empty one means no note), else the reason key."""
    return TOO_LONG if len(note) > MAX_NOTE_LENGTH else None


def render(template: str, *, name: str, festival: str, union: str, welfare_note: str) -> str:
    """The greeting an officer reads: placeholders filled in, the welfare note on its own line.

    Values are put in once and never read again as a template, so a name containing "{union}"
    stays as it is; anything in braces that is not a placeholder is left as written.
    """
    values = {"name": name, "festival": festival, "union": union}
    text = _PLACEHOLDER.sub(lambda match: values[_key(match)], template).strip()
    note = welfare_note.strip()
    return f"{text}\n{note}" if note else text


def _key(match: re.Match[str]) -> str:
    """The placeholder a match stands for: name, festival or union."""
    word = match.group(1) or match.group(2)
    return CHINESE_PLACEHOLDERS.get(word, word)


def as_organizers_read(template: str) -> str:
    """A template as organizers see it: each placeholder in its Chinese form, 【姓名】 and so on."""
    chinese = {key: word for word, key in CHINESE_PLACEHOLDERS.items()}
    return _PLACEHOLDER.sub(lambda match: f"【{chinese[_key(match)]}】", template)


def template_for(
    policy: Policy, overrides: Mapping[str, TextOverride], occasion: str
) -> tuple[str, str]:
    """The template and welfare note of an occasion: the organizers' version, else the policy's."""
    override = overrides.get(occasion)
    if override is not None:
        return override.text, override.welfare_note
    greetings = policy.greetings
    text = greetings.texts.get(occasion) or texts.GREETING_FALLBACK_TEXT
    return text, greetings.notes.get(occasion, "")


def lunar_day_name(day: int) -> str:
    """初一 … 初十, 十一 … 十九, 二十, 廿一 … 廿九, 三十."""
    if not 1 <= day <= 30:
        raise ValueError(f"no lunar day {day}")
    if day <= 10:
        return "初" + _DIGITS[day]
    if day < 20:
        return "十" + _DIGITS[day - 10]
    if day == 20:
        return "二十"
    if day < 30:
        return "廿" + _DIGITS[day - 20]
    return "三十"


def lunar_month_name(month: int, leap: bool = False) -> str:
    """正月, 二月 … 十月, 冬月, 腊月; a leap month is 闰四月 and so on."""
    if not 1 <= month <= 12:
        raise ValueError(f"no lunar month {month}")
    return ("闰" if leap else "") + _LUNAR_MONTHS[month - 1] + "月"


def lunar_date_label(month: int, day: int, leap: bool = False) -> str:
    """A lunar date as people write it: 三月初八, 闰四月十五, 腊月廿三."""
    return lunar_month_name(month, leap) + lunar_day_name(day)
