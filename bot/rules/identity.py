"""Pure rules for roster identity fields: phone numbers, blood types, gender, police IDs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.rules.forgiving import normalise

_MOBILE = re.compile(r"1[3-9]\d{9}")
_POLICE_ID = re.compile(r"[0-9A-Za-z]{4,12}")


def normalize_phone(raw: str) -> str:
    """Mainland mobile number in +86 form (e.g. '+8613800138000'), or ValueError."""
    digits = re.sub(r"[\s\-()()]", "", normalise(raw))
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("86"):
            raise ValueError("not a mainland China number")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise ValueError("phone must be an 11-digit mainland China mobile number")
    return "+86" + digits


def try_normalize_phone(raw: str) -> str | None:
    """Like normalize_phone, but None for anything that is not a mainland mobile number."""
    try:
        return normalize_phone(raw)
    except ValueError:
        return None


def mask_phone(phone: str) -> str:
    """A phone number with its middle digits hidden, for display: +86 138****8000."""
    local = phone.removeprefix("+86")
    if len(local) != 11:
        return "****"
    return f"{local[:3]}****{local[-4:]}"


@dataclass(frozen=True)
class BloodType:
    """ABO group and Rh factor."""

    group: str
    rh_negative: bool = False

    def __str__(self) -> str:
        return f"{self.group} Rh-" if self.rh_negative else self.group


def parse_blood_type(raw: str) -> BloodType:
    """Parse 'A', 'ab', 'O型', 'O-', 'O Rh-', 'Rh阴性O' and the like, or ValueError."""
    text = re.sub(r"\s", "", raw).upper()
    text = text.replace("RH阴性", "RH-").replace("RH阳性", "RH+")
    # Officers also write O阴性 / O阴 without "Rh".
    text = text.replace("阴性", "-").replace("阳性", "+").replace("阴", "-").replace("阳", "+")
    match = re.fullmatch(r"(?:RH([+-]))?(AB|A|B|O)型?(?:RH)?([+-])?", text)
    if not match:
        raise ValueError("blood type must be A, B, O or AB, Rh-negative as e.g. O Rh-")
    sign = match.group(1) or match.group(3) or "+"
    return BloodType(group=match.group(2), rh_negative=sign == "-")


def parse_gender(raw: str) -> str:
    """'M' or 'F' from 男/女/M/F/male/female, or ValueError."""
    value = raw.strip().lower()
    if value in ("男", "m", "male"):
        return "M"
    if value in ("女", "f", "female"):
        return "F"
    raise ValueError("gender must be 男/女 (or M/F)")


def normalize_police_id(raw: str) -> str:
    """A police ID as stored: 4 to 12 letters or digits, letters upper-case, or ValueError;
    full-width ones (１００００２, ＡＢ) are read as the plain ones."""
    value = normalise(raw).upper()
    if not _POLICE_ID.fullmatch(value):
        raise ValueError("police ID must be 4 to 12 letters or digits")
    return value
