"""Forgiving input: what an officer types on a phone, read the way they meant it.

Pure functions, no Telegram and no database:

- `normalise`: full-width digits, letters and punctuation (１２：３０, ＡＢ, ／) to their ASCII
  forms, the ideographic space to a plain one, before any check reads the text;
- `parse_day`: 2026-12-05, 2026/12/5, 2026.12.5, 20261205, 2026年12月5日, a year-less 12-5,
  12/5 or 12月5日 (the year chosen by `lean`), and 今天 / 昨天 / 前天 / 明天 / 后天;
- `parse_clock`: 20:30, 8:30 (a full-width colon too), 8点, 8点半, 8点15分, 晚上8点,
  下午3点, 上午9点.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from enum import StrEnum

# The full-width forms of ASCII '!' … '~' sit at a fixed distance from them.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = ord(" ")  # the ideographic space

RELATIVE_DAYS = {
    "今天": 0,
    "今日": 0,
    "昨天": -1,
    "昨日": -1,
    "前天": -2,
    "明天": 1,
    "明日": 1,
    "后天": 2,
}

_WITH_YEAR = re.compile(r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})[日号]?$")
_COMPACT = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
_NO_YEAR = re.compile(r"^([0-9]{1,2})[-/.月]([0-9]{1,2})[日号]?$")

# A clock reading: 20:30, or 8点 / 8点半 / 8点15分 / 8点整 (时 for 点 too).
_COLON = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
_SPOKEN = re.compile(r"^([0-9]{1,2})[点时](?:(半)|([0-9]{1,2})分?|整)?$")
# The parts of the day, longest first so 早上 is not read as 早.
_MORNING = ("凌晨", "早上", "早晨", "上午", "清晨")
_NOON = ("中午",)
_EVENING = ("下午", "傍晚", "晚上", "夜里", "夜间", "今晚")
_PERIODS = tuple(sorted((*_MORNING, *_NOON, *_EVENING), key=len, reverse=True))


class Lean(StrEnum):
    """Which year a year-less date falls in."""

    PAST = "past"  # an admission, a donation: this year, unless that is still ahead
    FUTURE = "future"  # a drive, an event: this year, unless that has passed
    NEAREST = "nearest"  # a wedding, past or planned: whichever year's is closest to today


def normalise(text: str) -> str:
    """Full-width ASCII forms and the ideographic space to their plain forms, then stripped."""
    return text.translate(_FULL_WIDTH).strip()


def _compact(text: str) -> str:
    """Normalised, with every blank removed (2026 / 12 / 5, 8 点 半)."""
    return re.sub(r"\s+", "", normalise(text))


def parse_day(text: str, today: date | None = None, *, lean: Lean = Lean.PAST) -> date | None:
    """The day typed, or None.

    Words relative to today (今天, 昨天…) and dates without a year need `today`; without it they
    are no date. A year-less date leans by `lean`: into the past it is this year's unless that
    lies after today (then last year's); into the future this year's unless it lies before
    today (then next year's); to the nearest, whichever year's lies closest to today.
    """
    value = _compact(text)
    if not value:
        return None
    if value in RELATIVE_DAYS:
        return None if today is None else today + timedelta(days=RELATIVE_DAYS[value])
    try:
        if match := _WITH_YEAR.match(value) or _COMPACT.match(value):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if today is not None and (match := _NO_YEAR.match(value)):
            return _year_less(int(match.group(1)), int(match.group(2)), today, lean)
    except (ValueError, OverflowError):
        return None  # no such day (2026-02-30, 13-1)
    return None


def _year_less(month: int, day: int, today: date, lean: Lean) -> date:
    """This year's month and day, moved a year back or on as `lean` says; ValueError if none."""
    years = (today.year - 1, today.year, today.year + 1)
    days = [date(year, month, day) for year in years if _exists(year, month, day)]
    if lean is Lean.PAST:
        days = [found for found in days if found <= today]
    elif lean is Lean.FUTURE:
        days = [found for found in days if found >= today]
    if days:
        return min(days, key=lambda found: (abs((found - today).days), found))
    # 2月29日 in a year without one, or a day that only exists the other way round.
    raise ValueError("no such day within a year")


def _exists(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def parse_clock(text: str, *, after: time | None = None) -> time | None:
    """The wall time typed, or None: 20:30, 8:30, 8点, 8点半, 8点15分, 晚上8点, 下午3点…

    An evening word (下午, 晚上…) moves 1–11 o'clock into the afternoon (晚上8点 is 20:00); a
    morning word refuses an afternoon hour (上午15点), and 凌晨12点 is midnight. The end of a
    range in the afternoon (`after`, its start) said without a part of the day follows it:
    after 19:00, 9点 is 21:00 (a typed 9:00 stays 9:00).
    """
    value = _compact(text)
    period = next((word for word in _PERIODS if value.startswith(word)), "")
    value = value.removeprefix(period)
    spoken = False
    if match := _COLON.match(value):
        hour, minute = int(match.group(1)), int(match.group(2))
    elif match := _SPOKEN.match(value):
        spoken = True
        hour = int(match.group(1))
        minute = 30 if match.group(2) else int(match.group(3) or 0)
    else:
        return None
    if period in _EVENING:
        if 1 <= hour <= 11:
            hour += 12
        elif hour in (0, 12):
            return None  # 晚上12点: midnight belongs to the next day, say 0:00 instead
    elif period in _NOON:
        if 1 <= hour <= 2:
            hour += 12
        elif hour not in (11, 12):
            return None
    elif period in _MORNING:
        if period == "凌晨" and hour == 12:
            hour = 0
        elif hour > 12:
            return None
    if hour > 23 or minute > 59:
        return None
    follows = spoken and not period and after is not None and after.hour >= 12
    if follows and 1 <= hour <= 11 and after is not None and time(hour + 12, minute) > after:
        hour += 12
    return time(hour, minute)


# --- free text naming a feature ------------------------------------------------------------

# What an officer may type to open a feature, and the feature (handlers/menu.py opens it).
FEATURE_WORDS: dict[str, tuple[str, ...]] = {
    "drives": ("献血", "献血活动", "献血报名"),
    "blood": ("献血记录", "我的献血"),
    "events": ("活动", "近期活动", "活动报名", "我的报名"),
    "clubs": ("俱乐部", "兴趣俱乐部"),
    "book": ("预约", "体检", "健康屋", "心理咨询", "健身房", "我的预约"),
    "report": ("慰问", "住院", "慰问申报", "申报"),
    "appeal": ("呼吁", "紧急呼吁", "献血呼吁", "用血呼吁", "紧急用血"),
    "myreports": ("我的申报",),
    "me": ("资料", "我的资料", "个人资料", "手机号", "改手机号", "血型"),
    "menu": ("菜单", "主菜单", "功能"),
    "help": ("帮助", "怎么用"),
    "retreats": ("疗休养", "疗养"),
    "honours": ("评先评优", "评优", "评先", "先进", "评优评先"),
    "surveys": ("问卷", "调查", "问卷调查", "填问卷"),
    "charity": ("慈善", "捐款", "募捐", "一日捐", "慈善捐款", "慈善一日捐", "认捐"),
    "distributions": ("物资", "消费券", "领物资", "物资发放", "领取"),
    "mutualaid": ("医疗互助", "互助", "理赔", "互助保障"),
    "stats": ("统计", "数据", "年度数据", "年度报告"),
}
_WANT = ("我要", "我想", "想", "要")
_TRAILING = "吧呢啊呀。.!！?？~～ "
_FEATURE_OF = {word: feature for feature, words in FEATURE_WORDS.items() for word in words}


def feature_named(text: str) -> str | None:
    """The feature a short free text names (`献血`, `我要预约`, `体检吧`), or None."""
    value = _compact(text).rstrip(_TRAILING)
    for want in _WANT:
        if value.startswith(want) and value[len(want) :] in _FEATURE_OF:
            value = value[len(want) :]
            break
    return _FEATURE_OF.get(value)
