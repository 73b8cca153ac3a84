"""Typed callback data: packed into Telegram's 64 bytes, parsed back or rejected.

Callback data comes from the client and can be forged; parsing checks its shape (numbers are
parsed once, here, and must lie in INT_RANGE), and every handler authorises the action again
against the database.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar, Self

CALLBACK_DATA_LIMIT = 64
# Every number in callback data is a row id (or an amount) of an INTEGER column: positive and
# within that column's range. Anything else is forged and must never reach the database, where a
# number past 2**63 - 1 raises OverflowError instead of matching nothing.
INT_RANGE = (1, 2**31 - 1)


@dataclasses.dataclass(frozen=True)
class CallbackData:
    """Base of every button's data: `prefix:field:field…`."""

    prefix: ClassVar[str]

    def pack(self) -> str:
        """The string sent as callback_data."""
        parts = [self.prefix]
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            text = str(int(value)) if isinstance(value, bool) else str(value)
            if ":" in text:
                raise ValueError(f"':' in callback field {field.name}")
            parts.append(text)
        packed = ":".join(parts)
        if len(packed.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {packed!r}")
        return packed

    @classmethod
    def unpack(cls, data: object) -> Self | None:
        """The parsed data, or None when it does not have this shape."""
        if not isinstance(data, str):
            return None
        parts = data.split(":")
        fields = dataclasses.fields(cls)
        if parts[0] != cls.prefix or len(parts) != len(fields) + 1:
            return None
        values: dict[str, object] = {}
        for field, raw in zip(fields, parts[1:], strict=True):
            kind = field.type if isinstance(field.type, str) else field.type.__name__
            try:
                if kind == "int":
                    number = _number(raw)
                    if number is None:
                        return None
                    values[field.name] = number
                elif kind == "bool":
                    if raw not in ("0", "1"):
                        return None
                    values[field.name] = raw == "1"
                else:
                    values[field.name] = raw
            except ValueError:
                return None
        try:
            return cls(**values)
        except (TypeError, ValueError):
            return None

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """The regex PTB's CallbackQueryHandler uses to route this kind of button."""
        return re.compile(rf"^{re.escape(cls.prefix)}(:|$)")


def _number(raw: str) -> int | None:
    """A number as pack() writes it (ASCII digits only: no sign, blank, '_' or other scripts'
    digits, all of which int() accepts) and within INT_RANGE; None otherwise."""
    low, high = INT_RANGE
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(high)):
        return None
    number = int(raw)
    return number if low <= number <= high else None


MENU_ITEMS = (
    "profile",
    "help",
    "requests",
    "report",
    "myreports",
    "cases",
    "book",
    "blood",
    "drives",
    "events",
    "clubs",
    "staff",
    "announce",
    "appeal",
    "greetings",
    "bookings",
)


@dataclasses.dataclass(frozen=True)
class MenuChoice(CallbackData):
    """A main-menu button."""

    prefix: ClassVar[str] = "menu"
    item: str

    def __post_init__(self) -> None:
        if self.item not in MENU_ITEMS:
            raise ValueError(self.item)


@dataclasses.dataclass(frozen=True)
class RequestDecision(CallbackData):
    """An organizer's decision on a binding request."""

    prefix: ClassVar[str] = "bindreq"
    approve: bool
    request_id: int


@dataclasses.dataclass(frozen=True)
class ProfileAction(CallbackData):
    """A button on the profile card; value says what to set, so a double press is harmless."""

    prefix: ClassVar[str] = "me"
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in ("phone", "blood", "setblood", "single", "greet", "done"):
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class BroadcastCancel(CallbackData):
    """The stop button on a broadcast's progress message."""

    prefix: ClassVar[str] = "bc"
    broadcast_id: int


ANNOUNCE_ACTIONS = ("audience", "unit", "role", "confirm", "cancel")


