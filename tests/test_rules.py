"""Pure rules: identity fields, message splitting, callback data."""

from __future__ import annotations

import pytest

from bot.rules.identity import (
    mask_phone,
    normalize_phone,
    normalize_police_id,
    parse_blood_type,
    parse_gender,
    try_normalize_phone,
)
from bot.rules.messages import TELEGRAM_TEXT_LIMIT, split_text
from handlers.callbacks import CallbackData, MenuChoice, ProfileAction, RequestDecision


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("(+86) 199 0000 0000", "+8619900000000"),
    ],
)
def test_phones_normalise_to_plus_86(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "12800138000", "1380013800", "+1 555 0100 200", "电话", "+85291234567"]
)
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_phone(raw)
    assert try_normalize_phone(raw) is None


def test_mask_phone_hides_the_middle() -> None:
    assert mask_phone("+8613800138000") == "138****8000"
    assert mask_phone("") == "****"


@pytest.mark.parametrize(
    ("raw", "text", "negative"),
    [
        ("A", "A", False),
        ("ab", "AB", False),
        ("O型", "O", False),
        ("O-", "O Rh-", True),
        ("O Rh-", "O Rh-", True),
        ("Rh阴性O", "O Rh-", True),
        ("AB Rh+", "AB", False),
        ("B型RH阴性", "B Rh-", True),
        ("O型阴性", "O Rh-", True),
        ("O阴", "O Rh-", True),
        ("A阳性", "A", False),
    ],
)
def test_blood_types(raw: str, text: str, negative: bool) -> None:
    blood = parse_blood_type(raw)
    assert (str(blood), blood.rh_negative) == (text, negative)


@pytest.mark.parametrize("raw", ["", "C", "ABO", "O--", "A型血"])
def test_bad_blood_types(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_blood_type(raw)


def test_gender_and_police_id() -> None:
    assert [parse_gender(v) for v in ("男", "女", "M", "female")] == ["M", "F", "M", "F"]
    with pytest.raises(ValueError):
        parse_gender("x")
    assert normalize_police_id(" a12345 ") == "A12345"
    for bad in ("123", "1234567890123", "12 34", "'; --", "警号"):
        with pytest.raises(ValueError):
            normalize_police_id(bad)


def test_short_text_is_one_part() -> None:
    assert split_text("你好") == ["你好"]
    assert split_text("") == [""]


def test_long_text_splits_at_line_breaks_and_loses_nothing() -> None:
    lines = [f"第{i}行" + "字" * 50 for i in range(300)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert len(parts) > 1
    assert "".join(parts) == text
    assert all(len(part) <= TELEGRAM_TEXT_LIMIT for part in parts)
    assert all(part.endswith("\n") for part in parts[:-1])


def test_text_without_breaks_and_with_emoji_counts_utf16() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units
    parts = split_text(text)
    assert "".join(parts) == text
    assert [len(p) for p in parts] == [2048, 952]


def test_callback_data_round_trip_and_rejects_forgeries() -> None:
    decision = RequestDecision(approve=True, request_id=42)
    assert decision.pack() == "bindreq:1:42"
    assert RequestDecision.unpack("bindreq:1:42") == decision
    for forged in (
        "bindreq:2:42",
        "bindreq:1:x",
        "bindreq:1",
        "bindreq:1:2:3",
        "menu:1:2",
        None,
        5,
    ):
        assert RequestDecision.unpack(forged) is None
    assert MenuChoice.unpack("menu:profile") == MenuChoice("profile")
    assert MenuChoice.unpack("menu:admin") is None
    assert ProfileAction.unpack("me:drop:1") is None
    assert ProfileAction.pattern().match("me:single:1")
    assert not ProfileAction.pattern().match("meal:1")


def test_callback_data_over_64_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        ProfileAction("setblood", "字" * 30).pack()
    assert issubclass(MenuChoice, CallbackData)
