"""Scheduling and managing blood drives by taps (issue 17, items 1 and 5), for organizers.

New (`/drives new`, or ➕ 安排献血活动 under the organizer's /drives): day (今天 / 明天 / 后天 or
typed as people type it: 12月5日, 12-5) → start time (common times, or 8点, 14:30) → place →
places (common numbers, or typed, full-width digits too) → wanted blood types (A / B / O / AB
toggled, 全部, 完成) → preview (发布, 通知符合条件的会员 on or off with how many it reaches,
取消). A drive at the very start and place of an open one is warned of on the preview, and
publishing it takes a second press (仍然发布). `/drives new 日期 时间 地点 名额 [血型]` written in
full still schedules at once (handlers/drives.py `create_now`), unless it repeats an open drive:
then its preview, with the warning. Written in part, the dialog asks for the rest.

Published with the toggle on: the drive and an ANNOUNCEMENT broadcast to the officers who may
sign up for it (active, bound, the wanted blood type, eligible on its day by the blood policy:
handlers/drives.py `refusal_for`, the sign-up's own rule), each message with 报名, are written in
one transaction; the sender delivers after the commit.

On an organizer's drive card: 👥 名单 (the paged donor list, handlers/drives.py), ✏️ 修改 (the
field → its new value, with the same buttons and forgiving input → preview → 确认修改; everyone
signed up or waiting is told; places cannot drop below those signed up, and more places move
people up from the waitlist, who are told) and ⏹ 取消活动 (asked once more; the drive takes no
more sign-ups, its reminders stop, everyone signed up or waiting is told).

A flow (handlers/flow.py): each step commits its state and draft before its prompt, the final
press takes the preview row in the transaction that writes, so a double press acts once; every
press and message is authorised again (organizer role), and a button of an older draft or step
expires.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import texts
from bot.policy import BloodPolicy
from bot.rules.events import notice_is_urgent
from bot.rules.forgiving import Lean, normalise, parse_clock, parse_day
from bot.rules.horizon import beyond_horizon, horizon
from bot.rules.text import clean, meaningful, quote
from handlers import drives, menu
from handlers.access import Access, pressed
from handlers.callbacks import DriveManage, DriveStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    prompt,
    reply,
    show_step,
    typed_command,
)
from handlers.context import services, union_today
from handlers.drives import (
    MAX_CAPACITY,
    MAX_PLACE,
    NEW_WORDS,
    ArgumentError,
    Incomplete,
    card_markup,
    card_text,
    donations_of,
    refusal_for,
    types_text,
    when_text,
)
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts, officers
from storage import drives as drive_storage
from storage.broadcasts import Recipient
from storage.drives import BLOOD_GROUPS, DriveView
from storage.models import BloodDrive, BroadcastKind, DriveStatus, Priority
from storage.types import utcnow

log = logging.getLogger(__name__)

NAME = "drive_admin"

# Organizers and admins schedule and manage drives. A press by anyone else is a forged or
# outdated privileged press: refused and audited.
MANAGER: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.drive_manage",
    target=lambda data: f"drive:{getattr(data, 'drive_id', 'new')}",
)
BUTTONS_PER_ROW = 3


class State(StrEnum):
    """The steps of a new drive (an edit goes through the one step of its field)."""

    DAY = "day"
    TIME = "time"
    PLACE = "place"
    CAPACITY = "capacity"
    TYPES = "types"
    PREVIEW = "preview"
    FIELD = "field"
    EDIT_PREVIEW = "edit_preview"


# The step an edited field is asked at first.
FIELD_STEPS = {
    "when": State.DAY,
    "place": State.PLACE,
    "capacity": State.CAPACITY,
    "types": State.TYPES,
}


@dataclass(frozen=True)
class DriveDraft(Draft):
    """A new drive so far, or one edit of a drive (`drive_id`, `field`, the new value)."""

    day: str = ""  # the local date chosen, ISO; "" until chosen
    starts_at: datetime | None = None
    place: str = ""
    capacity: int = 0
    types: tuple[str, ...] = ()
    notify: bool = True
    warned: int = 0  # the open drive at the same start and place 仍然发布 was asked for
    drive_id: int = 0
    field: str = ""

    @property
    def editing(self) -> bool:
        """True for an edit of a published drive."""
        return self.drive_id > 0


def _ready(state: State, draft: DriveDraft) -> bool:
    """True if the draft holds what its step needs."""
    if draft.editing:
        if state == State.FIELD:
            return True
        if draft.field not in FIELD_STEPS:
            return False
        if state == State.EDIT_PREVIEW:
            return {
                "when": draft.starts_at is not None,
                "place": bool(draft.place),
                "capacity": draft.capacity > 0,
                "types": True,
            }[draft.field]
        if state == State.TIME:
            return draft.field == "when" and bool(draft.day)
        return FIELD_STEPS[draft.field] == state
    filled = {
        State.DAY: True,
        State.TIME: bool(draft.day),
        State.PLACE: draft.starts_at is not None,
        State.CAPACITY: draft.starts_at is not None and bool(draft.place),
        State.TYPES: draft.starts_at is not None and bool(draft.place) and draft.capacity > 0,
    }
    filled[State.PREVIEW] = filled[State.TYPES]
    return filled.get(state, False)


FLOW = Flow(NAME, State, DriveDraft, DriveStep, access=MANAGER, ready=_ready)
Press = Pressed[State, DriveDraft, DriveStep]
Text = Typed[State, DriveDraft]


class InputError(ValueError):
    """A typed or pressed value that cannot be used; the text says why (and the step stays)."""


# --- keyboards ------------------------------------------------------------------------------


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=DriveStep(flow, action, value).pack())


def _rows(buttons: list[InlineKeyboardButton], per_row: int = BUTTONS_PER_ROW) -> list[list[Any]]:
    return [buttons[start : start + per_row] for start in range(0, len(buttons), per_row)]


def _cancel_row(flow: str) -> list[InlineKeyboardButton]:
    return [_button(texts.DRIVE_DISCARD_BUTTON, flow, "cancel")]


def _day_markup(draft: DriveDraft, today: date, current: date | None) -> InlineKeyboardMarkup:
    flow = draft.flow
    days = [
        _button(label, flow, "day", (today + timedelta(days=offset)).isoformat())
        for label, offset in texts.DRIVE_DAY_BUTTONS
    ]
    rows = _rows(days)
    if current is not None:
        keep = texts.DRIVE_KEEP_DAY_BUTTON.format(date=current.isoformat())
        rows.insert(0, [_button(keep, flow, "keepday")])
    return InlineKeyboardMarkup([*rows, _cancel_row(flow)])


def _time_markup(flow: str) -> InlineKeyboardMarkup:
    clocks = [
        _button(label, flow, "clock", label.replace(":", "")) for label in texts.DRIVE_TIME_BUTTONS
    ]
    return InlineKeyboardMarkup([*_rows(clocks), _cancel_row(flow)])


def _capacity_markup(flow: str) -> InlineKeyboardMarkup:
    numbers = [_button(str(n), flow, "cap", str(n)) for n in texts.DRIVE_CAPACITY_BUTTONS]
    return InlineKeyboardMarkup([*_rows(numbers, 5), _cancel_row(flow)])


def _types_markup(draft: DriveDraft) -> InlineKeyboardMarkup:
    flow = draft.flow
    groups = [
        _button(
            (texts.DRIVE_TYPE_CHOSEN if group in draft.types else texts.DRIVE_TYPE_BUTTON).format(
                group=group
            ),
            flow,
            "type",
            group,
        )
        for group in BLOOD_GROUPS
    ]
    return InlineKeyboardMarkup(
        [
            groups,
            [
                _button(texts.DRIVE_ALL_TYPES_BUTTON, flow, "alltypes"),
                _button(texts.DRIVE_TYPES_DONE_BUTTON, flow, "typesdone"),
            ],
            _cancel_row(flow),
        ]
    )


def _field_markup(flow: str) -> InlineKeyboardMarkup:
    fields = [_button(label, flow, "field", name) for name, label in texts.DRIVE_FIELD_BUTTONS]
    return InlineKeyboardMarkup([*_rows(fields, 2), _cancel_row(flow)])


def _preview_markup(draft: DriveDraft, *, anyway: bool = False) -> InlineKeyboardMarkup:
    flow = draft.flow
    if anyway:
        return InlineKeyboardMarkup(
            [
                [
                    _button(texts.DRIVE_PUBLISH_ANYWAY_BUTTON, flow, "force"),
                    _button(texts.DRIVE_DISCARD_BUTTON, flow, "cancel"),
                ]
            ]
        )
    toggle = texts.DRIVE_NOTIFY_ON_BUTTON if draft.notify else texts.DRIVE_NOTIFY_OFF_BUTTON
    return InlineKeyboardMarkup(
        [
            [_button(texts.DRIVE_PUBLISH_BUTTON, flow, "confirm")],
            [_button(toggle, flow, "notify", "0" if draft.notify else "1")],
            _cancel_row(flow),
        ]
    )


def _edit_preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.DRIVE_EDIT_CONFIRM_BUTTON, flow, "confirm"),
                _button(texts.DRIVE_DISCARD_BUTTON, flow, "cancel"),
            ]
        ]
    )


# --- the questions --------------------------------------------------------------------------


def _day_of(draft: DriveDraft) -> date | None:
    try:
        return date.fromisoformat(draft.day) if draft.day else None
    except ValueError:
        return None


def _date_text(day: date) -> str:
    return f"{day.isoformat()}（{texts.WEEKDAYS[day.weekday()]}）"


def _drive_day(drive: BloodDrive, zone: ZoneInfo) -> date:
    return drive.starts_at.astimezone(zone).date()


def _question(
    context: Context, state: State, draft: DriveDraft
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A value step's question and buttons (the previews are built from the database)."""
    flow = draft.flow
    if state == State.DAY:
        current = None
        if draft.editing:
            with services(context).database.session() as session:
                drive = drive_storage.get(session, draft.drive_id)
            current = _drive_day(drive, services(context).zone) if drive else None
        ask = texts.DRIVE_ASK_DAY_EDIT if draft.editing else texts.DRIVE_ASK_DAY
        return ask, _day_markup(draft, union_today(context), current)
    if state == State.TIME:
        day = _day_of(draft)
        shown = _date_text(day) if day else ""
        return texts.DRIVE_ASK_TIME.format(date=shown), _time_markup(flow)
    if state == State.PLACE:
        return texts.DRIVE_ASK_PLACE.format(limit=MAX_PLACE), InlineKeyboardMarkup(
            [_cancel_row(flow)]
        )
    if state == State.CAPACITY:
        return texts.DRIVE_ASK_CAPACITY, _capacity_markup(flow)
    if state == State.TYPES:
        chosen = (
            texts.DRIVE_TYPES_CHOSEN.format(types="、".join(draft.types))
            if draft.types
            else texts.DRIVE_TYPES_NONE
        )
        return texts.DRIVE_ASK_TYPES.format(chosen=chosen), _types_markup(draft)
    return "", _field_markup(flow)  # State.FIELD, whose text names the drive


