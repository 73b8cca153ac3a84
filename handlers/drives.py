"""Blood drives (献血活动): organizers schedule them, officers sign up, cancel or wait in line.

- `/drives`: the upcoming drives, one card each (time, place, wanted blood types, places left,
  the officer's own state) with 报名 (报名候补 when full) or 取消报名.
- 报名 checks, on the drive's date in the union's zone, that the drive wants the officer's
  blood type and that they may give whole blood then (bot/rules/blood.py with their history);
  otherwise the officer is told why (and from which day they may give) and is not signed up.
  A full drive puts them on the waitlist and says their place in line.
- 取消报名 frees the place; the first on the waitlist moves up and hears of it privately, after
  the commit.
- Organizers: `/drives new 日期 时间 地点 名额 [血型]`, e.g.
  `/drives new 2026-12-05 09:00 市中心血站 30 O,A` (`/drive` works too), is the shortcut of
  the button dialog of handlers/drive_admin.py (which takes `/drives new …` before this module
  and also edits and cancels drives). The time is the union's local time and must lie ahead;
  the place may contain spaces; capacity 1–10,000; blood types A, B, O, AB separated by commas
  (none: every type).
- `/drives 编号` (or 👥 名单 on an organizer's card): who signed up and who waits, in one
  message a page at a time (◀ ▶ edit it); a donor's name opens their record buttons in the
  same message (全血 / 血小板, `record_pressed`), and ◀ 返回名单 goes back to their page.
- Reminders, the day before each drive to those signed up then: bot/jobs/drives.py.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import BloodPolicy
from bot.rules.blood import Component, Donation, Eligibility, anniversary, eligibility
from bot.rules.care import parse_date
from bot.rules.forgiving import Lean, normalise, parse_clock
from bot.rules.horizon import beyond_horizon, horizon
from bot.rules.text import clean, meaningful, quote
from handlers import blood
from handlers.access import ORGANIZER, Access, access, pressed
from handlers.callbacks import (
    DriveAction,
    DriveDonor,
    DriveList,
    DriveManage,
    DriveRecord,
    DriveStep,
)
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    reply,
    typed_command,
)
from handlers.context import services
from storage import audit, officers
from storage import blood as blood_storage
from storage import drives as drive_storage
from storage.drives import BLOOD_GROUPS, Attendee, DriveView, Outcome
from storage.models import (
    BloodDonation,
    BloodDrive,
    DriveStatus,
    Officer,
    SignupState,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

# Recording from a drive's list is for organizers; a press by anyone else is forged and audited.
RECORDER: Access[DriveRecord] = Access(
    ORGANIZER_ROLES,
    forged="forged.drive_record",
    target=lambda record: f"drive:{record.drive_id}",
)
# Lists of donors and the managing buttons are for organizers; a press by anyone else is forged.
LISTER: Access[DriveList | DriveDonor] = Access(
    ORGANIZER_ROLES,
    forged="forged.drive_list",
    target=lambda data: f"drive:{data.drive_id}",
)
MAX_CAPACITY = 10_000
MAX_PLACE = 100  # the width of blood_drive.place
PAGE_SIZE = 10  # donors on one page of a drive's list
DONOR_BUTTONS_PER_ROW = 2

NEW_WORDS = ("new", "新建", "安排")
_TYPE_SEPARATORS = re.compile(r"[,，、/;；]+")
_DRIVE_ID = re.compile(r"^#?(\d{1,9})$")


class ArgumentError(ValueError):
    """An argument of /drives that cannot be used; the text says why."""


class Incomplete(ArgumentError):
    """`/drives new …` without all of date, time, place and capacity: the dialog asks for them."""


# --- parsing ---------------------------------------------------------------------------------


def _whole_number(token: str) -> bool:
    """ASCII digits only (str.isdigit() also takes '²', which int() refuses), at most nine."""
    return token.isascii() and token.isdigit() and len(token) <= 9


def parse_types(token: str) -> list[str]:
    """O,A → ["O", "A"]; ArgumentError for anything but A, B, O, AB."""
    types: list[str] = []
    for part in _TYPE_SEPARATORS.split(token.strip()):
        if not part:
            continue
        group = part.upper().removesuffix("型")
        if group not in BLOOD_GROUPS:
            raise ArgumentError(
                texts.DRIVE_BAD_TYPES.format(token=quote(token)) + texts.DRIVE_USAGE
            )
        if group not in types:
            types.append(group)
    if not types:
        raise ArgumentError(texts.DRIVE_BAD_TYPES.format(token=quote(token)) + texts.DRIVE_USAGE)
    return types


def parse_new(
    tokens: Sequence[str], *, now: datetime, zone: ZoneInfo
) -> tuple[datetime, str, int, list[str]]:
    """日期 时间 地点 名额 [血型] → (start in UTC, place, capacity, wanted types)."""
    if len(tokens) < 4:
        raise Incomplete(texts.DRIVE_MISSING + texts.DRIVE_USAGE)
    today = now.astimezone(zone).date()
    day = parse_date(tokens[0], today, lean=Lean.FUTURE)
    if day is None:
        raise ArgumentError(texts.DRIVE_BAD_DATE.format(token=quote(tokens[0])) + texts.DRIVE_USAGE)
    if beyond_horizon(day, today):
        raise ArgumentError(
            texts.DRIVE_TOO_FAR.format(date=day.isoformat(), latest=horizon(today).isoformat())
        )
    clock = parse_clock(tokens[1])
    if clock is None:
        raise ArgumentError(texts.DRIVE_BAD_TIME.format(token=quote(tokens[1])) + texts.DRIVE_USAGE)
    rest = list(tokens[2:])
    types: list[str] = []
    if len(rest) >= 3 and not _whole_number(normalise(rest[-1])):
        types = parse_types(normalise(rest.pop()))
    capacity_token = normalise(rest.pop())
    if not rest:
        raise Incomplete(texts.DRIVE_MISSING + texts.DRIVE_USAGE)
    if not _whole_number(capacity_token) or not 1 <= int(capacity_token) <= MAX_CAPACITY:
        raise ArgumentError(
            texts.DRIVE_BAD_CAPACITY.format(token=quote(capacity_token)) + texts.DRIVE_USAGE
        )
    place = clean(" ".join(rest))
    if not meaningful(place):
        raise ArgumentError(texts.TEXT_INVISIBLE_PLACE + texts.DRIVE_USAGE)
    if len(place) > MAX_PLACE:
        raise ArgumentError(texts.DRIVE_PLACE_TOO_LONG.format(limit=MAX_PLACE) + texts.DRIVE_USAGE)
    local = datetime.combine(day, clock, tzinfo=zone)
    if local <= now:
        raise ArgumentError(texts.DRIVE_PAST.format(when=when_text(local, zone)))
    return local.astimezone(UTC), place, int(capacity_token), types


# --- showing ---------------------------------------------------------------------------------


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    """2026-12-05（周六）09:00, in the union's zone."""
    local = moment.astimezone(zone)
    return texts.DRIVE_WHEN.format(
        date=local.date().isoformat(),
        weekday=texts.WEEKDAYS[local.weekday()],
        time=local.strftime("%H:%M"),
    )