@dataclasses.dataclass(frozen=True)
class AnnounceStep(CallbackData):
    """A button of the /announce flow; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "ann"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in ANNOUNCE_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class CareStep(CallbackData):
    """A button of the care report flow: which step it answers and the value chosen."""

    prefix: ClassVar[str] = "cr"
    step: str
    value: str


CASE_ACTIONS = ("visit", "pay", "decline")


@dataclasses.dataclass(frozen=True)
class CaseAction(CallbackData):
    """An organizer's step on a care case."""

    prefix: ClassVar[str] = "case"
    action: str
    case_id: int

    def __post_init__(self) -> None:
        if self.action not in CASE_ACTIONS:
            raise ValueError(self.action)


DRIVE_ACTIONS = ("join", "leave")


@dataclasses.dataclass(frozen=True)
class DriveAction(CallbackData):
    """报名 or 取消报名 on a blood drive's card."""

    prefix: ClassVar[str] = "drv"
    action: str
    drive_id: int

    def __post_init__(self) -> None:
        if self.action not in DRIVE_ACTIONS:
            raise ValueError(self.action)


APPEAL_ACTIONS = ("coming", "cannot", "arrived", "end", "endok", "endno", "list")


@dataclasses.dataclass(frozen=True)
class AppealAction(CallbackData):
    """我能去 / 去不了 / 已到达 on an urgent appeal, or 结束 on its tally."""

    prefix: ClassVar[str] = "apl"
    action: str
    appeal_id: int

    def __post_init__(self) -> None:
        if self.action not in APPEAL_ACTIONS:
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class AppealConfirm(CallbackData):
    """确认发送 / 取消 on an appeal's preview; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "aplc"
    flow: str
    action: str

    def __post_init__(self) -> None:
        if self.action not in ("confirm", "cancel") or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class RosterNoteStep(CallbackData):
    """「资料有误？」 on /me (start, `flow` "0") and 取消 while writing the note (`flow` ties it
    to the draft it was shown for)."""

    prefix: ClassVar[str] = "rn"
    flow: str
    action: str

    def __post_init__(self) -> None:
        if self.action not in ("start", "cancel") or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class RosterNoteDone(CallbackData):
    """✅ 已处理 on an organizer's copy of a roster note."""

    prefix: ClassVar[str] = "rnd"
    note_id: int


RECORD_COMPONENTS = ("whole_blood", "platelets")


@dataclasses.dataclass(frozen=True)
class DriveRecord(CallbackData):
    """An organizer records what a signed-up officer gave at a drive, from its list."""

    prefix: ClassVar[str] = "drr"
    drive_id: int
    officer_id: int
    component: str
    amount: int

    def __post_init__(self) -> None:
        if self.component not in RECORD_COMPONENTS:
            raise ValueError(self.component)


EVENT_ACTIONS = (
    "join",
    "leave",
    "manage",
    "list",
    "export",
    "edit",
    "cancel",
    "cancelok",
    "back",
)


@dataclasses.dataclass(frozen=True)
class EventAction(CallbackData):
    """A button on an event: 报名 / 取消报名 for officers, the manage panel for its managers."""

    prefix: ClassVar[str] = "ev"
    action: str
    event_id: int
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in EVENT_ACTIONS:
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class EventMark(CallbackData):
    """到场 / 缺席 for one signed-up officer on an event's attendance list."""

    prefix: ClassVar[str] = "evm"
    event_id: int
    officer_id: int
    attended: bool


EVENT_STEPS = (
    "kind",
    "club",
    "audience",
    "unit",
    "deadline",
    "skip",
    "waitlist",
    "confirm",
    "cancel",
)


@dataclasses.dataclass(frozen=True)
class EventStep(CallbackData):
    """A button of the event create / edit flow; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "evs"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in EVENT_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)


CLUB_ACTIONS = ("join", "leave", "members")


@dataclasses.dataclass(frozen=True)
class ClubAction(CallbackData):
    """加入 / 退出 / 成员 on the /clubs list; `club` is the club's key (handlers.clubs.club_key)."""

    prefix: ClassVar[str] = "club"
    action: str
    club: str

    def __post_init__(self) -> None:
        if self.action not in CLUB_ACTIONS or not self.club:
            raise ValueError(self.action)