async def _ask(
    update: Update, context: Context, state: State, draft: DriveDraft, lead: str = ""
) -> State | int:
    """Commit the step, then ask its question (previews are shown by their own functions)."""
    if state == State.PREVIEW:
        return await _preview(update, context, draft, lead)
    if state == State.EDIT_PREVIEW:
        return await _edit_preview(update, context, draft, lead)
    text, markup = _question(context, state, draft)
    return await FLOW.advance(update, context, state, draft, lead + text, markup)


def _next(state: State, draft: DriveDraft) -> State:
    """Where a new drive goes after `state`; an edit goes to its preview."""
    if draft.editing:
        return State.TIME if state == State.DAY else State.EDIT_PREVIEW
    if state == State.DAY:
        return State.TIME
    if state == State.TIME:
        # Back from a preview whose time passed: everything else is there already.
        return State.PREVIEW if draft.place and draft.capacity else State.PLACE
    return {
        State.PLACE: State.CAPACITY,
        State.CAPACITY: State.TYPES,
        State.TYPES: State.PREVIEW,
    }[state]


# --- reading values -------------------------------------------------------------------------


def _read_day(text: str, today: date) -> date:
    day = parse_day(text, today, lean=Lean.FUTURE)
    if day is None:
        raise InputError(texts.DRIVE_BAD_DAY.format(token=quote(text)))
    if day < today:
        raise InputError(texts.DRIVE_DAY_PAST.format(date=day.isoformat()))
    if beyond_horizon(day, today):
        raise InputError(
            texts.DRIVE_TOO_FAR.format(date=day.isoformat(), latest=horizon(today).isoformat())
        )
    return day