def types_text(drive: BloodDrive) -> str:
    """O、A 型, or every type welcome."""
    wanted = drive_storage.wanted_types(drive)
    return "、".join(wanted) + " 型" if wanted else texts.DRIVE_ALL_TYPES


def card_text(view: DriveView, zone: ZoneInfo) -> str:
    """A drive's card, with the officer's own state when they have one."""
    drive = view.drive
    waiting = texts.DRIVE_WAITING.format(count=view.waitlisted) if view.waitlisted else ""
    text = texts.DRIVE_CARD.format(
        id=drive.id,
        when=when_text(drive.starts_at, zone),
        place=drive.place,
        types=types_text(drive),
        capacity=drive.capacity,
        signed=view.signed,
        left=view.places_left,
        waiting=waiting,
    )
    if view.mine == SignupState.SIGNED:
        text += texts.DRIVE_MINE_SIGNED
    elif view.mine == SignupState.WAITLISTED:
        text += texts.DRIVE_MINE_WAITLISTED.format(position=view.my_position)
    return text


def card_markup(view: DriveView, *, manage: bool = False) -> InlineKeyboardMarkup:
    """报名 (报名候补 when full), or 取消报名 for someone signed up or waiting; for organizers
    (`manage`) also 👥 名单, ✏️ 修改 and ⏹ 取消活动."""
    drive_id = view.drive.id
    assert drive_id is not None
    if view.mine is None:
        label = texts.DRIVE_SIGN_UP_BUTTON if view.places_left else texts.DRIVE_WAITLIST_BUTTON
        data = DriveAction("join", drive_id)
    else:
        label, data = texts.DRIVE_CANCEL_BUTTON, DriveAction("leave", drive_id)
    rows = [[InlineKeyboardButton(label, callback_data=data.pack())]]
    if manage:
        rows.append(
            [
                InlineKeyboardButton(
                    texts.DRIVE_LIST_BUTTON, callback_data=DriveManage("list", drive_id).pack()
                ),
                InlineKeyboardButton(
                    texts.DRIVE_EDIT_BUTTON, callback_data=DriveManage("edit", drive_id).pack()
                ),
                InlineKeyboardButton(
                    texts.DRIVE_CANCEL_DRIVE_BUTTON,
                    callback_data=DriveManage("cancel", drive_id).pack(),
                ),
            ]
        )
    return InlineKeyboardMarkup(rows)


