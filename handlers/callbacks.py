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
    "surveys",
    "retreats",
    "honours",
    "mutualaid",
    "charity",
    "distributions",
    "rounds",
    "stats",
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


# "digest" and "yearcard": the opt-outs of issue 16 (the monthly digest, my year).
PROFILE_ACTIONS = ("phone", "blood", "setblood", "single", "greet", "digest", "yearcard", "done")


@dataclasses.dataclass(frozen=True)
class ProfileAction(CallbackData):
    """A button on the profile card; value says what to set, so a double press is harmless."""

    prefix: ClassVar[str] = "me"
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in PROFILE_ACTIONS:
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


# --- easy on a phone: the /appeal button dialog (issue 17, item 1) ---
# The /appeal dialog's steps, and its preview's buttons (✏️ goes back to one field).
APPEAL_STEP_ACTIONS = (
    "blood",
    "component",
    "units",
    "deadline",
    "hospital",
    "address",
    "contact",
    "fix",
    "confirm",
    "cancel",
)


@dataclasses.dataclass(frozen=True)
class AppealStep(CallbackData):
    """A button of the /appeal dialog or of its preview (确认发送, 取消, ✏️); `flow` ties it to
    the draft it was shown for, `value` is what it chooses (O-, platelets, 3, a deadline…)."""

    prefix: ClassVar[str] = "aplc"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in APPEAL_STEP_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)


# --- easy on a phone: the /drives new dialog and managing drives (issue 17, items 1 and 5) ---

DRIVE_MANAGE_ACTIONS = ("list", "edit", "cancel", "cancelok", "keep")


@dataclasses.dataclass(frozen=True)
class DriveManage(CallbackData):
    """👥 名单 / ✏️ 修改 / ⏹ 取消活动 on an organizer's drive card, and the cancellation's two
    answers."""

    prefix: ClassVar[str] = "drm"
    action: str
    drive_id: int

    def __post_init__(self) -> None:
        if self.action not in DRIVE_MANAGE_ACTIONS:
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class DriveList(CallbackData):
    """A page of a drive's donor list (◀ ▶, 👥 名单, ◀ 返回名单); pages count from 1."""

    prefix: ClassVar[str] = "drl"
    drive_id: int
    page: int


@dataclasses.dataclass(frozen=True)
class DriveDonor(CallbackData):
    """A donor's name on the list: their record buttons, in the same message."""

    prefix: ClassVar[str] = "drd"
    drive_id: int
    officer_id: int
    page: int


DRIVE_STEPS = (
    "start",
    "day",
    "keepday",
    "clock",
    "cap",
    "type",
    "alltypes",
    "typesdone",
    "notify",
    "confirm",
    "force",
    "cancel",
    "field",
)


@dataclasses.dataclass(frozen=True)
class DriveStep(CallbackData):
    """A button of the drive create / edit flow; `flow` ties it to the draft it was shown for
    ("0" on 安排献血活动, which starts one)."""

    prefix: ClassVar[str] = "drs"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in DRIVE_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)


# --- easy on a phone: the /blood record dialog, the interval warning (issue 17, items 1, 6) ---

BLOOD_RECORD_STEPS = ("pick", "component", "amount", "date", "confirm", "force", "cancel")


@dataclasses.dataclass(frozen=True)
class BloodRecordStep(CallbackData):
    """A button of the /blood record dialog; `flow` ties it to the draft it was shown for.

    `value`: the place of an officer in the draft's list (pick), a component, an amount, or
    how many days ago (date).
    """

    prefix: ClassVar[str] = "bldr"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in BLOOD_RECORD_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(r"[a-z0-9_]{0,16}", self.value):
            raise ValueError(self.value)


# --- easy on a phone: data that stays right (issue 17, item 6) ---

APPROVE_ACTIONS = ("unit", "page", "gender", "cancel")