def _start_at(day: date, clock: time, zone: ZoneInfo, now: datetime) -> datetime:
    local = datetime.combine(day, clock, tzinfo=zone)
    if local <= now:
        raise InputError(texts.DRIVE_PAST.format(when=when_text(local, zone)))
    return local.astimezone(UTC)


def _read_place(text: str) -> str:
    place = clean(text)
    if not meaningful(place):
        raise InputError(texts.TEXT_INVISIBLE_PLACE.strip())
    if len(place) > MAX_PLACE:
        raise InputError(texts.DRIVE_PLACE_TOO_LONG.format(limit=MAX_PLACE).strip())
    return place


def _read_capacity(text: str) -> int:
    token = normalise(text)
    whole = token.isascii() and token.isdigit() and len(token) <= 9
    if not whole or not 1 <= int(token) <= MAX_CAPACITY:
        raise InputError(texts.DRIVE_BAD_NUMBER.format(token=quote(token)))
    return int(token)


def _check_capacity(context: Context, draft: DriveDraft, capacity: int) -> None:
    """An edit may not leave fewer places than those signed up."""
    if not draft.editing:
        return
    with services(context).database.session() as session:
        signed = drive_storage.signed_count(session, draft.drive_id)
    if capacity < signed:
        raise InputError(texts.DRIVE_BELOW_SIGNED.format(signed=signed))


# --- new drive ------------------------------------------------------------------------------


def _prefilled(tokens: list[str], context: Context) -> DriveDraft:
    """What a one-line `/drives new` written in part already says: its day, then its time."""
    draft = DriveDraft(FLOW.token())
    today, zone = union_today(context), services(context).zone
    try:
        day = _read_day(tokens[0], today) if tokens else None
    except InputError:
        return draft
    if day is None:
        return draft
    draft = dataclasses.replace(draft, day=day.isoformat())
    clock = parse_clock(tokens[1]) if len(tokens) > 1 else None
    if clock is None:
        return draft
    try:
        return dataclasses.replace(draft, starts_at=_start_at(day, clock, zone, utcnow()))
    except InputError:
        return draft


def _first_step(draft: DriveDraft) -> State:
    if draft.starts_at is not None:
        return State.PLACE
    return State.TIME if draft.day else State.DAY


@FLOW.entry()
async def new_command(update: Update, context: Context, caller: Caller) -> State | int:
    """/drives new [日期 时间 地点 名额 [血型]]: the dialog, or the one-line shortcut."""
    tokens = typed_command(update).split()[2:]
    if not tokens:
        return await _begin(update, context, DriveDraft(FLOW.token()))
    zone = services(context).zone
    try:
        starts_at, place, capacity, types = drives.parse_new(tokens, now=utcnow(), zone=zone)
    except Incomplete:
        lead = texts.DRIVE_NEW_FROM_LINE
        return await _begin(update, context, _prefilled(tokens, context), lead)
    except ArgumentError as exc:
        await reply(update, context, str(exc))
        return END
    with services(context).database.session() as session:
        repeated = bool(drive_storage.duplicates(session, starts_at, place))
    if repeated:
        # The shortcut never publishes a second drive at one time and place unasked.
        draft = DriveDraft(
            FLOW.token(),
            day=starts_at.astimezone(zone).date().isoformat(),
            starts_at=starts_at,
            place=place,
            capacity=capacity,
            types=tuple(types),
        )
        FLOW.begin(update, context, State.PREVIEW, draft)
        return await _preview(update, context, draft)
    FLOW.forget(update, context)
    await drives.create_now(update, context, caller, starts_at, place, capacity, types)
    return END


@FLOW.entry_press(DriveStep, MANAGER, accept=lambda step: step.action == "start")
async def start_pressed(
    update: Update, context: Context, _step: DriveStep, _caller: Caller
) -> State | int:
    """➕ 安排献血活动 under the organizer's /drives: the dialog, as a new message."""
    await answer(update)
    draft = DriveDraft(FLOW.token())
    FLOW.begin(update, context, State.DAY, draft)
    text, markup = _question(context, State.DAY, draft)
    await prompt(update, context, text, markup)
    return State.DAY


async def _begin(
    update: Update, context: Context, draft: DriveDraft, lead: str = ""
) -> State | int:
    """Start a new draft (it replaces any flow left half-way) at its first empty step."""
    state = _first_step(draft)
    FLOW.begin(update, context, state, draft)
    return await _ask(update, context, state, draft, lead)


async def _day(update: Update, context: Context, draft: DriveDraft, day: date) -> State | int:
    chosen = dataclasses.replace(draft, day=day.isoformat(), starts_at=None)
    return await _ask(update, context, _next(State.DAY, chosen), chosen)


async def _day_pressed(update: Update, context: Context, turn: Press) -> State | int | None:
    """今天 / 明天 / 后天: the date the button was shown with, if it is still ahead."""
    try:
        day = _read_day(turn.data.value, union_today(context))
    except InputError:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _day(update, context, turn.draft, day)


async def _keep_day(update: Update, context: Context, turn: Press) -> State | int | None:
    """日期不变 (an edit of the time): the drive's own day."""
    with services(context).database.session() as session:
        drive = drive_storage.get(session, turn.draft.drive_id)
    if drive is None or not turn.draft.editing:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _day(update, context, turn.draft, _drive_day(drive, services(context).zone))