def new_drive_markup() -> InlineKeyboardMarkup:
    """➕ 安排献血活动: the dialog of handlers/drive_admin.py, by a tap."""
    data = DriveStep("0", "start").pack()
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.DRIVE_NEW_BUTTON, callback_data=data)]]
    )


def refusal(answer: Eligibility, on: date, policy: BloodPolicy) -> str:
    """Why the officer may not give whole blood on the drive's day, and from when they may."""
    reason = blood.reason_text(answer, policy)
    if answer.from_date is None:
        text = texts.DRIVE_INELIGIBLE.format(date=on.isoformat(), reason=reason)
    else:
        text = texts.DRIVE_INELIGIBLE_FROM.format(
            date=on.isoformat(), reason=reason, from_date=answer.from_date.isoformat()
        )
    return text + texts.DRIVE_INELIGIBLE_TAIL


# --- /drives ---------------------------------------------------------------------------------


@access()
async def drives_command(update: Update, context: Context, caller: Caller) -> None:
    """/drives [new … | 编号 | help]: upcoming drives for everyone, scheduling for organizers."""
    tokens = typed_command(update).split()[1:]
    if not tokens:
        await _list(update, context, caller, organizer=caller.organizer)
        return
    if not await ORGANIZER.permits(update, context, caller):
        return
    verb = tokens[0].lower()
    try:
        if verb in ("help", "帮助", "用法"):
            await reply(update, context, texts.DRIVE_USAGE)
        elif verb in NEW_WORDS:
            # handlers.drive_admin takes these first; here only if it is not installed.
            starts_at, place, capacity, types = parse_new(
                tokens[1:], now=utcnow(), zone=services(context).zone
            )
            await create_now(update, context, caller, starts_at, place, capacity, types)
        elif len(tokens) == 1 and _DRIVE_ID.match(tokens[0]):
            await _attendees(update, context, int(tokens[0].lstrip("#")))
        else:
            raise ArgumentError(
                texts.BLOOD_BAD_ARGUMENT.format(token=quote(tokens[0])) + texts.DRIVE_USAGE
            )
    except ArgumentError as exc:
        await reply(update, context, str(exc))


async def _list(update: Update, context: Context, caller: Caller, *, organizer: bool) -> None:
    """The upcoming drives, one card each with its button."""
    zone = services(context).zone
    with services(context).database.session() as session:
        views = drive_storage.upcoming(session, utcnow(), officer_id=caller.officer.id)
    hint = texts.DRIVES_ORGANIZER_HINT if organizer else ""
    if not views:
        await reply(
            update, context, texts.DRIVES_NONE + hint, new_drive_markup() if organizer else None
        )
        return
    for number, view in enumerate(views, start=1):
        text = card_text(view, zone)
        markup = card_markup(view, manage=organizer)
        if number == len(views) and organizer:
            text += hint
            markup = InlineKeyboardMarkup(
                [*markup.inline_keyboard, *new_drive_markup().inline_keyboard]
            )
        await reply(update, context, text, markup)


async def create_now(
    update: Update,
    context: Context,
    caller: Caller,
    starts_at: datetime,
    place: str,
    capacity: int,
    types: Sequence[str],
) -> None:
    """/drives new 日期 时间 地点 名额 [血型] written out in full: schedule the drive at once."""
    zone = services(context).zone
    with services(context).database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=starts_at,
            place=place,
            capacity=capacity,
            blood_types_wanted=",".join(types),
            created_by=caller.actor,
        )
        audit.record(
            session, actor=caller.actor, action="drive.create", target=f"drive:{drive.id}", told=0
        )
    await reply(
        update,
        context,
        texts.DRIVE_CREATED.format(
            id=drive.id,
            when=when_text(drive.starts_at, zone),
            place=drive.place,
            capacity=drive.capacity,
            types=types_text(drive),
        ),
    )