@dataclasses.dataclass(frozen=True)
class ApproveStep(CallbackData):
    """A button of approving a stranger: a unit (its place in the draft's list), a page of
    units, a gender or 取消; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "bapp"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in APPROVE_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)


# --- nominations: retreats and honours (issue 12) ---


@dataclasses.dataclass(frozen=True)
class UnitContactPick(CallbackData):
    """An admin's choice of the unit an officer becomes (or stops being) a contact for.

    `unit_key` is handlers.roles.unit_key(unit): a short digest that fits any unit name in the
    64 bytes, matched again against the units offered when pressed.
    """

    prefix: ClassVar[str] = "ucp"
    officer_id: int
    unit_key: str
    grant: bool

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{10}", self.unit_key):
            raise ValueError(self.unit_key)


# --- member services: surveys (issue 13, item 3) ---

SURVEY_STEPS = (
    "template",
    "audience",
    "unit",
    "deadline",
    "mode",
    "kind",
    "optdone",
    "qdone",
    "confirm",
    "cancel",
)


@dataclasses.dataclass(frozen=True)
class SurveyStep(CallbackData):
    """A button of building a survey; `flow` ties it to the draft it was shown for, `value`
    is what it chooses (a template's key, an audience, a unit's place, days, a kind…)."""

    prefix: ClassVar[str] = "svs"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in SURVEY_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(r"[a-z0-9]{0,16}", self.value):
            raise ValueError(self.value)


SURVEY_FILL_ACTIONS = ("pick", "toggle", "next", "back", "submit", "later")


@dataclasses.dataclass(frozen=True)
class SurveyFill(CallbackData):
    """A button of answering a survey: an option (its place), 下一题, ◀ 上一题, 提交…; `flow`
    ties it to the answers it was shown for, `step` to the question it was shown at."""

    prefix: ClassVar[str] = "svf"
    flow: str
    action: str
    step: int
    value: int = 1

    def __post_init__(self) -> None:
        if self.action not in SURVEY_FILL_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)


SURVEY_ACTIONS = ("fill", "open", "list", "new", "results", "export", "close", "closeok")


@dataclasses.dataclass(frozen=True)
class SurveyAction(CallbackData):
    """开始填写 on a survey's announcement, and the organizers' list and panel (a survey,
    结果, 导出, 结束 and its confirmation); `survey_id` 1 where none is meant."""

    prefix: ClassVar[str] = "sva"
    action: str
    survey_id: int = 1

    def __post_init__(self) -> None:
        if self.action not in SURVEY_ACTIONS:
            raise ValueError(self.action)


# --- the year in figures: statistics, charts, the report (issue 16) ---

STATS_ACTIONS = ("year", "section", "report", "back")
STATS_SECTIONS = ("", "members", "care", "blood", "events", "clubs", "greetings", "bookings")


@dataclasses.dataclass(frozen=True)
class StatsPick(CallbackData):
    """A /stats button: a year picked (`year`), a section shown, the report, or back to the
    years. `scope` is "all" (the union: organizers) or the place, from 1, of a unit among the
    caller's contact units (authorised again on every press)."""

    prefix: ClassVar[str] = "sts"
    action: str
    year: int
    scope: str
    section: str = ""

    def __post_init__(self) -> None:
        if self.action not in STATS_ACTIONS or self.section not in STATS_SECTIONS:
            raise ValueError(self.action)
        if not 2000 <= self.year <= 2099:
            raise ValueError(self.year)
        if self.scope != "all" and not (self.scope.isdigit() and 1 <= int(self.scope) <= 99):
            raise ValueError(self.scope)


# --- nominations: the organizers' side (issue 12) ---

ROUND_STEPS = (
    "programme",
    "places",
    "unit",
    "quota",
    "reset",
    "quotasok",
    "opens",
    "closes",
    "skip",
    "batchplaces",
    "batchmore",
    "batchdrop",
    "batchdone",
    "allowance",
    "confirm",
    "cancel",
)
# A value in a button: a number, a policy's honour key (an ascii slug) or a programme.
_ROUND_VALUE = r"[a-z0-9_-]{0,32}"