async def _clock(update: Update, context: Context, draft: DriveDraft, clock: time) -> State | int:
    day = _day_of(draft)
    assert day is not None  # the time step's draft holds its day (_ready)
    starts_at = _start_at(day, clock, services(context).zone, utcnow())
    chosen = dataclasses.replace(draft, starts_at=starts_at)
    return await _ask(update, context, _next(State.TIME, chosen), chosen)


async def _refused_value(update: Update, context: Context, turn: Press, problem: str) -> None:
    """A pressed value that does not hold (a time already past, places below those signed up):
    said, with the step's question and buttons again."""
    question, markup = _question(context, turn.state, turn.draft)
    await FLOW.show(update, context, f"{problem}\n\n{question}", markup)


async def _clock_pressed(update: Update, context: Context, turn: Press) -> State | int | None:
    value = turn.data.value
    clock = parse_clock(f"{value[:2]}:{value[2:]}") if len(value) == 4 else None
    if clock is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    try:
        return await _clock(update, context, turn.draft, clock)
    except InputError as exc:
        await _refused_value(update, context, turn, str(exc))
        return None


async def _capacity(
    update: Update, context: Context, draft: DriveDraft, capacity: int
) -> State | int:
    _check_capacity(context, draft, capacity)
    chosen = dataclasses.replace(draft, capacity=capacity)
    return await _ask(update, context, _next(State.CAPACITY, chosen), chosen)


async def _capacity_pressed(update: Update, context: Context, turn: Press) -> State | int | None:
    try:
        capacity = _read_capacity(turn.data.value)
    except InputError:
        await answer(update, texts.STALE_BUTTON)
        return None
    try:
        return await _capacity(update, context, turn.draft, capacity)
    except InputError as exc:
        await _refused_value(update, context, turn, str(exc))
        return None


async def _type_toggled(update: Update, context: Context, turn: Press) -> State | int | None:
    """A blood type pressed: chosen if it was not, dropped if it was; the step stays."""
    group, draft = turn.data.value, turn.draft
    if group not in BLOOD_GROUPS:
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = set(draft.types) ^ {group}
    types = tuple(g for g in BLOOD_GROUPS if g in chosen)
    return await _ask(update, context, State.TYPES, dataclasses.replace(draft, types=types))


async def _all_types(update: Update, context: Context, turn: Press) -> State | int:
    chosen = dataclasses.replace(turn.draft, types=())
    return await _ask(update, context, _next(State.TYPES, chosen), chosen)


async def _types_done(update: Update, context: Context, turn: Press) -> State | int:
    return await _ask(update, context, _next(State.TYPES, turn.draft), turn.draft)


async def _field_chosen(update: Update, context: Context, turn: Press) -> State | int | None:
    """Which field of the drive to change: its step, the current blood types already chosen."""
    field = turn.data.value
    if field not in FIELD_STEPS:
        await answer(update, texts.STALE_BUTTON)
        return None
    with services(context).database.session() as session:
        drive = drive_storage.get(session, turn.draft.drive_id)
    if drive is None or not _open(drive):
        return await _gone(update, context)
    types = tuple(drive_storage.wanted_types(drive)) if field == "types" else ()
    chosen = dataclasses.replace(turn.draft, field=field, types=types)
    return await _ask(update, context, FIELD_STEPS[field], chosen)


def _typed(
    read: Callable[[Update, Context, DriveDraft, str], Awaitable[State | int]],
) -> Callable[[Update, Context, Text], Awaitable[object]]:
    """A value typed at a step: read, then the next step; a bad value is said and the step
    asked again, with its buttons."""

    async def received(update: Update, context: Context, turn: Text) -> object:
        text = turn.message.text
        if text is None:
            await prompt(update, context, texts.DRIVE_TEXT_ONLY)
            return None
        try:
            return await read(update, context, turn.draft, text)
        except InputError as exc:
            question, markup = _question(context, turn.state, turn.draft)
            await prompt(update, context, f"{exc}\n\n{question}", markup)
            return None

    return received


async def _day_typed(update: Update, context: Context, draft: DriveDraft, text: str) -> State | int:
    return await _day(update, context, draft, _read_day(text, union_today(context)))


async def _time_typed(
    update: Update, context: Context, draft: DriveDraft, text: str
) -> State | int:
    clock = parse_clock(text)
    if clock is None:
        raise InputError(texts.DRIVE_BAD_CLOCK.format(token=quote(text)))
    return await _clock(update, context, draft, clock)


async def _place_typed(
    update: Update, context: Context, draft: DriveDraft, text: str
) -> State | int:
    chosen = dataclasses.replace(draft, place=_read_place(text))
    return await _ask(update, context, _next(State.PLACE, chosen), chosen)


async def _capacity_typed(
    update: Update, context: Context, draft: DriveDraft, text: str
) -> State | int:
    return await _capacity(update, context, draft, _read_capacity(text))


async def _types_typed(
    update: Update, context: Context, draft: DriveDraft, text: str
) -> State | int:
    """O,A typed at the blood types step: as if chosen and 完成 pressed."""
    try:
        types = drives.parse_types(normalise(text))
    except ArgumentError:
        raise InputError(texts.DRIVE_USE_BUTTONS) from None
    chosen = dataclasses.replace(draft, types=tuple(g for g in BLOOD_GROUPS if g in types))
    return await _ask(update, context, _next(State.TYPES, chosen), chosen)


async def _repeat_step(update: Update, context: Context, turn: Text) -> None:
    """Text typed where a button is wanted: which one, with the step's buttons again."""
    draft = turn.draft
    if turn.state == State.PREVIEW:
        markup = _preview_markup(draft, anyway=bool(draft.warned))
    elif turn.state == State.EDIT_PREVIEW:
        markup = _edit_preview_markup(draft.flow)
    else:
        markup = _field_markup(draft.flow)
    await prompt(update, context, texts.DRIVE_USE_BUTTONS, markup)