async def _attendees(update: Update, context: Context, drive_id: int) -> None:
    """/drives 编号: who signed up for a drive and who waits, in one message a page at a time."""
    with services(context).database.session() as session:
        page = donor_page(session, drive_id, 1, services(context).zone)
    if page is None:
        raise ArgumentError(texts.DRIVE_NOT_FOUND.format(id=drive_id))
    await reply(update, context, *page)


def _blood_text(group: str) -> str:
    return texts.DRIVE_BLOOD_GROUP.format(group=group) if group else texts.DRIVE_BLOOD_UNKNOWN


def _person_fields(person: Attendee) -> dict[str, object]:
    return {
        "name": person.name,
        "police_id": person.police_id,
        "unit": person.unit or texts.UNKNOWN,
        "blood": _blood_text(person.blood_group),
    }


def _status(person: Attendee, gave: Sequence[tuple[str, int]]) -> str:
    if person.state == SignupState.WAITLISTED:
        return texts.DRIVE_LIST_WAITING
    if not gave:
        return texts.DRIVE_LIST_SIGNED
    what = "、".join(
        f"{blood.component_name(component)} {blood.amount_text(component, amount)}"
        for component, amount in gave
    )
    return texts.DRIVE_LIST_GAVE.format(what=what)


def page_of(people: Sequence[Attendee], officer_id: int) -> int:
    """The page of the drive's list an officer stands on (the first if not on it)."""
    for index, person in enumerate(people):
        if person.officer_id == officer_id:
            return index // PAGE_SIZE + 1
    return 1