@dataclasses.dataclass(frozen=True)
class RoundStep(CallbackData):
    """A button of opening a round (programme, places, a unit's quota, dates, batches, the
    allowance, 开启 / 取消); `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "nrs"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in ROUND_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(_ROUND_VALUE, self.value):
            raise ValueError(self.value)


ROUND_ADMIN_ACTIONS = (
    "show",
    "review",
    "approve",
    "return",
    "publish",
    "publishok",
    "objections",
    "keep",
    "remove",
    "finalize",
    "export",
)


@dataclasses.dataclass(frozen=True)
class RoundAdmin(CallbackData):
    """An organizer's button on a round: its card, review (通过 / 退回 a nomination: `item`
    is its id), 发布公示, objections (保留 / 撤下), 结束公示, the workbook."""

    prefix: ClassVar[str] = "nra"
    action: str
    round_id: int
    item: int = 1

    def __post_init__(self) -> None:
        if self.action not in ROUND_ADMIN_ACTIONS:
            raise ValueError(self.action)


ROUNDS_MENU_ACTIONS = ("panel", "new", "excl", "excladd")
ROUNDS_SCOPES = ("all", "retreat", "honour")


@dataclasses.dataclass(frozen=True)
class RoundsMenu(CallbackData):
    """The organizers' panel of rounds (of one programme, or all), ➕ 新一轮, 排除名单."""

    prefix: ClassVar[str] = "nrm"
    action: str
    scope: str = "all"

    def __post_init__(self) -> None:
        if self.action not in ROUNDS_MENU_ACTIONS or self.scope not in ROUNDS_SCOPES:
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class ExclusionLift(CallbackData):
    """解除 on an exclusion flag: the officer and the policy's honour key ("" for all)."""

    prefix: ClassVar[str] = "nxl"
    officer_id: int
    title: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(_ROUND_VALUE, self.title):
            raise ValueError(self.title)


ROUND_NOTE_ACTIONS = ("title", "cancel")


@dataclasses.dataclass(frozen=True)
class RoundNote(CallbackData):
    """A button while an organizer types a reason (退回, 保留, 撤下) or adds an exclusion flag
    (the title); `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "nrn"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in ROUND_NOTE_ACTIONS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(_ROUND_VALUE, self.value):
            raise ValueError(self.value)


# --- nominations: unit contacts and officers (issue 12) ---


@dataclasses.dataclass(frozen=True)
class NominationPublicity(CallbackData):
    """📋 公示名单: a round's published list, open to every bound officer (from /retreats,
    /honours and the organizers' publish notice)."""

    prefix: ClassVar[str] = "npub"
    round_id: int


@dataclasses.dataclass(frozen=True)
class NominationHome(CallbackData):
    """« 返回 to /retreats (`retreat`) or /honours (`honour`)."""

    prefix: ClassVar[str] = "nhome"
    programme: str

    def __post_init__(self) -> None:
        if self.programme not in ("retreat", "honour"):
            raise ValueError(self.programme)


NOMINATION_OFFICER_ACTIONS = ("show", "apply", "withdraw", "accept", "batch", "decline", "sure")


@dataclasses.dataclass(frozen=True)
class NominationAnswer(CallbackData):
    """An officer's own step: open their nomination (show), apply for a round (`target` the
    round), withdraw an application, accept, choose a batch (`batch_id`), decline and its
    confirmation (sure). The nomination is the caller's, checked again on the server."""

    prefix: ClassVar[str] = "nans"
    action: str
    target: int
    batch_id: int = 1

    def __post_init__(self) -> None:
        if self.action not in NOMINATION_OFFICER_ACTIONS:
            raise ValueError(self.action)


NOMINATION_UNIT_ACTIONS = ("unit", "page", "select", "draw", "drawok")


@dataclasses.dataclass(frozen=True)
class NominationUnit(CallbackData):
    """A unit contact's button for one unit in one round: its view, a page of candidates
    (`value` the page), choosing an applicant (`value` the nomination), the lottery and its
    confirmation. `unit_key` is handlers.roles.unit_key(unit), matched again against the
    caller's units on every press."""

    prefix: ClassVar[str] = "nunit"
    action: str
    round_id: int
    unit_key: str
    value: int = 1

    def __post_init__(self) -> None:
        if self.action not in NOMINATION_UNIT_ACTIONS:
            raise ValueError(self.action)
        if not re.fullmatch(r"[0-9a-f]{10}", self.unit_key):
            raise ValueError(self.unit_key)