# --- the preview and publishing -------------------------------------------------------------


def _draft_drive(draft: DriveDraft) -> BloodDrive:
    """The drive the new-drive draft describes, unsaved."""
    assert draft.starts_at is not None  # the preview's draft holds it (_ready)
    return BloodDrive(
        starts_at=draft.starts_at,
        place=draft.place,
        capacity=draft.capacity,
        blood_types_wanted=",".join(draft.types),
        created_by="",
    )


def eligible(
    session: Session, drive: BloodDrive, zone: ZoneInfo, policy: BloodPolicy
) -> list[Recipient]:
    """The officers who may sign up for this drive, by the sign-up's own rule: active, bound,
    the wanted blood type, and eligible to give whole blood on its day."""
    wanted = drive_storage.wanted_types(drive)
    on = _drive_day(drive, zone)
    return [
        candidate.recipient
        for candidate in drive_storage.candidates(session, wanted)
        if not refusal_for(candidate.officer, wanted, on, donations_of(candidate.history), policy)
    ]


async def _preview(update: Update, context: Context, draft: DriveDraft, lead: str = "") -> State:
    """The drive as it will be published, who would be told, a warning if it repeats one."""
    found = services(context)
    drive = _draft_drive(draft)
    with found.database.session() as session:
        count = len(eligible(session, drive, found.zone, found.policy.blood))
        repeated = drive_storage.duplicates(session, drive.starts_at, drive.place)
        signed = drive_storage.signed_count(session, repeated[0].id or 0) if repeated else 0
    notice = texts.DRIVE_NOTICE_ON.format(count=count) if draft.notify else texts.DRIVE_NOTICE_OFF
    text = texts.DRIVE_PREVIEW.format(
        when=when_text(drive.starts_at, found.zone),
        place=drive.place,
        types=types_text(drive),
        capacity=drive.capacity,
        notice=notice,
    )
    if repeated:
        text += texts.DRIVE_DUPLICATE.format(id=repeated[0].id, signed=signed)
    fresh = dataclasses.replace(draft, warned=0)
    return await FLOW.preview(
        update, context, State.PREVIEW, fresh, lead + text, _preview_markup(fresh)
    )


async def _notify_toggled(update: Update, context: Context, turn: Press) -> State:
    """通知符合条件的会员 on or off: the preview again, with the other choice."""
    notify_on = turn.data.value == "1"
    return await _preview(update, context, dataclasses.replace(turn.draft, notify=notify_on))


@dataclass
class _Published:
    """What 发布 did inside its transaction."""

    outcome: str  # "stale", "past", "repeated" or "done"
    drive: BloodDrive | None = None
    told: int = 0
    repeated: int = 0  # the open drive at the same start and place (read before the rollback)
    signed: int = 0


def _publish_in(
    session: Session, draft: DriveDraft, caller: Caller, forced: bool, context: Context
) -> _Published:
    """The drive, its announcement and the audit entry; or why not (rolled back by the caller)."""
    found = services(context)
    drive = _draft_drive(draft)
    if drive.starts_at <= utcnow():
        return _Published("past")
    repeated = drive_storage.duplicates(session, drive.starts_at, drive.place)
    # 仍然发布 stands for the drive it was asked about; another one is asked about again.
    if repeated and not (forced and draft.warned == repeated[0].id):
        signed = drive_storage.signed_count(session, repeated[0].id or 0)
        return _Published("repeated", repeated=repeated[0].id or 0, signed=signed)
    created = drive_storage.create(
        session,
        starts_at=drive.starts_at,
        place=drive.place,
        capacity=drive.capacity,
        blood_types_wanted=drive.blood_types_wanted,
        created_by=caller.actor,
    )
    assert created.id is not None
    told = 0
    if draft.notify:
        recipients = eligible(session, created, found.zone, found.policy.blood)
        if recipients:
            view = DriveView(created, signed=0, waitlisted=0)
            announcement = broadcasts.create(
                session,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=Priority.NORMAL,
                text=texts.DRIVE_ANNOUNCEMENT.format(card=card_text(view, found.zone)),
                recipients=recipients,
                created_by=caller.actor,
                buttons=card_markup(view).to_json(),
                expires_at=created.starts_at,
            )
            told = announcement.total
            assert announcement.id is not None
            drive_storage.link_announcement(session, created.id, announcement.id)
    audit.record(
        session,
        actor=caller.actor,
        action="drive.create",
        target=f"drive:{created.id}",
        told=told,
        repeated=bool(repeated),
    )
    return _Published("done", created, told)


async def _publish(update: Update, context: Context, turn: Press) -> State | int | None:
    """发布 (or 仍然发布): the drive and its announcement in one transaction, then the sender."""
    forced = turn.data.action == "force"
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is None:
            published = _Published("stale")
        else:
            published = _publish_in(session, draft, turn.caller, forced, context)
            if published.outcome != "done":
                session.rollback()
    if draft is None:
        await FLOW.expire(update)
        return None
    if published.outcome == "past":
        # The preview sat open until its time passed: back to the day.
        fresh = dataclasses.replace(draft, day="", starts_at=None)
        zone = services(context).zone
        assert draft.starts_at is not None
        lead = texts.DRIVE_PAST.format(when=when_text(draft.starts_at, zone)) + "\n\n"
        return await _ask(update, context, State.DAY, fresh, lead)
    if published.outcome == "repeated":
        warned = dataclasses.replace(draft, warned=published.repeated)
        text = texts.DRIVE_DUPLICATE_ASK.format(id=published.repeated, signed=published.signed)
        markup = _preview_markup(warned, anyway=True)
        return await FLOW.advance(update, context, State.PREVIEW, warned, text, markup)
    drive = published.drive
    assert drive is not None
    zone = services(context).zone
    done = texts.DRIVE_PUBLISHED.format(
        id=drive.id,
        when=when_text(drive.starts_at, zone),
        place=drive.place,
        capacity=drive.capacity,
        types=types_text(drive),
    )
    told = (
        texts.DRIVE_PUBLISHED_TOLD.format(count=published.told)
        if published.told
        else texts.DRIVE_PUBLISHED_SILENT
    )
    await answer(update)
    await show_step(update, context, done + "\n" + told)
    # Woken after the organizer's own confirmation, so theirs comes first in their chat.
    if published.told:
        services(context).broadcaster.wake()
    return END