CLUB_NOTICE_ACTIONS = ("club", "send", "cancel")


@dataclasses.dataclass(frozen=True)
class ClubNoticeStep(CallbackData):
    """A button of the club notice flow; `flow` ties it to its draft, `value` a club's key."""

    prefix: ClassVar[str] = "clbn"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in CLUB_NOTICE_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)


GREETING_MENU_ACTIONS = ("edit", "test")


@dataclasses.dataclass(frozen=True)
class GreetingMenu(CallbackData):
    """✏️ 修改问候语 or 📨 试发给我 under the /greetings view."""

    prefix: ClassVar[str] = "grm"
    action: str

    def __post_init__(self) -> None:
        if self.action not in GREETING_MENU_ACTIONS:
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class GreetingTest(CallbackData):
    """Send one occasion's greeting to the organizer who pressed it, and to nobody else."""

    prefix: ClassVar[str] = "grtt"
    occasion: str


GREETING_STEP_ACTIONS = ("pick", "keeptext", "keepnote", "nonote", "save", "cancel")


@dataclasses.dataclass(frozen=True)
class GreetingStep(CallbackData):
    """A button of the greeting-text edit flow; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "grt"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in GREETING_STEP_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class LunarBirthday(CallbackData):
    """按农历过生日 (on) or 改回公历生日 (off) on the /me card; the value is what it sets."""

    prefix: ClassVar[str] = "mel"
    on: bool


BOOK_STEPS = ("svc", "day", "slot", "ok", "home")
_BOOK_DAY = re.compile(r"^(-|\d{8})$")
_BOOK_SLOT = re.compile(r"^(-|\d{4})$")


@dataclasses.dataclass(frozen=True)
class BookStep(CallbackData):
    """A step of booking: the service (its policy key), the day (YYYYMMDD, local) and the
    slot (HHMM, local); "-" while not chosen."""

    prefix: ClassVar[str] = "bk"
    step: str
    service: str = "-"
    day: str = "-"
    slot: str = "-"

    def __post_init__(self) -> None:
        if self.step not in BOOK_STEPS:
            raise ValueError(self.step)
        if not re.fullmatch(r"-|[a-z][a-z0-9-]{1,31}", self.service):
            raise ValueError(self.service)
        if not _BOOK_DAY.match(self.day) or not _BOOK_SLOT.match(self.slot):
            raise ValueError(self.day + self.slot)


BOOKING_ACTIONS = ("cancel", "alias", "mine")


@dataclasses.dataclass(frozen=True)
class BookingAction(CallbackData):
    """取消预约 / 设置化名 on a booking's card, or 我的预约 (booking_id 1: none)."""

    prefix: ClassVar[str] = "bka"
    action: str
    booking_id: int = 1

    def __post_init__(self) -> None:
        if self.action not in BOOKING_ACTIONS:
            raise ValueError(self.action)


STAFF_STEPS = ("home", "svc", "day", "slot", "close", "closeok", "cday", "cdayok")


@dataclasses.dataclass(frozen=True)
class StaffStep(CallbackData):
    """A step of a service's staff (/staff): the service (its policy key), the day (YYYYMMDD,
    local) and the slot (HHMM, local); "-" while not chosen. close / cday ask to close the slot
    or the day, closeok / cdayok do it."""

    prefix: ClassVar[str] = "stf"
    action: str
    service: str = "-"
    day: str = "-"
    slot: str = "-"

    def __post_init__(self) -> None:
        if self.action not in STAFF_STEPS:
            raise ValueError(self.action)
        if not re.fullmatch(r"-|[a-z][a-z0-9-]{1,31}", self.service):
            raise ValueError(self.service)
        if not _BOOK_DAY.match(self.day) or not _BOOK_SLOT.match(self.slot):
            raise ValueError(self.day + self.slot)


@dataclasses.dataclass(frozen=True)
class StaffMark(CallbackData):
    """到场 / 未到 for one booking on a staff member's slot list."""

    prefix: ClassVar[str] = "stm"
    booking_id: int
    attended: bool