@dataclasses.dataclass(frozen=True)
class NominationPick(CallbackData):
    """A candidate tapped on the contact's list: begins nominating them."""

    prefix: ClassVar[str] = "npick"
    round_id: int
    officer_id: int


@dataclasses.dataclass(frozen=True)
class NominateStep(CallbackData):
    """✅ 确认推荐 or 取消 while nominating; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "nstep"
    flow: str
    action: str

    def __post_init__(self) -> None:
        if self.action not in ("send", "cancel") or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class ObjectionStep(CallbackData):
    """提出异议 on a publicity list (`flow` "0", `value` the round), the nominee chosen
    (`value` the nomination), a page of the names (`value` the page, from 1), 提交 and 取消;
    `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "nobj"
    flow: str
    action: str
    value: int = 1

    def __post_init__(self) -> None:
        actions = ("start", "pick", "page", "send", "cancel")
        if self.action not in actions or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class HonourWall(CallbackData):
    """🏆 荣誉榜 of a year."""

    prefix: ClassVar[str] = "hwall"
    year: int


# --- member services: medical mutual aid (issue 13, item 1) ---

MUTUAL_AID_PANEL_ACTIONS = ("year", "scheme", "pending", "export", "add", "remove", "claim")


@dataclasses.dataclass(frozen=True)
class MutualAidPanel(CallbackData):
    """/mutualaid's buttons: a year's figures, a scheme's panel (`key`, the policy's scheme
    key), the pending claims, the export, and the starts of 加入 / 移出 / 登记理赔."""

    prefix: ClassVar[str] = "mai"
    action: str
    year: int
    key: str = ""

    def __post_init__(self) -> None:
        if self.action not in MUTUAL_AID_PANEL_ACTIONS:
            raise ValueError(self.action)
        if not 2000 <= self.year <= 2099 or not re.fullmatch(r"[a-z0-9-]{0,16}", self.key):
            raise ValueError(self.key)


MUTUAL_AID_CLAIM_ACTIONS = ("open", "pay", "refuse")


@dataclasses.dataclass(frozen=True)
class MutualAidClaimAction(CallbackData):
    """A claim's card (`open`) and the starts of deciding it: 已赔付 / 不予赔付."""

    prefix: ClassVar[str] = "mac"
    action: str
    claim_id: int

    def __post_init__(self) -> None:
        if self.action not in MUTUAL_AID_CLAIM_ACTIONS:
            raise ValueError(self.action)


MUTUAL_AID_STEPS = ("pick", "scheme", "date", "skip", "confirm", "pay", "cancel")


@dataclasses.dataclass(frozen=True)
class MutualAidStep(CallbackData):
    """A button of the /mutualaid dialogs; `flow` ties it to the draft it was shown for,
    `value` is what it chooses (a candidate's place, a scheme key, days ago)."""

    prefix: ClassVar[str] = "mas"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in MUTUAL_AID_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(r"[a-z0-9-]{0,16}", self.value):
            raise ValueError(self.value)


# --- member services: charity (issue 13, item 2) ---

CHARITY_BUILD_STEPS = ("year", "suggested", "audience", "unit", "end", "confirm", "cancel")


@dataclasses.dataclass(frozen=True)
class CharityStep(CallbackData):
    """A button of opening a campaign (its year, the default amounts, the audience, a unit's
    place, no end date, 发布 / 取消); `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "chs"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in CHARITY_BUILD_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(r"[a-z0-9]{0,16}", self.value):
            raise ValueError(self.value)


CHARITY_ACTIONS = (
    "show",
    "pledge",
    "mine",
    "list",
    "new",
    "record",
    "import",
    "export",
    "close",
    "closeok",
)