# --- editing --------------------------------------------------------------------------------


def _open(drive: BloodDrive) -> bool:
    return drive.status == DriveStatus.OPEN and drive.starts_at > utcnow()


async def _gone(update: Update, context: Context) -> int:
    """The drive started or was cancelled meanwhile: the edit ends."""
    FLOW.forget(update, context)
    if update.callback_query is not None:
        await answer(update, texts.DRIVE_GONE, alert=True)
    else:
        await prompt(update, context, texts.DRIVE_GONE)
    return END


@FLOW.entry_press(DriveManage, MANAGER, accept=lambda manage: manage.action == "edit")
async def start_edit(
    update: Update, context: Context, manage: DriveManage, _caller: Caller
) -> State | int:
    """✏️ 修改 on a drive's card: which field to change, as a new message under the card."""
    zone = services(context).zone
    with services(context).database.session() as session:
        drive = drive_storage.get(session, manage.drive_id)
    if drive is None or drive.id is None:
        await answer(update, texts.STALE_BUTTON)
        return END
    if not _open(drive):
        return await _gone(update, context)
    draft = DriveDraft(FLOW.token(), drive_id=drive.id)
    FLOW.begin(update, context, State.FIELD, draft)
    await answer(update)
    text = texts.DRIVE_ASK_FIELD.format(
        id=drive.id, when=when_text(drive.starts_at, zone), place=drive.place
    )
    await prompt(update, context, text, _field_markup(draft.flow))
    return State.FIELD


def _value_text(field: str, drive: BloodDrive, zone: ZoneInfo) -> str:
    """A field of a drive as the organizer and the officers read it."""
    if field == "when":
        return when_text(drive.starts_at, zone)
    if field == "place":
        return drive.place
    if field == "capacity":
        return texts.DRIVE_CAPACITY_VALUE.format(capacity=drive.capacity)
    return types_text(drive)


def _changed(drive: BloodDrive, draft: DriveDraft) -> BloodDrive:
    """The drive as the edit would leave it, unsaved."""
    return BloodDrive(
        id=drive.id,
        starts_at=draft.starts_at if draft.field == "when" and draft.starts_at else drive.starts_at,
        place=draft.place if draft.field == "place" else drive.place,
        capacity=draft.capacity if draft.field == "capacity" else drive.capacity,
        blood_types_wanted=(
            ",".join(draft.types) if draft.field == "types" else drive.blood_types_wanted
        ),
        status=drive.status,
        created_by=drive.created_by,
    )


async def _edit_preview(
    update: Update, context: Context, draft: DriveDraft, lead: str = ""
) -> State | int:
    """The change (old → new) and how many will be told; 确认修改 / 取消."""
    zone = services(context).zone
    with services(context).database.session() as session:
        drive = drive_storage.get(session, draft.drive_id)
        count = len(drive_storage.concerned(session, draft.drive_id)) if drive else 0
    if drive is None or not _open(drive):
        return await _gone(update, context)
    changed = _changed(drive, draft)
    old, new = _value_text(draft.field, drive, zone), _value_text(draft.field, changed, zone)
    if old == new:
        step = State.TIME if draft.field == "when" else FIELD_STEPS[draft.field]
        return await _ask(update, context, step, draft, texts.DRIVE_EDIT_SAME + "\n\n")
    text = texts.DRIVE_EDIT_PREVIEW.format(
        id=drive.id, field=texts.DRIVE_FIELDS[draft.field], old=old, new=new, count=count
    )
    markup = _edit_preview_markup(draft.flow)
    return await FLOW.preview(update, context, State.EDIT_PREVIEW, draft, lead + text, markup)


@dataclass
class _Edit:
    """What 确认修改 did inside its transaction."""

    outcome: str  # "gone", "past", "below" or "done"
    drive: BloodDrive | None = None
    new: str = ""
    told: int = 0
    promoted: list[int] = dataclasses.field(default_factory=list)
    signed: int = 0
    released: int = 0  # sign-ups let go: their blood group is no longer wanted


def _edit_in(session: Session, draft: DriveDraft, caller: Caller, zone: ZoneInfo) -> _Edit:
    """Change the drive (locked), promote anyone new places make room for, stop reminders that
    name the old time or place, queue the notice; or why not (rolled back by the caller)."""
    drive = drive_storage.get(session, draft.drive_id, for_update=True)
    if drive is None or not _open(drive):
        return _Edit("gone")
    field = draft.field
    target = _changed(drive, draft)
    if field == "when" and target.starts_at <= utcnow():
        return _Edit("past")
    if field == "capacity":
        # Someone may have signed up between the preview and the press.
        signed = drive_storage.signed_count(session, draft.drive_id)
        if target.capacity < signed:
            return _Edit("below", signed=signed)
    before = drive.starts_at
    changed = drive_storage.update_drive(
        session,
        draft.drive_id,
        starts_at=target.starts_at if field == "when" else None,
        place=target.place if field == "place" else None,
        capacity=target.capacity if field == "capacity" else None,
        blood_types_wanted=target.blood_types_wanted if field == "types" else None,
    )
    if changed is None:
        return _Edit("gone")
    promoted = drive_storage.promote_waiting(session, changed) if field == "capacity" else []
    released: list[tuple[int, str]] = []
    if field == "types":
        # Those whose blood group is no longer wanted are let go (and told so), and the first
        # in line take their places.
        let_go = drive_storage.release_unwanted(session, changed, utcnow())
        released, promoted = let_go.officers, let_go.promoted
    if field in ("when", "place"):
        # Whoever has not had the announcement yet would read the old time or place.
        drive_storage.stop_announcement(session, draft.drive_id)
        drive_storage.stop_reminders(session, draft.drive_id, again=True)
    new = _value_text(field, changed, zone)
    notice = texts.DRIVE_CHANGED_NOTICE.format(
        id=changed.id,
        field=texts.DRIVE_FIELDS[field],
        new=new,
        when=when_text(changed.starts_at, zone),
        place=changed.place,
    )
    # Those moved up hear it in their own words (_tell_promoted): one message, not two.
    moved = set(promoted)
    recipients = [
        recipient
        for recipient in drive_storage.concerned(session, draft.drive_id)
        if recipient.officer_id not in moved
    ]
    if released:
        _tell_released(session, changed, released, caller, zone)
    told = 0
    if recipients:
        soon = notice_is_urgent(min(before, changed.starts_at), utcnow())
        told = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.URGENT if soon else Priority.NORMAL,
            text=notice,
            recipients=recipients,
            created_by=caller.actor,
            expires_at=changed.starts_at,
        ).total
    audit.record(
        session,
        actor=caller.actor,
        action="drive.edit",
        target=f"drive:{draft.drive_id}",
        field=field,
        told=told,
        promoted=len(promoted),
    )
    return _Edit("done", changed, new, told, promoted, released=len(released))