def donor_page(
    session: Session, drive_id: int, page: int, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """One page of a drive's list (signed up first, then the waitlist, each numbered from 1),
    with a button per donor on it who may be recorded and ◀ ▶; None if there is no such drive.
    A page past the end shows the last."""
    drive = drive_storage.get(session, drive_id)
    if drive is None or drive.id is None:
        return None
    people = drive_storage.attendees(session, drive_id)
    gave = drive_storage.recorded(session, drive_id)
    signed = [person for person in people if person.state == SignupState.SIGNED]
    numbered = [(number, person) for number, person in enumerate(signed, start=1)]
    numbered += [
        (number, person)
        for number, person in enumerate(
            (person for person in people if person.state == SignupState.WAITLISTED), start=1
        )
    ]
    pages = max(1, math.ceil(len(numbered) / PAGE_SIZE))
    page = min(max(1, page), pages)
    head = texts.DRIVE_LIST_HEAD.format(
        id=drive.id,
        when=when_text(drive.starts_at, zone),
        place=drive.place,
        signed=len(signed),
        waiting=len(numbered) - len(signed),
    )
    if pages > 1:
        head += texts.DRIVE_LIST_PAGE.format(page=page, pages=pages)
    lines = [head]
    if not people:
        lines.append(texts.DRIVE_NOBODY)
    first = (page - 1) * PAGE_SIZE
    buttons: list[InlineKeyboardButton] = []
    for index in range(first, min(first + PAGE_SIZE, len(numbered))):
        number, person = numbered[index]
        if index == len(signed):
            lines.append(texts.DRIVE_WAITLIST_HEAD)
        status = _status(person, gave.get(person.officer_id, []))
        lines.append(
            texts.DRIVE_LIST_LINE.format(number=number, status=status, **_person_fields(person))
        )
        if person.state == SignupState.SIGNED:
            data = DriveDonor(drive.id, person.officer_id, page).pack()
            label = texts.DRIVE_DONOR_BUTTON.format(number=number, name=person.name)
            buttons.append(InlineKeyboardButton(label, callback_data=data))
    if buttons:
        lines.append(texts.DRIVE_LIST_RECORD_HINT)
    rows = [
        buttons[start : start + DONOR_BUTTONS_PER_ROW]
        for start in range(0, len(buttons), DONOR_BUTTONS_PER_ROW)
    ]
    turn = []
    if page > 1:
        data = DriveList(drive.id, page - 1).pack()
        turn.append(InlineKeyboardButton(texts.DRIVE_PREVIOUS_PAGE, callback_data=data))
    if page < pages:
        data = DriveList(drive.id, page + 1).pack()
        turn.append(InlineKeyboardButton(texts.DRIVE_NEXT_PAGE, callback_data=data))
    if turn:
        rows.append(turn)
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


def _in_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


@pressed(DriveList, LISTER)
async def list_pressed(update: Update, context: Context, action: DriveList, caller: Caller) -> None:
    """👥 名单, ◀ ▶ or ◀ 返回名单: that page of the drive's list, in the same message."""
    if not _in_private(update):
        # Names and units go to an organizer's private chat only, never into a group.
        await answer(update, texts.STALE_BUTTON)
        return
    with services(context).database.session() as session:
        page = donor_page(session, action.drive_id, action.page, services(context).zone)
    if page is None:
        await answer(update, texts.STALE_BUTTON)
        return
    await answer(update)
    try:
        await edit_or_send(update, context, *page)
    except TelegramError as exc:
        log.info("could not turn a page of a drive's list: %s", type(exc).__name__)


@pressed(DriveDonor, LISTER)
async def donor_pressed(
    update: Update, context: Context, action: DriveDonor, caller: Caller
) -> None:
    """A donor's name on the list: their record buttons and ◀ 返回名单, in the same message."""
    if not _in_private(update):
        await answer(update, texts.STALE_BUTTON)
        return
    with services(context).database.session() as session:
        drive = drive_storage.get(session, action.drive_id)
        people = drive_storage.attendees(session, action.drive_id) if drive else []
    numbers = [person for person in people if person.state == SignupState.SIGNED]
    found = next(
        (
            (number, person)
            for number, person in enumerate(numbers, start=1)
            if person.officer_id == action.officer_id
        ),
        None,
    )
    if drive is None or drive.id is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if found is None:
        await answer(update, texts.DRIVE_RECORD_NOT_SIGNED, alert=True)
        return
    number, person = found
    text = texts.DRIVE_DONOR_HEAD.format(number=number, **_person_fields(person))
    await answer(update)
    try:
        await edit_or_send(
            update, context, text, record_markup(drive.id, person.officer_id, back=action.page)
        )
    except TelegramError as exc:
        log.info("could not show a donor's record buttons: %s", type(exc).__name__)


def record_markup(
    drive_id: int, officer_id: int, *, back: int | None = None
) -> InlineKeyboardMarkup:
    """全血200 / 全血300 / 全血400, then 血小板1 / 血小板2, for one officer at one drive; with
    ◀ 返回名单 to page `back` of the drive's list when given."""
    rows = [
        [
            InlineKeyboardButton(
                label,
                callback_data=DriveRecord(drive_id, officer_id, component, amount).pack(),
            )
            for component, amount, label in row
        ]
        for row in texts.DRIVE_RECORD_BUTTONS
    ]
    if back is not None:
        rows.append([_back_button(drive_id, back)])
    return InlineKeyboardMarkup(rows)


def _back_button(drive_id: int, page: int) -> InlineKeyboardButton:
    data = DriveList(drive_id, page).pack()
    return InlineKeyboardButton(texts.DRIVE_BACK_TO_LIST, callback_data=data)


def _recordable(record: DriveRecord) -> bool:
    """An amount a donation of that component may have; any other is an old or forged button."""
    return blood.amount_problem(Component(record.component), record.amount) is None


@pressed(DriveRecord, RECORDER, accept=_recordable)
async def record_pressed(
    update: Update, context: Context, action: DriveRecord, caller: Caller
) -> None:
    """A 全血 / 血小板 button under a signed-up officer: record that donation on the drive's day.

    Everything is checked again here: the presser's role (a forged press is audited), the
    officer's sign-up, the drive's day and the amount; a second record of that officer, day and
    component is refused by storage. The donor is thanked after the commit.
    """
    database = services(context).database
    zone = services(context).zone
    today = utcnow().astimezone(zone).date()
    component = Component(action.component)
    refused = ""
    stored = already = None
    with database.session() as session:
        drive = drive_storage.get(session, action.drive_id)
        officer = session.get(Officer, action.officer_id)
        if drive is None or officer is None or officer.id is None:
            await answer(update, texts.STALE_BUTTON)
            return
        on = drive.starts_at.astimezone(zone).date()
        state = drive_storage.signup_state(session, action.drive_id, officer.id)
        if drive.status != DriveStatus.OPEN:
            refused = texts.DRIVE_RECORD_CANCELLED
        elif on > today:
            refused = texts.DRIVE_RECORD_TOO_EARLY.format(date=on.isoformat())
        elif on < anniversary(today, -1):
            refused = texts.BLOOD_DATE_TOO_OLD.format(earliest=anniversary(today, -1).isoformat())
        elif state != SignupState.SIGNED:
            refused = texts.DRIVE_RECORD_NOT_SIGNED
        elif not officer.active:
            refused = texts.BLOOD_OFFICER_LEFT.format(
                name=officer.name, police_id=officer.police_id
            )
        else:
            stored = blood_storage.record(
                session,
                officer_id=officer.id,
                donated_on=on,
                component=component.value,
                amount=action.amount,
                recorded_by=caller.actor,
                drive_id=drive.id,
            )
            if stored is None:
                already = blood_storage.recorded(
                    session, officer_id=officer.id, donated_on=on, component=component.value
                )
                refused = texts.BLOOD_DUPLICATE.format(
                    name=officer.name,
                    police_id=officer.police_id,
                    date=on.isoformat(),
                    component=blood.component_name(component),
                )
            else:
                audit.record(
                    session,
                    actor=caller.actor,
                    action="blood.record",
                    target=f"officer:{officer.police_id}",
                    donation=stored.id,
                    drive=drive.id,
                    donated_on=on.isoformat(),
                    component=component.value,
                    amount=action.amount,
                )
        totals = blood_storage.totals(session, officer.id)
        binding = officers.binding_of(session, officer.id)
        # Back to the page of the list the donor stands on, however the list moved meanwhile.
        back = InlineKeyboardMarkup(
            [
                [
                    _back_button(
                        action.drive_id,
                        page_of(drive_storage.attendees(session, action.drive_id), officer.id),
                    )
                ]
            ]
        )
    if already is not None:
        # A repeated press (or one on another organizer's list): the record as it stands.
        await answer(update, refused)
        text = texts.DRIVE_RECORD_ALREADY.format(
            name=officer.name,
            police_id=officer.police_id,
            date=on.isoformat(),
            component=blood.component_name(component),
            amount=blood.amount_text(component, already.amount),
        )
        try:
            await edit_or_send(update, context, text, back)
        except TelegramError as exc:
            log.info("could not update a record button: %s", type(exc).__name__)
        return
    if refused:
        await answer(update, refused, alert=True)
        return
    # Committed: now the donor may hear of it.
    thanks = blood.thanks_text(on, component, action.amount, totals)
    told = await blood.tell_donor(context, caller, officer, binding, thanks)
    await answer(update)
    text = texts.BLOOD_RECORDED.format(
        name=officer.name,
        police_id=officer.police_id,
        date=on.isoformat(),
        component=blood.component_name(component),
        amount=blood.amount_text(component, action.amount),
        told=told,
    )
    try:
        await edit_or_send(update, context, text, back)
    except TelegramError as exc:
        log.info("could not update a record button: %s", type(exc).__name__)
    if officer.id == caller.officer.id:
        await reply(update, context, thanks)


# --- the buttons -----------------------------------------------------------------------------


@pressed(DriveAction)
async def drive_pressed(
    update: Update, context: Context, action: DriveAction, caller: Caller
) -> None:
    """报名 or 取消报名 on a drive's card."""
    if action.action == "join":
        await _join(update, context, caller, action.drive_id)
    else:
        await _leave(update, context, caller, action.drive_id)


async def _show_outcome(
    update: Update, context: Context, caller: Caller, outcome: str, view: DriveView
) -> None:
    await answer(update)
    text = outcome + "\n\n" + card_text(view, services(context).zone)
    try:
        await edit_or_send(update, context, text, card_markup(view, manage=caller.organizer))
    except TelegramError as exc:
        log.info("could not update a drive card: %s", type(exc).__name__)


def refusal_for(
    officer: Officer,
    wanted: Sequence[str],
    on: date,
    history: Sequence[Donation],
    policy: BloodPolicy,
) -> str:
    """Why this officer may not sign up for a drive on `on` that wants these blood types (none:
    every type); "" if they may. The sign-up and a new drive's announcement both ask it."""
    if wanted and not officer.blood_group:
        return texts.DRIVE_TYPE_UNKNOWN.format(types="、".join(wanted))
    if wanted and officer.blood_group not in wanted:
        return texts.DRIVE_TYPE_NOT_WANTED.format(
            types="、".join(wanted), blood=officer.blood_group
        )
    verdict = eligibility(
        Component.WHOLE_BLOOD,
        today=on,
        birthday=officer.birthday,
        history=list(history),
        policy=policy,
    )
    return "" if verdict.may_give else refusal(verdict, on, policy)


def donations_of(rows: Sequence[BloodDonation]) -> list[Donation]:
    """Stored donations as the blood rules read them."""
    return [Donation(d.donated_on, Component(d.component), d.amount) for d in rows]


def _check(caller: Caller, drive: BloodDrive, history: list[Donation], context: Context) -> str:
    """Why the caller may not sign up for this drive; "" if they may."""
    on = drive.starts_at.astimezone(services(context).zone).date()
    wanted = drive_storage.wanted_types(drive)
    return refusal_for(caller.officer, wanted, on, history, services(context).policy.blood)


async def _join(update: Update, context: Context, caller: Caller, drive_id: int) -> None:
    """报名: check type and eligibility, then take a place or join the waitlist."""
    officer_id = caller.officer.id
    assert officer_id is not None
    database = services(context).database
    with database.session() as session:
        drive = drive_storage.get(session, drive_id)
        view = drive_storage.view(session, drive, officer_id) if drive is not None else None
        donations = blood_storage.history(session, officer_id)
    if drive is None or view is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if view.mine is None:
        history = donations_of(donations)
        problem = _check(caller, drive, history, context)
        if problem:
            await _show_outcome(update, context, caller, problem, view)
            return
    # A session of its own: the sign-up locks the drive before reading anything.
    with database.session() as session:
        result = drive_storage.sign_up(session, drive_id, officer_id, now=utcnow())
        view = drive_storage.view(session, result.drive or drive, officer_id)
    outcome = {
        Outcome.SIGNED: texts.DRIVE_SIGNED,
        Outcome.WAITLISTED: texts.DRIVE_WAITLISTED,
        Outcome.ALREADY_SIGNED: texts.DRIVE_ALREADY_SIGNED,
        Outcome.ALREADY_WAITLISTED: texts.DRIVE_ALREADY_WAITLISTED,
        Outcome.CLOSED: texts.DRIVE_CLOSED,
    }[result.outcome].format(position=result.position)
    await _show_outcome(update, context, caller, outcome, view)


async def _leave(update: Update, context: Context, caller: Caller, drive_id: int) -> None:
    """取消报名: free the place; the first on the waitlist moves up and is told."""
    officer_id = caller.officer.id
    assert officer_id is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        result = drive_storage.cancel(session, drive_id, officer_id, now=utcnow())
        if result.drive is None:
            view = None
        else:
            view = drive_storage.view(session, result.drive, officer_id)
        promoted_chat: int | None = None
        if result.promoted is not None:
            binding = officers.binding_of(session, result.promoted)
            promoted_chat = binding.chat_id if binding is not None else None
    if view is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if not result.cancelled:
        closed = view.drive.status != DriveStatus.OPEN or view.drive.starts_at <= utcnow()
        outcome = texts.DRIVE_CLOSED if closed else texts.DRIVE_NOT_SIGNED
    elif result.was == SignupState.WAITLISTED:
        outcome = texts.DRIVE_LEFT_WAITLIST
    else:
        outcome = texts.DRIVE_CANCELLED
    # Committed: now the officer moved up from the waitlist may hear of it.
    if promoted_chat is not None:
        drive = view.drive
        await notify(
            context.bot,
            promoted_chat,
            texts.DRIVE_PROMOTED.format(
                id=drive.id, when=when_text(drive.starts_at, zone), place=drive.place
            ),
        )
    await _show_outcome(update, context, caller, outcome, view)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/drives (and /drive), the 报名 / 取消报名 buttons and the list's pages and record
    buttons; /drives new … and the managing buttons are handlers.drive_admin's."""
    return [
        CommandHandler(["drives", "drive"], drives_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(drive_pressed, pattern=DriveAction.pattern()),
        CallbackQueryHandler(record_pressed, pattern=DriveRecord.pattern()),
        CallbackQueryHandler(list_pressed, pattern=DriveList.pattern()),
        CallbackQueryHandler(donor_pressed, pattern=DriveDonor.pattern()),
    ]