@dataclasses.dataclass(frozen=True)
class CharityAction(CallbackData):
    """A campaign's card, 我要认捐, 我的认捐, and the organizers' list and tools (新建, 登记缴款,
    导入缴款, 导出, 结束 and its confirmation); `campaign_id` 1 where none is meant."""

    prefix: ClassVar[str] = "cha"
    action: str
    campaign_id: int = 1

    def __post_init__(self) -> None:
        if self.action not in CHARITY_ACTIONS:
            raise ValueError(self.action)


CHARITY_GIVE_STEPS = ("amount", "daily", "dailyamt", "days", "confirm", "cancel")


@dataclasses.dataclass(frozen=True)
class CharityGive(CallbackData):
    """A button of pledging: a suggested amount (`value` yuan), 每天 X 元 × N 天 and its
    sums and days, 确认 / 取消; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "chg"
    flow: str
    action: str
    value: int = 1

    def __post_init__(self) -> None:
        if self.action not in CHARITY_GIVE_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)


CHARITY_RECORD_STEPS = ("pick", "amount", "day", "confirm", "cancel")


@dataclasses.dataclass(frozen=True)
class CharityRecord(CallbackData):
    """A button of recording a payment by hand: an officer picked among those named alike
    (`value` their place, from 1), the pledged sum, 今天 / 昨天 (`value` 1 / 2), 确认登记 /
    取消; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "chr"
    flow: str
    action: str
    value: int = 1

    def __post_init__(self) -> None:
        if self.action not in CHARITY_RECORD_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class CharityImport(CallbackData):
    """A button of importing a payment file: 只导入正确的行 after a file with bad lines, or
    取消; `flow` ties it to the draft (the file) it was shown for."""

    prefix: ClassVar[str] = "chi"
    flow: str
    action: str

    def __post_init__(self) -> None:
        if self.action not in ("skip", "cancel") or not self.flow.isalnum():
            raise ValueError(self.action)


# --- member services: distributions (issue 13, item 4) ---

DISTRIBUTION_STEPS = (
    "mode",
    "each",
    "audience",
    "unit",
    "edit",
    "set",
    "allocok",
    "skipnote",
    "confirm",
    "cancel",
)


@dataclasses.dataclass(frozen=True)
class DistributionStep(CallbackData):
    """A button of creating a distribution; `flow` ties it to the draft it was shown for,
    `value` is what it chooses (a mode, an audience, a unit's place, a number…)."""

    prefix: ClassVar[str] = "dbs"
    flow: str
    action: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.action not in DISTRIBUTION_STEPS or not self.flow.isalnum():
            raise ValueError(self.action)
        if not re.fullmatch(r"[a-z0-9]{0,16}", self.value):
            raise ValueError(self.value)


DISTRIBUTION_ACTIONS = (
    "collect",
    "units",
    "open",
    "list",
    "new",
    "outstanding",
    "remind",
    "export",
    "close",
    "closeok",
)


@dataclasses.dataclass(frozen=True)
class DistributionAction(CallbackData):
    """已领取 and 确认收到 under a notice, and the organizers' list and panel (a distribution,
    未完成名单, 提醒, 导出, 结束 and its confirmation); `distribution_id` 1 where none is meant."""

    prefix: ClassVar[str] = "dba"
    action: str
    distribution_id: int = 1

    def __post_init__(self) -> None:
        if self.action not in DISTRIBUTION_ACTIONS:
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class DistributionUnitPress(CallbackData):
    """已收到 N 份 (`full`) or 部分收到 (`partial`) for one unit's share (`row_id`); who may
    confirm for the unit is checked again on the server."""

    prefix: ClassVar[str] = "dbu"
    action: str
    row_id: int

    def __post_init__(self) -> None:
        if self.action not in ("full", "partial"):
            raise ValueError(self.action)


@dataclasses.dataclass(frozen=True)
class DistributionReceiptStep(CallbackData):
    """取消 while typing a partial receipt; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "dbr"
    flow: str
    action: str

    def __post_init__(self) -> None:
        if self.action != "cancel" or not self.flow.isalnum():
            raise ValueError(self.action)