def _tell_released(
    session: Session,
    drive: BloodDrive,
    released: list[tuple[int, str]],
    caller: Caller,
    zone: ZoneInfo,
) -> None:
    """Tell each officer let go by a change of the wanted types why (their own blood group in
    their text), through the broadcast engine in the edit's transaction."""
    chats = officers.bound_chats(session, [officer_id for officer_id, _ in released])

    def told(blood: str) -> str:
        return texts.DRIVE_TYPES_RELEASED_NOTICE.format(
            id=drive.id,
            when=when_text(drive.starts_at, zone),
            place=drive.place,
            types="、".join(drive_storage.wanted_types(drive)),
            blood=blood,
        )

    recipients = [
        Recipient(officer_id, chats[officer_id], told(blood))
        for officer_id, blood in released
        if officer_id in chats
    ]
    if recipients:
        soon = notice_is_urgent(drive.starts_at, utcnow())
        broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.URGENT if soon else Priority.NORMAL,
            text=recipients[0].text or "",
            recipients=recipients,
            created_by=caller.actor,
            expires_at=drive.starts_at,
        )


async def _confirm_edit(update: Update, context: Context, turn: Press) -> State | int | None:
    """确认修改: the change, the notice to those signed up or waiting, the audit entry."""
    zone = services(context).zone
    with FLOW.taking(update, context, State.EDIT_PREVIEW, turn.data.flow) as (session, draft):
        edit = _Edit("gone") if draft is None else _edit_in(session, draft, turn.caller, zone)
        if draft is not None and edit.outcome != "done":
            session.rollback()
    if draft is None:
        await FLOW.expire(update)
        return None
    if edit.outcome == "past":
        fresh = dataclasses.replace(draft, day="", starts_at=None)
        assert draft.starts_at is not None
        lead = texts.DRIVE_PAST.format(when=when_text(draft.starts_at, zone)) + "\n\n"
        return await _ask(update, context, State.DAY, fresh, lead)
    if edit.outcome == "below":
        fresh = dataclasses.replace(draft, capacity=0)
        lead = texts.DRIVE_BELOW_SIGNED.format(signed=edit.signed) + "\n\n"
        return await _ask(update, context, State.CAPACITY, fresh, lead)
    # The rollback put the taken preview back: this edit ends here, so it goes for good.
    FLOW.forget(update, context)
    drive = edit.drive
    if edit.outcome == "gone" or drive is None:
        await answer(update, texts.DRIVE_GONE, alert=True)
        return END
    lines = [
        texts.DRIVE_EDITED.format(id=drive.id, field=texts.DRIVE_FIELDS[draft.field], new=edit.new)
    ]
    if edit.told:
        lines.append(texts.DRIVE_EDITED_TOLD.format(count=edit.told))
    if edit.released:
        lines.append(texts.DRIVE_EDITED_RELEASED.format(count=edit.released))
    if edit.promoted:
        lines.append(texts.DRIVE_EDITED_PROMOTED.format(count=len(edit.promoted)))
    await answer(update)
    await show_step(update, context, "\n".join(lines))
    # Committed: those moved up hear of it, then the notice goes out.
    freed = draft.field == "types"
    await _tell_promoted(context, drive, edit.promoted, freed=freed)
    if edit.told or edit.released:
        services(context).broadcaster.wake()
    return END


async def _tell_promoted(
    context: Context, drive: BloodDrive, officer_ids: list[int], *, freed: bool = False
) -> None:
    """Tell officers moved up from the waitlist (into new places, or `freed` ones); after the
    commit that moved them."""
    if not officer_ids:
        return
    with services(context).database.session() as session:
        chats = officers.bound_chats(session, officer_ids)
    template = texts.DRIVE_PROMOTED_FREED_PLACE if freed else texts.DRIVE_PROMOTED_MORE_PLACES
    text = template.format(
        id=drive.id, when=when_text(drive.starts_at, services(context).zone), place=drive.place
    )
    for chat_id in chats.values():
        await notify(context.bot, chat_id, text)


# --- the card's other buttons: the list, cancelling -----------------------------------------


@pressed(DriveManage, MANAGER, accept=lambda manage: manage.action != "edit")
async def manage_pressed(
    update: Update, context: Context, manage: DriveManage, caller: Caller
) -> None:
    """👥 名单, ⏹ 取消活动 and its two answers on an organizer's drive card."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        # Lists go to an organizer's private chat only, never into a group.
        await answer(update, texts.STALE_BUTTON)
        return
    found = services(context)
    with found.database.session() as session:
        drive = drive_storage.get(session, manage.drive_id)
        page = None
        if drive is not None and manage.action == "list":
            page = drives.donor_page(session, manage.drive_id, 1, found.zone)
    if drive is None or drive.id is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if page is not None:
        # A message of its own: the card stays where it was.
        await answer(update)
        await reply(update, context, *page)
    elif manage.action == "cancel":
        await _ask_cancel(update, context, drive)
    elif manage.action == "keep":
        await _show_card(update, context, caller, drive)
    else:
        await _cancel_drive(update, context, caller, drive)


async def _show_card(update: Update, context: Context, caller: Caller, drive: BloodDrive) -> None:
    """先不取消: the card as it was, with its buttons."""
    assert drive.id is not None
    with services(context).database.session() as session:
        view = drive_storage.view(session, drive, caller.officer.id)
    await answer(update)
    try:
        await edit_or_send(
            update, context, card_text(view, services(context).zone), card_markup(view, manage=True)
        )
    except TelegramError as exc:
        log.info("could not show a drive card again: %s", type(exc).__name__)


async def _ask_cancel(update: Update, context: Context, drive: BloodDrive) -> None:
    """⏹ 取消活动: ask once more, saying how many will be told."""
    assert drive.id is not None
    if drive.status == DriveStatus.CANCELLED:
        await answer(update)
        await edit_or_send(update, context, texts.DRIVE_CANCEL_ALREADY.format(id=drive.id))
        return
    if not _open(drive):
        await answer(update, texts.DRIVE_GONE, alert=True)
        return
    with services(context).database.session() as session:
        count = len(drive_storage.concerned(session, drive.id))
    zone = services(context).zone
    text = texts.DRIVE_ASK_CANCEL.format(
        id=drive.id, when=when_text(drive.starts_at, zone), place=drive.place, count=count
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.DRIVE_CANCEL_CONFIRM_BUTTON,
                    callback_data=DriveManage("cancelok", drive.id).pack(),
                ),
                InlineKeyboardButton(
                    texts.DRIVE_KEEP_BUTTON, callback_data=DriveManage("keep", drive.id).pack()
                ),
            ]
        ]
    )
    await answer(update)
    await edit_or_send(update, context, text, markup)


async def _cancel_drive(
    update: Update, context: Context, caller: Caller, drive: BloodDrive
) -> None:
    """确定取消活动: cancel, stop its announcement and reminders, tell everyone signed up or
    waiting."""
    assert drive.id is not None
    zone = services(context).zone
    total = 0
    with services(context).database.session() as session:
        cancelled = drive_storage.cancel_drive(session, drive.id)
        if cancelled is not None and cancelled.starts_at > utcnow():
            drive_storage.stop_announcement(session, drive.id)
            drive_storage.stop_reminders(session, drive.id)
            recipients = drive_storage.concerned(session, drive.id)
            if recipients:
                text = texts.DRIVE_CANCELLED_NOTICE.format(
                    id=drive.id, when=when_text(cancelled.starts_at, zone), place=cancelled.place
                )
                soon = notice_is_urgent(cancelled.starts_at, utcnow())
                total = broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.URGENT if soon else Priority.NORMAL,
                    text=text,
                    recipients=recipients,
                    created_by=caller.actor,
                    expires_at=cancelled.starts_at,
                ).total
            audit.record(
                session,
                actor=caller.actor,
                action="drive.cancel",
                target=f"drive:{drive.id}",
                told=total,
            )
        else:
            session.rollback()
            cancelled = None
    if cancelled is None and drive.status == DriveStatus.CANCELLED:
        # A repeated press: the message the first one left (or should have).
        await answer(update)
        await edit_or_send(update, context, texts.DRIVE_CANCEL_ALREADY.format(id=drive.id))
        return
    if cancelled is None:
        await answer(update, texts.DRIVE_GONE, alert=True)
        return
    await answer(update)
    await edit_or_send(update, context, texts.DRIVE_CANCEL_DONE.format(id=drive.id, count=total))
    if total:
        services(context).broadcaster.wake()


# --- leaving the flow -----------------------------------------------------------------------


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is saved."""
    await menu.cancel_outside(update, context)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The new / edit conversation and the card's managing buttons; before handlers.drives,
    which takes the rest of /drives."""
    words = "|".join(NEW_WORDS)
    new_command_filter = PRIVATE_MESSAGE & filters.Regex(rf"(?i)^/drives?(@\w+)?\s+({words})(\s|$)")
    repeat = FLOW.typed(_repeat_step)
    cancelled = FLOW.press("cancel", FLOW.cancel())
    conversation = FLOW.handler(
        entry_points=[
            CommandHandler(["drives", "drive"], new_command, filters=new_command_filter),
            CallbackQueryHandler(start_pressed, pattern=rf"^{DriveStep.prefix}:0:start(:|$)"),
            CallbackQueryHandler(start_edit, pattern=rf"^{DriveManage.prefix}:edit:"),
        ],
        states={
            State.DAY: [
                FLOW.press("day", _day_pressed),
                FLOW.press("keepday", _keep_day),
                cancelled,
                FLOW.typed(_typed(_day_typed)),
            ],
            State.TIME: [
                FLOW.press("clock", _clock_pressed),
                cancelled,
                FLOW.typed(_typed(_time_typed)),
            ],
            State.PLACE: [cancelled, FLOW.typed(_typed(_place_typed))],
            State.CAPACITY: [
                FLOW.press("cap", _capacity_pressed),
                cancelled,
                FLOW.typed(_typed(_capacity_typed)),
            ],
            State.TYPES: [
                FLOW.press("type", _type_toggled),
                FLOW.press("alltypes", _all_types),
                FLOW.press("typesdone", _types_done),
                cancelled,
                FLOW.typed(_typed(_types_typed)),
            ],
            State.PREVIEW: [
                FLOW.press(("confirm", "force"), _publish),
                FLOW.press("notify", _notify_toggled),
                cancelled,
                repeat,
            ],
            State.FIELD: [FLOW.press("field", _field_chosen), cancelled, repeat],
            State.EDIT_PREVIEW: [FLOW.press("confirm", _confirm_edit), cancelled, repeat],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        conversation,
        CallbackQueryHandler(manage_pressed, pattern=DriveManage.pattern()),
        FLOW.outside(),
    ]
